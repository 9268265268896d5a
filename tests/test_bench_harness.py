"""The benchmark harness works on tiny sizes (no timing is asserted: speed belongs to bench/)."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

# bench/ is a top-level package of the repository, not part of the installed library.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import __main__ as bench_main
from bench import cases, fixtures, peers, plan, profiles, registry, service, timing
from bench.report import MET, MISSED, PENDING, Row, table, write_page

from segur_workflow import Decider, RuleViolations, Status, handle
from segur_workflow.examples import GESTIONNAIRE
from segur_workflow.states import DOSSIER


def test_peer_tables_come_from_the_definition() -> None:
    edges = {(src, t.trigger) for src, t, _ in DOSSIER.edges() if not t.creates}
    assert set(peers.FLOOR_TABLE) == edges
    tr_events = peers.TransitionsModel(fixtures.controler_bloc().dossier).machine.events
    assert {(src, trg) for trg, ev in tr_events.items() for src in ev.transitions} == edges
    psm = peers.PsmDossier
    assert {(t.source.value, e) for s in psm.states for t in s.transitions for e in t.events} == edges
    shared = peers.SHARED.events
    assert {(src, trg) for trg, ev in shared.items() for src in ev.transitions} == edges


CONTENDERS = [peers.floor_apply, peers.transitions_shared, peers.transitions_event, peers.transitions_request,
              peers.psm_request]


@pytest.mark.parametrize("fire", CONTENDERS)
def test_every_contender_builds_the_dossier_handle_builds(fire: peers.Fire) -> None:
    for work in (fixtures.controler_bloc(), fixtures.decider()):
        expected = handle(work.dossier, work.command, now=work.now).dossier
        got = fire(work.dossier, work.command, work.now)
        cases._same_dossier(got, expected, but=("emails_sent",))  # the peers send no e-mail
    assert not peers.SHARED.models  # every request's model was removed from the shared machine


def test_the_least_work_builds_the_same_dossier() -> None:
    for work in (fixtures.controler_bloc(), fixtures.decider()):
        expected = handle(work.dossier, work.command, now=work.now).dossier
        assert peers.LeastWork.of(work.dossier, expected).apply(work.command) == expected


@pytest.mark.parametrize("fire", [peers.transitions_shared, peers.transitions_event, peers.transitions_request,
                                  peers.psm_request])
def test_peers_run_the_same_guards(fire: peers.Fire) -> None:
    work = fixtures.controler_bloc()  # blocs still "A instruire": decider must be refused
    with pytest.raises(RuleViolations):
        handle(work.dossier, Decider(GESTIONNAIRE), now=work.now)
    with pytest.raises(peers.GuardRefused):
        fire(work.dossier, Decider(GESTIONNAIRE), work.now)


def test_lifecycle_fixture_ends_decided() -> None:
    assert service.Life.build().commands == 13  # issue 19's 13-command life: the deposit and 12 more
    first, steps = fixtures.lifecycle()
    d = first
    for command, now in steps:
        d = handle(d, command, now=now).dossier
    assert d.status is Status.SOLDE_DECIDEE


def test_ratio_is_taken_within_rounds() -> None:
    t = timing.Timings({"a": (2.0, 20.0, 4.0), "b": (1.0, 10.0, 1.0)})
    assert t.ratio("a", "b") == 2.0
    assert t.median("a") == 4.0


def test_plain_copy_keeps_the_data_not_the_classes() -> None:
    d = fixtures.controler_bloc().dossier
    p = cases.plain(d)
    assert isinstance(p, tuple)
    assert d.numero in p
    assert any(isinstance(x, dict) for x in p[5])  # the avance's maps became dicts


@pytest.mark.slow
def test_quick_run_prints_and_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "benchmarks.md"
    assert bench_main.main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "| case | figure | target | verdict |" in page
    for case in ("`handle()` without e-mail", "python-statemachine", "memory per dossier", "SQLite",
                 "physical limit", "commands/s"):
        assert case in page
        assert case in printed
    results = page.split("## Results", 1)[1].split("\n## ", 1)[0].split("### Each case's run", 1)[0]
    lines = [line for line in results.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert len(lines) >= 20
    verdicts = {line.rsplit("|", 2)[-2].strip().split(" [")[0] for line in lines}
    assert verdicts <= {MET, MISSED, PENDING, "—"}
    assert "crashed" not in results and "timed out" not in results and "stopped by an error" not in results
    assert "not run" not in results  # a quick run has no budget: its deadlines stretch with the load instead
    # every missed row says why (its note), and the profiles page the notes link to is written beside the page
    assert all(" [" in line for line in lines if f"| {MISSED}" in line)
    side = (tmp_path / "benchmarks-profiles.md").read_text(encoding="utf-8")
    for link in set(re.findall(r"benchmarks-profiles\.md#(profile-\d+)", page)):
        assert "{#" + link + "}" in side


def test_only_runs_the_named_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--quick", "--only", "history", "--no-write"]) == 0
    printed = capsys.readouterr().out
    assert "history length" in printed
    assert "memory per dossier" not in printed


def test_a_case_past_its_deadline_is_a_missed_row_and_the_page_is_written(tmp_path: Path) -> None:
    rows = bench_main.run_case("memory", True, 0.5, bench_main_env())
    assert rows[-1].verdict == MISSED
    assert "timed out after" in rows[-1].figure
    out = tmp_path / "page.md"
    # a budget too small for any case: every case is reported as not run, the page still written
    assert bench_main.main(["--quick", "--budget", "1", "--only", "memory", "--out", str(out)]) == 0
    assert "not run" in out.read_text(encoding="utf-8")


def test_a_crashing_case_is_a_missed_row_with_its_reason() -> None:
    rows = bench_main.run_case("no_such_case", True, 60, bench_main_env())
    assert [r.verdict for r in rows] == [MISSED]
    assert "crashed" in rows[0].figure
    assert "KeyError" in rows[0].note


def test_an_error_inside_a_case_keeps_the_rows_before_it() -> None:
    def case(_cfg: object) -> object:
        yield Row("first", "1")
        raise ValueError("boom")

    rows = list(registry.run(registry.Case(case, "a case"), registry.config(True)))
    assert rows[0] == Row("first", "1")
    assert rows[1].verdict == MISSED and "boom" in rows[1].figure


def test_case_files_of_other_parts_are_found() -> None:
    found = registry.cases()
    assert {"per_command", "emails", "imports", "throughput", "get_save", "table_size"} <= set(found)
    for path in (Path(registry.ROOT) / "bench").glob("case_*.py"):
        assert any(c.title == f"from bench/{path.name}" for c in found.values()) or path.stem in found


def test_notes_are_numbered_under_the_table() -> None:
    text = table([Row("a", "1", "≤ 1", MISSED, note="why a"), Row("b", "2"), Row("c|d", "3", note="why c")])
    assert "| c\\|d |" in text
    assert "**missed** [1]" in text and "— [2]" in text
    assert "1. why a" in text and "2. why c" in text


def test_the_recorded_statements_replay_as_a_raw_life(tmp_path: Path) -> None:
    backend = service.Backend("sqlite", str(tmp_path), "NORMAL")
    backend.create("lives")
    backend.create("raw")
    life = service.Life.build()
    recording = service.record_life(backend, "lives", life, 7)
    assert len(recording.marks) == life.commands
    assert any(s.startswith("BEGIN") for s in recording.statements)
    raw = backend.raw("raw")
    assert recording.replay(raw, 8, float("inf")) == life.commands
    assert recording.replay(raw, 9, float("inf")) == life.commands  # numero and provider made distinct
    raw.close()
    table, *_ = service._snapshot_table(backend, "raw", fixtures.numero(8))
    assert service._snapshot_table(backend, "raw", fixtures.numero(9))[0] == table


def bench_main_env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_row_verdicts() -> None:
    assert Row("x", "1").verdict == "—"


def _simulate(slowdown: float, *, budget: float = bench_main.DEFAULT_BUDGET,
              overrun: bool = False) -> tuple[list[plan.Slot], float]:
    """A full run of every registered case, each taking what the planner expects at ``slowdown`` (or its whole
    deadline when ``overrun``); the slots given and the seconds spent."""
    found = registry.cases()
    names = list(found)
    planner = plan.Planner({n: c.need() for n, c in found.items()}, names, slowdown)
    spent = bench_main.STARTUP
    slots = []
    for name in names:
        slot = planner.slot(name, budget - spent - bench_main.RESERVE)
        slots.append(slot)
        if slot.refused:
            continue
        took = slot.deadline if overrun else found[name].need().expected(slot.scale, slowdown)
        assert took <= slot.deadline
        spent += took
        planner.done(name, slot, took)
    return slots, spent


def test_a_quiet_machine_runs_every_case_within_the_budget() -> None:
    # every registered case (the other parts' case files included) runs, none refused, within the budget
    slots, spent = _simulate(1.0)
    assert not [s for s in slots if s.refused]
    assert spent <= bench_main.DEFAULT_BUDGET - bench_main.RESERVE


def test_a_crowded_machine_scales_the_cases_down_and_never_overruns_the_budget() -> None:
    quiet, _ = _simulate(1.0)
    slots, spent = _simulate(5.0)
    assert spent <= bench_main.DEFAULT_BUDGET - bench_main.RESERVE
    ran = [s for s in slots if not s.refused]
    assert len(ran) >= len(slots) // 2  # the first cases still run, at a smaller scale
    assert min(s.scale for s in ran) < min(s.scale for s in quiet)
    assert all(s.scale >= plan.MIN_SCALE for s in ran)
    # even if every case ran to its deadline, the run ends within its budget
    _slots, spent = _simulate(5.0, overrun=True)
    assert spent <= bench_main.DEFAULT_BUDGET - bench_main.RESERVE


def test_a_case_that_cannot_fit_is_refused_and_says_why() -> None:
    planner = plan.Planner({"a": plan.Need(10.0), "b": plan.Need(100.0, scalable=False)}, ["a", "b"], 1.0)
    slot = planner.slot("a", 60.0)
    assert slot.refused is None and slot.scale < 1  # "b" cannot shrink: "a" gives up part of its rounds
    planner.done("a", slot, 30.0)  # ran three times slower than planned: the machine is slow
    assert planner.slowdown > 1
    late = planner.slot("b", 50.0)
    assert late.refused is not None and "least scale" in late.refused


def test_the_scale_reaches_the_sizes_and_rounds_of_a_case() -> None:
    full, half = cases.Config.full_run(1.0), cases.Config.full_run(0.5)
    assert full.scale == 1.0 and half.scale == 0.5
    assert half.memory_dossiers < full.memory_dossiers and half.property_examples < full.property_examples
    assert half.timing.batch_seconds < full.timing.batch_seconds
    least = cases.Config.full_run(0.0)
    assert least.timing.rounds >= 7 and least.memory_dossiers >= 2_000  # floors below which figures mean nothing


def test_a_case_file_declares_its_cost_and_whether_it_scales() -> None:
    def desk(cfg: object) -> object:
        yield Row("desk", "1")

    module = types.ModuleType("bench.case_example")
    module.CASES = {"desk": desk, "other": desk}  # type: ignore[attr-defined]
    module.COSTS = {"desk": 500.0}  # type: ignore[attr-defined]
    module.SCALES = {"desk"}  # type: ignore[attr-defined]
    found = registry.file_cases(module, "case_example", {"other"})
    assert set(found) == {"desk", "case_example.other"}
    assert found["desk"].cost == registry.CASE_FILE_CAP and found["desk"].scalable
    assert not found["case_example.other"].scalable


def test_missed_rows_link_their_profile_and_a_missed_row_without_reason_says_so(tmp_path: Path) -> None:
    summary, table_ = profiles.top(lambda: sorted(range(50)), 20)
    assert "sorted" in summary and "| own time |" in table_
    rows = bench_main._note_for([Row("a", "1", "≤ 1", MISSED, note="why a", profile=table_),
                                 Row("b", "2", "≤ 1", MISSED), Row("c", "3")])
    assert "gave no reason" in rows[1].note
    out = tmp_path / "benchmarks.md"
    write_page(out, rows, "run line")
    page, side = out.read_text(encoding="utf-8"), (tmp_path / "benchmarks-profiles.md").read_text(encoding="utf-8")
    assert "(benchmarks-profiles.md#profile-1)" in page
    assert "{#profile-1}" in side and "sorted" in side and "run line" in side
    assert "{#profile-2}" not in side  # row b has a note but no profile


def test_each_case_run_is_on_the_page(tmp_path: Path) -> None:
    out = tmp_path / "page.md"
    assert bench_main.main(["--quick", "--only", "emails", "--only", "lifecycle", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "| `emails` |" in page and "| `lifecycle` |" in page
    assert "| all cases |" in page
