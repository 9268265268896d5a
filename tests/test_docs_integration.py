"""The host integration guide's first example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "integration.md"


def test_first_example_of_the_integration_guide_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    assert namespace["dossier"].status.value == "avance_decidee"  # type: ignore[attr-defined]
