"""The docs site as an analyst sees it: built, served on localhost, every page opened in headless Chromium.

Each page of the site (from its sitemap): no console error and no failed request, a French interface,
every Mermaid block drawn to an SVG holding each of its states, every Graphviz drawing inline with each
state and transition, no horizontal overflow at 1280 px (tables wrap), a screenshot in build/screenshots/.
The diagrams zoom and pan; the e-mails are shown rendered in an isolated frame beside their text.

Needs Chromium (scripts/setup.d/40-chromium.sh), Graphviz and the Node tools: skipped without them
locally, failing under CI=true.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_util import CI, Browser, Served, require_browser, serve
from segur_workflow import diagrams as D
from segur_workflow import docgen, emails
from segur_workflow.states import DEFINITIONS

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1280


def _needs(what: str, ok: bool) -> None:
    if ok:
        return
    message = f"consommateur absent : {what} (installé par scripts/setup.d/ ; lancez `make test`)"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    _needs("Graphviz `dot`", shutil.which("dot") is not None)
    _needs("tools/node_modules (npm ci dans tools/)", (ROOT / "tools" / "node_modules" / "mermaid").is_dir())
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--quiet",
                           "--site-dir", str(out), "-f", str(ROOT / "mkdocs.yml")],
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def browser(site: Path) -> Iterator[tuple[Served, Browser]]:
    with serve(site) as base, Browser(width=WIDTH, height=900) as b:
        yield base, b


def pages(site: Path) -> list[str]:
    """Every page of the site, as URL paths relative to its root (``""`` for the home page)."""
    found = sorted(p.parent.relative_to(site).as_posix() for p in site.rglob("index.html"))
    return [("" if p == "." else f"{p}/") for p in found]


_DRAWN = """
const out = {lang: document.documentElement.lang, mermaid: document.documentElement.dataset.mermaid,
             search: (document.querySelector('input.md-search__input') || {}).placeholder || null,
             raw: document.querySelectorAll('pre > code.language-mermaid').length, blocks: [], graphviz: [],
             tables: []};
