"""docs/mutation-survivors.md from the results in ``mutants/`` and the explanations of scripts/mutation_survivors.toml.

Every mutant that survived the last ``make mutation`` (with the verdicts of ``scripts/mutation_replay.py``) is
listed under the reason it survives, with the line it changes (taken from the mutated source mutmut wrote,
so the page cannot drift from the run). A survivor without an explanation is listed under « Non expliqués »
and makes ``--check`` fail; an explained name that no longer survives (killed since, or renamed because the
code moved) is reported as stale.

    .venv/bin/python scripts/mutation_survivors.py           # write docs/mutation-survivors.md
    .venv/bin/python scripts/mutation_survivors.py --check   # exit 1 on unexplained survivors or stale names
"""

from __future__ import annotations

import ast
import difflib
import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
EXPLANATIONS = ROOT / "scripts" / "mutation_survivors.toml"
PAGE = ROOT / "docs" / "mutation-survivors.md"


def verdicts() -> dict[str, int]:
    """Every mutant's exit code (0: survived, 1/3: killed, … as mutmut writes them), by name."""
    out: dict[str, int] = {}
    for meta in sorted((MUTANTS / "src").rglob("*.meta")):
        out.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return out


def _functions(path: Path) -> dict[str, str]:
    """The source of every mutmut variant (``x_f__mutmut_orig``, ``x_f__mutmut_3``…) in one mutated module."""
    text = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            out[node.name] = ast.get_source_segment(text, node) or ""
    return out


def changes(names: list[str]) -> dict[str, str]:
    """What each mutant changes: the original line(s) and the mutated one(s), in a few words of code."""
    by_module: dict[str, list[str]] = {}
    for name in names:
        module = name.rsplit(".", 1)[0]
        by_module.setdefault(module, []).append(name)
    out: dict[str, str] = {}
    for module, members in by_module.items():
        rel = Path(*module.split("."))
        path = MUTANTS / "src" / rel.with_suffix(".py")
        if not path.exists():
            path = MUTANTS / "src" / rel / "__init__.py"
        functions = _functions(path) if path.exists() else {}
        for name in members:
            local = name.rsplit(".", 1)[1]
            orig = functions.get(local.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
            mutant = functions.get(local)
            if orig is None or mutant is None:
                out[name] = "(source introuvable dans mutants/)"
                continue
            old, new = orig.splitlines()[1:], mutant.splitlines()[1:]  # the def lines differ by name only
            removed, added = [], []
            for line in difflib.unified_diff(old, new, lineterm="", n=0):
                if line.startswith(("---", "+++", "@@")):
                    continue
                (removed if line.startswith("-") else added).append(" ".join(line[1:].split()))
            out[name] = f"`{' '.join(removed)}` → `{' '.join(added)}`" if removed or added else "(aucune différence)"
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def build() -> tuple[str, list[str], list[str]]:
    """The page, the survivors without explanation, the explained names that do not survive."""
    found = verdicts()
    survivors = sorted(n for n, code in found.items() if code == 0)
    groups = tomllib.loads(EXPLANATIONS.read_text(encoding="utf-8"))["groupe"]
    explained = {"segur_workflow." + name: g["titre"] for g in groups for name in g["mutants"]}
    stale = sorted(n for n in explained if found.get(n) != 0)
    unexplained = [n for n in survivors if n not in explained]
    what = changes(survivors)
    total = len(found)
    killed = sum(1 for code in found.values() if code in (1, 3))
    timeouts = sum(1 for code in found.values() if code in (-24, 24, 36, 152, 255))  # mutmut's timeout codes
    rate = 100.0 * (killed + timeouts) / total if total else 0.0  # as scripts/mutation.sh counts it
    lines = [
        "# Mutants survivants, un par un",
        "",
        "Page écrite par `scripts/mutation_survivors.py` à partir des résultats de la dernière `make mutation`",
        "(répertoire `mutants/`, verdicts de `scripts/mutation_replay.py` compris) et des explications de",
        "`scripts/mutation_survivors.toml` : ne pas l'éditer à la main. Lecture et chiffres : [qa.md](qa.md),",
        "« Tests de mutation ».",
        "",
        f"**{total} mutants, {killed} tués, {timeouts} délais dépassés, {len(survivors)} survivants "
        f"({f'{rate:.1f}'.replace('.', ',')} % tués).**",
        "",
        "| raison | survivants |",
        "|---|---|",
    ]
    count = Counter(explained[n] for n in survivors if n in explained)
    for g in groups:
        if count[g["titre"]]:
            lines.append(f"| {g['titre']} | {count[g['titre']]} |")
    if unexplained:
        lines.append(f"| **non expliqués** | {len(unexplained)} |")
    for g in groups:
        members = [n for n in survivors if explained.get(n) == g["titre"]]
        if not members:
            continue
        lines += ["", f"## {g['titre']}", "", " ".join(g["raison"].split()), "", "| mutant | ce qu'il change |",
                  "|---|---|"]
        lines += [f"| `{_cell(n.removeprefix('segur_workflow.'))}` | {_cell(what[n])} |" for n in members]
    if unexplained:
        lines += ["", "## Non expliqués", "", "| mutant | ce qu'il change |", "|---|---|"]
        lines += [f"| `{_cell(n.removeprefix('segur_workflow.'))}` | {_cell(what[n])} |" for n in unexplained]
    return "\n".join(lines) + "\n", unexplained, stale


def main(argv: list[str]) -> int:
    page, unexplained, stale = build()
    for name in stale:
        print(f"explication sans survivant (tué depuis, ou renommé) : {name}", file=sys.stderr)
    for name in unexplained:
        print(f"survivant sans explication : {name}", file=sys.stderr)
    if "--check" in argv:
        return 1 if unexplained or stale else 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"{PAGE.relative_to(ROOT)} : {len(unexplained)} survivant(s) sans explication, {len(stale)} périmé(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
