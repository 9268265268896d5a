"""The mutation run's configuration (``[tool.mutmut]``) still covers the engine and the rules after modules move.

mutmut is not run here (``make mutation``); what is checked is what a silent rename would break: a glob that
matches no file mutates nothing and says nothing.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import tomllib
from pathlib import Path

import segur_workflow as sw
from segur_workflow import binding, compte, rules
from segur_workflow.engine import DOSSIER_BINDING

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
SOURCES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "src" / "segur_workflow").rglob("*.py"))


def _mutated(path: str) -> bool:
    return any(fnmatch.fnmatch(path, g) for g in CONFIG["only_mutate"]) and not any(
        fnmatch.fnmatch(path, g) for g in CONFIG.get("do_not_mutate", []))


def _file(module_name: str) -> str:
    return Path(inspect.getfile(importlib.import_module(module_name))).resolve().relative_to(ROOT).as_posix()


def test_every_glob_matches_a_source_file() -> None:
    assert CONFIG["source_paths"] == ["src/segur_workflow"]
    for glob in CONFIG["only_mutate"]:
        assert [p for p in SOURCES if fnmatch.fnmatch(p, glob)], f"{glob} ne désigne aucun fichier"


def test_the_engine_and_every_rule_are_mutated() -> None:
    # found from the public objects, not from a list of file names: a module that moves stays covered or fails here
    functions = [sw.handle, sw.start, sw.allowed_commands, compte.handle_compte, binding.Binding.fire,
                 *(e.effect for e in DOSSIER_BINDING.entries), *(r.check for r in rules.RULES.values())]
    modules = {f.__module__ for f in functions} | {rules.__name__}
    engine_package = Path(inspect.getfile(importlib.import_module(sw.handle.__module__))).parent
    files = {_file(m) for m in modules}
    files |= {p.relative_to(ROOT).as_posix() for p in engine_package.glob("*.py")}
    files |= {p.relative_to(ROOT).as_posix() for p in Path(inspect.getfile(rules)).parent.glob("*.py")}
    missing = sorted(f for f in files if not _mutated(f))
    assert missing == [], f"modules du moteur ou des règles hors de [tool.mutmut] only_mutate : {missing}"


def test_the_mutation_tests_are_the_fast_deterministic_ones() -> None:
    selection = CONFIG["pytest_add_cli_args_test_selection"]
    for path in selection:
        text = (ROOT / path).read_text(encoding="utf-8")
        # no database server, browser, subprocess, CLI run or benchmark: each costs every surviving mutant
        for slow in ("postgres", "subprocess", "chromium", "CliRunner", "segur_workflow.cli", "bench"):
            assert slow not in text, f"{path} : {slow}"
    args = CONFIG["pytest_add_cli_args"]
    assert "no:cacheprovider" in args and "no:xdist" in args


def test_every_explained_survivor_names_a_mutated_function_that_exists() -> None:
    # scripts/mutation_survivors.toml explains survivors by mutmut's names ("engine._binding.x__refusal__mutmut_3",
    # "binding.xǁBindingǁfire__mutmut_64"): a function renamed or moved would leave an explanation of nothing
    groups = tomllib.loads((ROOT / "scripts" / "mutation_survivors.toml").read_text(encoding="utf-8"))["groupe"]
    assert groups and all(g["titre"] and g["raison"] and g["mutants"] for g in groups)
    names = [n for g in groups for n in g["mutants"]]
    assert len(names) == len(set(names)), "un mutant expliqué deux fois"
    for name in names:
        module_name, _, local = name.rpartition(".")
        module = importlib.import_module(f"segur_workflow.{module_name}")
        assert _mutated(_file(module.__name__)), name
        function = local.rsplit("__mutmut_", 1)[0]  # mutmut's "x_" + name, or "xǁClassǁname" for a method
        owner: object = module
        if function.startswith("xǁ"):
            cls, function = function[2:].split("ǁ")
            owner = getattr(module, cls)
        else:
            function = function.removeprefix("x_")
        assert callable(getattr(owner, function, None)), name
