"""The docs site: generated pages are current, docgen notices staleness, the strict build catches breakage."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segur_workflow import COMPTE, DOSSIER, MachineDefinition, docgen, emails
from segur_workflow import diagrams as D
from segur_workflow.states import DEFINITIONS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def test_committed_generated_pages_are_current() -> None:
    stale = docgen.stale(DOCS)
    assert stale == [], "pages périmées : lancez `python -m segur_workflow.docgen`"


def test_concepts_embeds_both_diagrams() -> None:
    text = (DOCS / "concepts.md").read_text(encoding="utf-8")
    for machine in ("dossier", "compte"):
        assert f"```mermaid\n{D.to_mermaid(machine)}```" in text


@pytest.mark.parametrize("d", [DOSSIER, COMPTE], ids=lambda d: d.name)
def test_transition_table_has_one_row_per_transition(d: MachineDefinition) -> None:
    rows = docgen.transitions_table(d).splitlines()[2:]
    assert len(rows) == len(d.transitions)
    for row, t in zip(rows, d.transitions, strict=True):
        assert row.startswith(f"| {t.libelle}<br>`{t.trigger}` |")
        for g in t.guards:
            assert f"`{g}`" in row


def _copy_docs(tmp: Path) -> Path:
    shutil.copytree(DOCS, tmp / "docs")
    return tmp / "docs"


def test_check_lists_stale_and_missing_pages_then_write_fixes_them(tmp_path: Path) -> None:
    docs = _copy_docs(tmp_path)
    (docs / "generated" / "transitions.md").write_text("vieux\n", encoding="utf-8")
    (docs / "generated" / "compte.scxml").unlink()
    concepts = docs / "concepts.md"
    concepts.write_text(concepts.read_text(encoding="utf-8").replace("stateDiagram-v2", "stateDiagram"),
                        encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "segur_workflow.docgen", "--check", "--docs", str(docs)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    listed = {Path(line.strip()).relative_to(docs).as_posix() for line in proc.stderr.splitlines()[1:]}
    assert listed == {"generated/transitions.md", "generated/compte.scxml", "concepts.md"}
    assert docgen.main(["--docs", str(docs)]) == 0
    assert docgen.stale(docs) == []
    assert docgen.main(["--check", "--docs", str(docs)]) == 0


def test_blocks_are_filled_and_unknown_blocks_refused() -> None:
    text = "avant\n<!-- docgen:etats:compte -->\nancien\n<!-- /docgen -->\naprès\n"
    filled = docgen.fill_blocks(text)
    assert "ancien" not in filled
    assert "| `actif` | Actif |" in filled
    assert docgen.fill_blocks(filled) == filled  # idempotent
    with pytest.raises(docgen.UnknownBlock, match="inconnu"):
        docgen.fill_blocks("<!-- docgen:nope -->\n<!-- /docgen -->")


def _mkdocs(tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir",
                           str(tmp / "site"), "-f", str(tmp / "mkdocs.yml")], capture_output=True, text=True,
                          check=False, env=env)


def _site_consumers() -> None:
    if shutil.which("dot") is None or not (ROOT / "tools" / "node_modules" / "mermaid").is_dir():
        message = "consommateur absent : Graphviz et tools/node_modules (scripts/setup.d/, `make test`)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)


def _bare_copy(tmp: Path) -> Path:
    _copy_docs(tmp)
    shutil.copy(ROOT / "mkdocs.yml", tmp / "mkdocs.yml")
    (tmp / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "mkdocs_hooks.py", tmp / "scripts")
    (tmp / "tools").mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tools" / name, tmp / "tools" / name)
    return tmp


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    _site_consumers()
    _bare_copy(tmp_path)
    (tmp_path / "tools" / "node_modules").symlink_to(ROOT / "tools" / "node_modules")
    return tmp_path


def test_build_refuses_to_ship_diagrams_as_text_when_mermaid_cannot_be_installed(tmp_path: Path) -> None:
    """No tools/node_modules and no npm to install it: a strict build fails and says why (no silent 404)."""
    _site_consumers()
    _bare_copy(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").symlink_to(shutil.which("dot") or "dot")  # Graphviz present, npm absent
    broken = _mkdocs(tmp_path, env={**os.environ, "PATH": str(bin_dir)})
    assert broken.returncode != 0
    assert "Mermaid" in broken.stderr and "npm" in broken.stderr


def test_build_draws_graphviz_inline_and_ships_the_mermaid_renderer(site_copy: Path) -> None:
    ok = _mkdocs(site_copy)
    assert ok.returncode == 0, ok.stderr
    site = site_copy / "site"
    assert (site / "js" / "mermaid.min.js").stat().st_size > 100_000
    page = (site / "generated" / "diagrams" / "index.html").read_text(encoding="utf-8")
    assert page.count('<div class="sw-graphviz sw-diagramme"') == len(DEFINITIONS) + 1  # + the example
    assert "<svg" in page and "data-source=\"dossier-exemple.dot\"" in page
    for name in (*DEFINITIONS, docgen.EXEMPLE):
        assert (site / "generated" / f"{name}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    emails_page = (site / "generated" / "emails" / "index.html").read_text(encoding="utf-8")
    assert emails_page.count('<iframe class="sw-courriel-cadre" sandbox=""') == len(emails.TEMPLATES)
    assert 'lang="fr"' in (site / "index.html").read_text(encoding="utf-8")


def test_strict_build_passes_and_fails_on_a_broken_link(site_copy: Path) -> None:
    ok = _mkdocs(site_copy)
    assert ok.returncode == 0, ok.stderr
    assert (site_copy / "site" / "generated" / "dossier.scxml").is_file()
    index = site_copy / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\n[perdu](nulle-part.md)\n", encoding="utf-8")
    broken = _mkdocs(site_copy)
    assert broken.returncode != 0
    assert "nulle-part.md" in broken.stderr


def test_strict_build_fails_on_a_broken_anchor(site_copy: Path) -> None:
    index = site_copy / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\n[ancre](concepts.md#nexiste-pas)\n", encoding="utf-8")
    broken = _mkdocs(site_copy)
    assert broken.returncode != 0
    assert "nexiste-pas" in broken.stderr


def test_every_mermaid_block_of_the_docs_parses(tmp_path: Path) -> None:
    if shutil.which("node") is None or not (ROOT / "tools" / "node_modules" / "mermaid").is_dir():
        message = "consommateur absent : Node.js et tools/node_modules (npm ci dans tools/)"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    blocks = [b for page in DOCS.rglob("*.md")
              for b in re.findall(r"```mermaid\n(.*?)```", page.read_text(encoding="utf-8"), re.S)]
    assert len(blocks) >= 4  # both machines, in concepts.md and generated/diagrams.md
    files = []
    for i, block in enumerate(blocks):
        f = tmp_path / f"b{i}.mmd"
        f.write_text(block, encoding="utf-8")
        files.append(str(f))
    proc = subprocess.run(["node", str(ROOT / "tools" / "check-mermaid.mjs"), *files], capture_output=True,
                          text=True, check=False, timeout=120)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    releases = {r["release"] for r in results}
    assert len(releases) >= 3  # 10.9, 11.4 and the newest (tools/package.json)
    assert len(results) == len(blocks) * len(releases)
    assert all(r["ok"] for r in results), [r for r in results if not r["ok"]]
