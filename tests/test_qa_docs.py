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


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def _section(title: str) -> str:
    return GUIDE.read_text(encoding="utf-8").split(title, 1)[1].split("\n### ", 1)[0]


def test_the_coverage_report_shown_is_the_one_the_tiny_host_test_gives(pytester: pytest.Pytester) -> None:
    section = _section("### Un petit test d'hôte et son rapport")
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    shown = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert code is not None and shown is not None
    pytester.makepyfile(test_petit_hote=code.group(1))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=rapport.json",
                                           "--segur-coverage-fail-under=80")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the tests pass, the threshold does not
    result.assert_outcomes(passed=2 + len(Status))
    printed = result.stdout.lines
    # every line shown is printed, in the same order; "…" stands for lines left out or cut short
    position = 0
    for line in shown.group(1).splitlines():
        if line.strip() in ("", "- …"):
            continue
        prefix = line.removesuffix("…")
        position = next((i for i in range(position, len(printed)) if printed[i].startswith(prefix)), -1) + 1
        assert position, f"docs/qa.md montre une ligne que le rapport n'affiche pas (ou plus à cette place) : {line!r}"


def test_the_observation_example_runs() -> None:
    block = next(b for b in python_blocks() if "observing(Recorder())" in b)
    exec(compile(block, "docs/qa.md", "exec"), {})


def test_every_python_example_of_the_qa_guide_passes_mypy_strict(tmp_path: Path) -> None:
    from mypy import api

    files = []
    for i, block in enumerate(python_blocks()):
        file = tmp_path / f"exemple_{i}.py"
        file.write_text(block, encoding="utf-8")
        files.append(str(file))
    assert len(files) >= 3
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                                "--python-version", "3.11", *files])
    assert status == 0, out + err


def test_the_generic_machine_example_runs(pytester: pytest.Pytester) -> None:
    block = next(b for b in python_blocks() if "machine_for(shipped_driver(COMPTE))" in b)
    pytester.makepyfile(test_compte_machine=block)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q").assert_outcomes(passed=1)
