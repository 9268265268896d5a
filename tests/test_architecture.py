"""The house rules that a checker can hold: __all__ everywhere, no module over 400 lines, the version, the
public modules named in docs/architecture.md.

The layers themselves are held by `lint-imports` (pyproject.toml, run by `make test`); what is below is
what import-linter does not see. The lists of exceptions only shrink: a new module must follow the rules,
and a module that comes to follow them leaves its list (the test says so).
"""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import grimp
import pytest

import segur_workflow as sw

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "segur_workflow"
MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py")
MAX_LINES = 400

#: Modules over MAX_LINES waiting for their split. This list only shrinks: a module split leaves it (the last
#: test says so), and the integrator empties it. (serialization, adapters/_sql and testing/contract: split.)
OVERSIZED: set[str] = set()


def _name(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _declares_all(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, ast.Assign | ast.AnnAssign) and "__all__" in ast.unparse(n).split("=")[0]
               for n in tree.body)


def test_the_version_is_the_distributions() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert sw.__version__ == version("segur-workflow") == declared


def test_every_module_declares_what_it_exports() -> None:
    assert [_name(p) for p in MODULES if not _declares_all(p)] == []


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_every_exported_name_exists(path: Path) -> None:
    module = importlib.import_module(_module(path))
    absent = [n for n in module.__all__ if not hasattr(module, n)]
    assert absent == [], f"{_name(path)} exporte des noms absents : {absent}"
    assert len(set(module.__all__)) == len(module.__all__)


def test_no_module_over_400_lines() -> None:
    sizes = {_name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES}
    over = {n for n, size in sizes.items() if size > MAX_LINES}
    assert over <= OVERSIZED, {n: sizes[n] for n in sorted(over - OVERSIZED)}
    assert over >= OVERSIZED, f"now at most {MAX_LINES} lines, remove from OVERSIZED : {sorted(OVERSIZED - over)}"


def test_every_public_module_is_named_in_the_architecture_page() -> None:
    # a module without a leading underscore is public (docs/architecture.md, "What is public"): a new one is
    # either named there or underscored
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    public = {_module(p) for p in MODULES if not any(part.startswith("_") and part != "__init__.py"
                                                      for part in p.relative_to(SRC).parts)}
    missing = sorted(m for m in public - {"segur_workflow"} if f"`{m.removeprefix('segur_workflow.')}`" not in page)
    assert missing == [], f"modules publics absents de docs/architecture.md : {missing}"


def _import_graph() -> grimp.ImportGraph:
    return grimp.build_graph("segur_workflow", include_external_packages=False, cache_dir=None)


def test_no_import_cycle_at_all() -> None:
    # import-linter's `acyclic_siblings` compares the children of each package; this looks at every module,
    # the package's own __init__ included, and every import grimp finds: inside functions and under
    # TYPE_CHECKING too. A lower module reaches an upper one through a slot instead (`_slot`).
    graph = _import_graph()
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append(" -> ".join((importer, *back)))
    assert cycles == []


def test_the_cycle_check_sees_an_import_made_inside_a_function(tmp_path: Path) -> None:
    # what the test above relies on: grimp counts an import written in a function body
    package = tmp_path / "cyclepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "bas.py").write_text("def f():\n    from . import haut\n    return haut\n")
    (package / "haut.py").write_text("from . import bas\n")
    sys.path.insert(0, str(tmp_path))
    try:
        graph = grimp.build_graph("cyclepkg", cache_dir=None)
    finally:
        sys.path.remove(str(tmp_path))
    assert graph.find_shortest_chain(importer="cyclepkg.bas", imported="cyclepkg.haut") is not None
    assert graph.find_shortest_chain(importer="cyclepkg.haut", imported="cyclepkg.bas") is not None


def test_the_contracts_list_no_exception() -> None:
    # every exception of the import-linter contracts was a cycle or an upward import; none is left, and a new
    # one is a design change to discuss (docs/architecture.md), not a line to add
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert [c["id"] for c in config["contracts"] if c.get("ignore_imports")] == []


def _trigger_literals(path: Path) -> set[str]:
    """The string constants of a module, but its ``__all__`` (an effect function may bear its trigger's name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exported = {id(node) for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                and "__all__" in ast.unparse(n).split("=")[0] for node in ast.walk(n)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in exported}


def test_no_module_but_the_definitions_lists_the_triggers() -> None:
    # a table by trigger (examples, paths, strategies, e-mails…) is what a new trigger would have to be added
    # to; the definitions are the one list. A module may name a trigger or two (a fact about that one, as
    # history.is_automatic does for the automatic bloc control), not a third of a machine's.
    from segur_workflow.states import DEFINITIONS

    homes = {SRC / "states" / "_dossier.py", SRC / "states" / "_compte.py"}
    tables = []
    for path in MODULES:
        if path in homes:
            continue
        named = _trigger_literals(path)
        for definition in DEFINITIONS.values():
            found = named & set(definition.triggers)
            if 3 * len(found) > len(definition.triggers):
                tables.append(f"{_name(path)} ({definition.name}) : {sorted(found)}")
    assert tables == []
