"""The Python examples of the README and of the host integration guide run as written."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _first_python_block(path: Path) -> dict[str, object]:
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(path), "exec"), namespace)
    return namespace


def test_first_example_of_the_integration_guide_runs() -> None:
    namespace = _first_python_block(ROOT / "docs" / "integration.md")
    assert namespace["dossier"].status.value == "avance_decidee"  # type: ignore[attr-defined]


def test_readme_example_runs() -> None:
    namespace = _first_python_block(ROOT / "README.md")
    dossier = namespace["dossier"]
    assert dossier.history[-1].trigger == "controler_bloc"  # type: ignore[attr-defined]
