"""docs/qa.md's complete example runs as a host's test file (with the plugin's fixtures)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segur_workflow import Status
from segur_workflow.testing import edge_cover

pytest_plugins = ["pytester"]

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "qa.md"


def example_code() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text.split("## Exemple complet", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/qa.md: le bloc python de l'exemple complet a disparu"
    return match.group(1)


def test_the_complete_example_of_the_qa_guide_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_segur_qa=example_code())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    # 2 property tests, the state machine, one case per edge-cover path, one per status
    result.assert_outcomes(passed=2 + 1 + len(edge_cover()) + len(Status))
