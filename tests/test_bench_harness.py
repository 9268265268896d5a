"""The benchmark harness works on tiny sizes (no timing is asserted: speed belongs to bench/)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is a top-level package of the repository, not part of the installed library.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import __main__ as bench_main
from bench import cases, fixtures, peers, timing
from bench.report import MET, MISSED, PENDING, Row

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


@pytest.mark.parametrize("fire", [peers.floor_apply, peers.transitions_request, peers.psm_request])
def test_every_contender_does_the_engines_work(fire: peers.Fire) -> None:
    for work in (fixtures.controler_bloc(), fixtures.decider()):
        expected = handle(work.dossier, work.command, now=work.now).dossier
        got = fire(work.dossier, work.command, work.now)
        assert got.status is expected.status
        assert got.history == expected.history
        assert (got.avance, got.solde) == (expected.avance, expected.solde)


@pytest.mark.parametrize("fire", [peers.transitions_request, peers.psm_request])
def test_peers_run_the_same_guards(fire: peers.Fire) -> None:
    work = fixtures.controler_bloc()  # blocs still "A instruire": decider must be refused
    with pytest.raises(RuleViolations):
        handle(work.dossier, Decider(GESTIONNAIRE), now=work.now)
    with pytest.raises(peers.GuardRefused):
        fire(work.dossier, Decider(GESTIONNAIRE), work.now)


def test_lifecycle_fixture_ends_decided() -> None:
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


def test_quick_run_prints_and_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "benchmarks.md"
    assert bench_main.main(["--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "| case | figure | target | verdict |" in page
    for case in ("`handle()` without e-mail", "python-statemachine", "memory per dossier", "SQLite"):
        assert case in page
        assert case in printed
    results = page.split("## Results", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in results.splitlines() if line.startswith("| ") and not line.startswith("| case")]
    assert len(lines) >= 15
    assert {line.rsplit("|", 2)[-2].strip() for line in lines} <= {MET, MISSED, PENDING, "—"}


def test_only_runs_the_named_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--quick", "--only", "history", "--no-write"]) == 0
    printed = capsys.readouterr().out
    assert "history length" in printed
    assert "memory" not in printed


def test_row_verdicts() -> None:
    assert Row("x", "1").verdict == "—"