for (const div of document.querySelectorAll('.sw-mermaid')) {
  const svg = div.querySelector('svg');
  out.blocks.push({source: div.dataset.texte, zoom: div.dataset.zoom || null,
                   nodes: svg ? Array.from(svg.querySelectorAll('g.node')).map(n => n.id) : null,
                   width: svg ? svg.getBoundingClientRect().width : 0});
}
for (const div of document.querySelectorAll('.sw-graphviz')) {
  const svg = div.querySelector('svg');
  out.graphviz.push({source: div.dataset.source, zoom: div.dataset.zoom || null,
                     nodes: svg ? Array.from(svg.querySelectorAll('g.node > title')).map(t => t.textContent) : null,
                     edges: svg ? svg.querySelectorAll('g.edge').length : 0,
                     width: svg ? svg.getBoundingClientRect().width : 0,
                     content: div.parentElement.getBoundingClientRect().width});
}
for (const t of document.querySelectorAll('.md-content table')) {
  const box = t.closest('.md-typeset__table') || t.parentElement;
  out.tables.push({scroll: t.scrollWidth, room: box.clientWidth, right: t.getBoundingClientRect().right});
}
return out;
"""


def _declared_states(source: str) -> set[str]:
    """The simple states a Mermaid text declares (``state "…" as id``, composite ones excluded)."""
    return {m.group(1) for m in re.finditer(r'^\s*state "[^"]*" as (\w+)\s*$', source, re.M)}


def _machine_of(dot_source: str) -> str:
    return "dossier" if dot_source.startswith("dossier") else dot_source.removesuffix(".dot")


def test_every_page_loads_clean_draws_its_diagrams_and_fits(site: Path, browser: tuple[Served, Browser]) -> None:
    base, b = browser
    problems: list[str] = []
    seen_mermaid = seen_graphviz = 0
    for page in pages(site):
        base.failures.clear()
        b.load(f"{base}/{page}", ready="document.documentElement.dataset.mermaid")
        b.wait_for("Array.from(document.querySelectorAll('.sw-diagramme')).every(d => d.dataset.zoom === 'actif')")
        name = page.strip("/").replace("/", "_") or "index"
        b.screenshot(f"site_{name}")
        info: dict[str, Any] = b.js(_DRAWN)
        errors = b.console_errors()
        where = page or "index"
        if errors or base.failures:
            problems.append(f"{where} : erreurs {errors} {base.failures}")
        if info["lang"] != "fr" or info["search"] != "Rechercher":
            problems.append(f"{where} : interface non française ({info['lang']}, {info['search']!r})")
        if info["mermaid"] != "fait" or info["raw"]:
            problems.append(f"{where} : Mermaid {info['mermaid']}, {info['raw']} bloc(s) restés texte")
        for block in info["blocks"]:
            seen_mermaid += 1
            drawn = {m.group(1) for n in block["nodes"] or () if (m := re.search(r"-state-(\w+?)-\d+$", n))}
            expected = _declared_states(block["source"])
            if not expected or not expected <= drawn:
                problems.append(f"{where} : états Mermaid dessinés {sorted(drawn)} ≠ déclarés {sorted(expected)}")
            if block["zoom"] != "actif":
                problems.append(f"{where} : un diagramme Mermaid sans zoom")
        for g in info["graphviz"]:
            seen_graphviz += 1
            d = DEFINITIONS[_machine_of(g["source"])]
            ids = D._ids(d)
            want = {ids[s.name] for s in d.states} | {ids["__initial__"]}
            got = set(g["nodes"] or ()) - {"legende"}
            if got != want or g["edges"] != len(list(d.edges())):
                problems.append(f"{where} : Graphviz {g['source']} {sorted(got)} / {g['edges']} arêtes")
            if g["width"] < g["content"] - 4:  # the drawing takes the content's full width
                problems.append(f"{where} : {g['source']} large de {g['width']} px sur {g['content']}")
        overflow = b.horizontal_overflow()
        if overflow:
            problems.append(f"{where} : débordement horizontal de {overflow} px à {WIDTH} px")
        for t in info["tables"]:
            if t["scroll"] > t["room"] + 1 or t["right"] > WIDTH:
                problems.append(f"{where} : un tableau déborde ({t['scroll']} px pour {t['room']})")
    assert not problems, "\n".join(problems)
    assert len(pages(site)) >= 15
    assert seen_mermaid >= 5 and seen_graphviz >= 3  # both machines twice (concepts, diagrams) + the path
    assert (b.screenshots / "site_generated_diagrams.png").is_file()


def test_diagrams_page_shows_the_example_path_and_zooms(site: Path, browser: tuple[Served, Browser]) -> None:
    base, b = browser
    b.load(f"{base}/generated/diagrams/", ready="document.documentElement.dataset.mermaid")
    b.wait_for("Array.from(document.querySelectorAll('.sw-diagramme')).every(d => d.dataset.zoom === 'actif')")
    path = b.js("""
      const div = document.querySelector('.sw-graphviz[data-source="dossier-exemple.dot"] svg');
      return {current: Array.from(div.querySelectorAll('g.node')).filter(g => g.querySelector('[fill="#ffd54f"]'))
                               .filter(g => g.querySelector('title').textContent !== 'legende')
                               .map(g => g.querySelector('title').textContent),
              steps: Array.from(div.querySelectorAll('g.edge text')).filter(t => t.textContent.startsWith('✔')).length,
              legend: !!div.querySelector('g#legende, g.node title') &&
                      Array.from(div.querySelectorAll('g.node > title')).some(t => t.textContent === 'legende')};
    """)
    assert path["current"] == ["solde_a_modifier"]
    history = docgen.exemple().history
    assert path["steps"] == len({(e.source, e.trigger, e.dest) for e in history})  # one mark per edge taken
    assert path["legend"]
    # zoom in with the button, then back to the whole drawing
    box = "document.querySelector('.sw-graphviz[data-source=\"dossier.dot\"]')"
    before = b.js(f"return {box}.querySelector('svg').viewBox.baseVal.width;")
    b.js(f"{box}.querySelector('button[title=\"Zoomer\"]').click();")
    zoomed = b.js(f"return {box}.querySelector('svg').viewBox.baseVal.width;")
    assert zoomed < before * 0.8
    b.js(f"{box}.querySelector('button[title=\"Voir le diagramme entier\"]').click();")
    assert b.js(f"return {box}.querySelector('svg').viewBox.baseVal.width;") == before
    # identifiers stay at hand: each edge's tooltip names its trigger
    titles = b.js(f"return Array.from({box}.querySelectorAll('g.edge a')).map(a => a.getAttribute('xlink:title'));")
    assert titles and all("déclencheur" in t for t in titles)
    b.screenshot("site_diagrammes_zoom", full_page=False)
    # the drawing on its own, at its real size, one click away
    real = b.js(f"return {box}.querySelector('.sw-zoom-outils a').href;")
    assert real.endswith("/generated/dossier.svg")
    base.failures.clear()
    b.load(real)
    assert b.js("return document.documentElement.localName;") == "svg"
    assert base.failures == []


def test_emails_are_shown_rendered_in_an_isolated_frame(site: Path, browser: tuple[Served, Browser]) -> None:
    base, b = browser
    b.load(f"{base}/generated/emails/")
    frames = b.js("""return Array.from(document.querySelectorAll('.sw-courriel')).map(c => {
        const f = c.querySelector('iframe');
        return {sandbox: f.getAttribute('sandbox'), srcdoc: f.getAttribute('srcdoc'),
                text: c.querySelector('pre').textContent, height: f.getBoundingClientRect().height,
                side: f.getBoundingClientRect().left > c.querySelector('pre').getBoundingClientRect().right - 1};
    });""")
    assert len(frames) == len(emails.TEMPLATES)
    for f in frames:
        assert f["sandbox"] == ""  # no script, no same origin: the message cannot touch the page
        assert "<" in f["srcdoc"] and "Cordialement" in f["text"]
        assert f["height"] > 200 and f["side"]
    assert b.console_errors() == []
