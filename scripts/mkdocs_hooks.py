"""MkDocs hooks (mkdocs.yml `hooks:`): everything the site needs is put in place by the build itself.

* **Mermaid renderer**: the `mermaid` package of tools/ (pinned by tools/package-lock.json) is copied into
  the site as js/mermaid.min.js (a file added to the build). When tools/node_modules is missing the hook
  runs `npm ci` there itself, so the site does not depend on `make test` having run first; when that is
  impossible (no npm) the build says so with a warning, which `mkdocs build --strict` turns into a
  failure instead of a site whose diagrams silently stay text.
* **Graphviz drawings**: each `<div class="sw-graphviz" data-source="X.dot">` placeholder written by
  `python -m segur_workflow.docgen` is replaced by the SVG that Graphviz's `dot` draws from the page's
  X.dot (inline, so its tooltips and links work and the zoom script can reach it); each generated/X.dot
  also becomes generated/X.svg in the site, for download. No `dot`: a warning (so a failure under
  --strict), naming the Debian package.
* **E-mails shown rendered**: on the e-mail catalogue, each HTML source block is paired with a sandboxed
  `<iframe srcdoc>` showing the message as a mail client would, beside its plain-text version.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.segur_workflow")

_MERMAID = Path("tools") / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
_PLACEHOLDER = re.compile(r'<div class="sw-graphviz" data-source="(?P<src>[\w.-]+\.dot)"(?P<rest>[^>]*)>.*?</div>',
                          re.S)
_CODE = re.compile(r'<pre><code class="language-(?P<lang>text|html)">(?P<body>.*?)</code></pre>', re.S)
_svg_cache: dict[Path, str] = {}


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _mermaid_source(root: Path) -> Path | None:
    source = root / _MERMAID
    if source.is_file():
        return source
    npm = shutil.which("npm")
    if npm is None or not (root / "tools" / "package-lock.json").is_file():
        return None
    log.info("mermaid absent de tools/node_modules : npm ci dans tools/")
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root / "tools",
                          capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        log.warning("npm ci a échoué dans tools/ : %s", proc.stderr.strip()[-500:])
    return source if source.is_file() else None


def on_pre_build(config: Any, **_kwargs: Any) -> None:
    _svg_cache.clear()  # `mkdocs serve` rebuilds: draw again from the current sources
    if _mermaid_source(_root(config)) is None:
        log.warning("Le moteur Mermaid (tools/node_modules/mermaid) est introuvable et npm ne peut pas "
                    "l'installer : les diagrammes Mermaid resteraient du texte. Installez Node.js et npm "
                    "(scripts/setup.d/30-node.sh) puis relancez la construction.")


def _render(dot_file: Path) -> str | None:
    dot_file = dot_file.resolve()
    if dot_file in _svg_cache:
        return _svg_cache[dot_file]
    exe = shutil.which("dot")
    if exe is None:
        log.warning("Graphviz (commande « dot ») est introuvable : les diagrammes du site ne peuvent pas être "
                    "dessinés. Installez le paquet Debian graphviz (scripts/setup.d/20-graphviz.sh).")
        return None
    proc = subprocess.run([exe, "-Tsvg", str(dot_file)], capture_output=True, check=False, timeout=120)
    if proc.returncode != 0:
        log.warning("Graphviz refuse %s : %s", dot_file, proc.stderr.decode("utf-8", "replace").strip())
        return None
    svg = proc.stdout.decode("utf-8")
    _svg_cache[dot_file] = svg
    return svg


def _inline(svg: str) -> str:
    """The SVG element alone (no XML declaration nor DOCTYPE), ready to sit inside HTML."""
    return svg[svg.index("<svg"):]


def on_page_content(html_text: str, page: Any, config: Any, **_kwargs: Any) -> str:
    from mkdocs.utils import get_relative_url

    docs = Path(config["docs_dir"])
    page_dir = (docs / page.file.src_path).parent

    def graphviz(m: re.Match[str]) -> str:
        dot_file = page_dir / m.group("src")
        svg = _render(dot_file)
        if svg is None:
            return m.group(0)
        # the SVG file on_files adds, as a URL relative to this page (pages are directories: ../generated/…)
        svg_url = get_relative_url(dot_file.relative_to(docs).with_suffix(".svg").as_posix(), page.url)
        return (f'<div class="sw-graphviz sw-diagramme" data-source="{m.group("src")}" data-svg="{svg_url}"'
                f'{m.group("rest")}>{_inline(svg)}</div>')

    html_text = _PLACEHOLDER.sub(graphviz, html_text)
    if "language-html" in html_text and page.file.src_path.replace("\\", "/").endswith("emails.md"):
        html_text = _emails_side_by_side(html_text)
    return html_text


def _emails_side_by_side(text: str) -> str:
    """Each (plain text, HTML) pair of code blocks becomes: text | rendered HTML, the source folded below."""
    out: list[str] = []
    pos = 0
    pending_text: str | None = None
    for m in _CODE.finditer(text):
        if m.group("lang") == "text":
            out.append(text[pos:m.start()])
            pending_text = m.group(0)
            pos = m.end()
            continue
        if pending_text is None:  # an HTML block on its own: shown rendered above its source
            out.append(text[pos:m.start()])
            out.append(_frame(m.group("body")) + _folded(m.group(0)))
            pos = m.end()
            continue
        between = text[pos:m.start()]  # the "HTML :" paragraph between the two blocks
        out.append('<div class="sw-courriel"><div class="sw-courriel-texte"><p>Texte brut :</p>'
                   f"{pending_text}</div><div class=\"sw-courriel-html\"><p>Rendu HTML :</p>"
                   f"{_frame(m.group('body'))}</div></div>")
        out.append(_folded(m.group(0), between))
        pending_text = None
        pos = m.end()
    if pending_text is not None:
        out.append(pending_text)
    out.append(text[pos:])
    return "".join(out)


def _frame(escaped_source: str) -> str:
    # The message is HTML from a template: shown isolated (sandbox without scripts nor same origin), from srcdoc.
    source = html.unescape(escaped_source)
    return (f'<iframe class="sw-courriel-cadre" sandbox="" referrerpolicy="no-referrer" loading="lazy" '
            f'title="Courriel rendu" srcdoc="{html.escape(source, quote=True)}"></iframe>')


def _folded(block: str, between: str = "") -> str:
    del between  # the "HTML :" caption is replaced by the summary
    return f'<details class="sw-courriel-source"><summary>Source HTML</summary>{block}</details>'


def on_files(files: Any, config: Any, **_kwargs: Any) -> Any:
    """Add the site's generated assets as files of the build: the Mermaid renderer and one SVG per DOT source."""
    from mkdocs.structure.files import File

    root = _root(config)
    source = _mermaid_source(root)
    if source is not None:
        files.append(File.generated(config, "js/mermaid.min.js", abs_src_path=str(source)))
    docs = Path(config["docs_dir"])
    for dot_file in sorted((docs / "generated").glob("*.dot")):
        svg = _render(dot_file)
        if svg is not None:
            files.append(File.generated(config, f"generated/{dot_file.stem}.svg", content=svg))
    return files
