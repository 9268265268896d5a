"""``pytest --segur-coverage``: the coverage of the definitions, as a host project gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path
from typing import Any

import pytest

from segur_workflow import observation
from segur_workflow.observation import observing
from segur_workflow.states import COMPTE, DOSSIER, Status
from segur_workflow.testing.coverage import ENGINE, OK, Recorder, build_report

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

#: Two host test files: one dossier rejected at instruction, one deposit refused for its amount.
HOST_REJET = '''
from datetime import timedelta

import segur_workflow as sw
from segur_workflow import examples


def test_rejet(segur_dossier_factory, segur_gestionnaire):
    dossier = segur_dossier_factory(sw.Status.AVANCE_EN_INSTRUCTION)
    later = dossier.history[-1].at + timedelta(hours=1)
    assert sw.handle(dossier, sw.Rejeter(segur_gestionnaire, "Non conforme."), now=later).dossier.status.final
'''
HOST_MONTANT = '''
from decimal import Decimal

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples


def test_montant_refuse(segur_now):
    command = attrs.evolve(examples.deposer_avance(), montant=Decimal("29999"))
    with pytest.raises(sw.RuleViolations):
        sw.start(command, numero=examples.NUMERO, now=segur_now)
'''


def _report(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _hits(section: dict[str, Any]) -> dict[tuple[str, ...], int]:
    return {tuple(str(v) for k, v in item.items() if k != "count"): item["count"] for item in section["items"]}


def test_report_threshold_and_json_of_a_tiny_host_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rejet=HOST_REJET, test_montant=HOST_MONTANT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=out/cov.json",
                                           "--segur-coverage-fail-under=90")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # both tests pass, the threshold does not
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert "couverture des définitions" in out
    assert "machine « dossier »" in out
    # the host never touched the account machine: listed, not counted
    assert "machine « compte » — Compte du portail privé Ségur numérique : jamais exercée, non comptée" in out
    assert "jamais exercé :" in out
    assert "transition solde_en_instruction —decider→ solde_decidee" in out  # never fired here
    assert "transition avance_en_instruction —rejeter→ avance_rejetee" not in out.split("jamais exercé")[1].split(
        "machine « compte »")[0]
    assert "Seuil --segur-coverage-fail-under=90,0 % : ÉCHEC" in out
    doc = _report(pytester.path / "out" / "cov.json")
    assert doc["format"] == "segur-coverage/1" and doc["failed"] is True and doc["fail_under"] == 90
    assert doc["untouched"] == ["compte"] and set(doc["machines"]) == {"dossier"}
    dossier = doc["machines"]["dossier"]
    transitions = _hits(dossier["transitions"])
    # the factory deposited, the test rejected; a refused deposit fires nothing
    assert transitions[("None", "deposer_avance", "avance_en_instruction")] == 1
    assert transitions[("avance_en_instruction", "rejeter", "avance_rejetee")] == 1
    assert sum(transitions.values()) == 2
    assert dossier["transitions"]["covered"] == 2 and dossier["transitions"]["total"] == len(list(DOSSIER.edges()))
    outcomes = _hits(dossier["rule_outcomes"])
    assert outcomes[("montant_avance", "montant.avance")] == 1  # the refused deposit
    assert outcomes[("montant_avance", OK)] == 1  # the factory's deposit
    assert outcomes[("motif_requis", OK)] == 1
    pairs = _hits(dossier["pairs"])
    assert pairs[("{'source': None, 'trigger': 'deposer_avance', 'target': 'avance_en_instruction'}",
                  "{'source': 'avance_en_instruction', 'trigger': 'rejeter', 'target': 'avance_rejetee'}")] == 1
    assert doc["percent"] < 90

    passing = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=cov.json",
                                            "--segur-coverage-fail-under=5")
    assert passing.ret == pytest.ExitCode.OK
    passing.stdout.fnmatch_lines(["*Seuil --segur-coverage-fail-under=5,0 % : atteint*"])

    pytester.makeini("[pytest]\nsegur_coverage_machines = compte\n")  # counted now: the percentage falls
    counted = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=cov2.json")
    assert counted.ret == pytest.ExitCode.OK
    again = _report(pytester.path / "cov2.json")
    assert set(again["machines"]) == {"dossier", "compte"} and again["untouched"] == []
    assert again["machines"]["compte"]["transitions"]["covered"] == 0
    assert again["percent"] < _report(pytester.path / "cov.json")["percent"]


def test_xdist_workers_send_their_counts_to_the_controller(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rejet=HOST_REJET, test_montant=HOST_MONTANT)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--segur-coverage")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.OK  # no threshold: the report does not fail the run
    assert result.stdout.str().count("couverture des définitions") == 1  # the controller's, not the workers'
    doc = _report(pytester.path / "segur-coverage.json")  # the default path
    outcomes = _hits(doc["machines"]["dossier"]["rule_outcomes"])
    assert outcomes[("montant_avance", "montant.avance")] == 1
    assert outcomes[("motif_requis", OK)] == 1


def test_without_the_option_nothing_is_recorded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rejet=HOST_REJET, test_vide='''
from segur_workflow import observation

def test_no_observer():
    assert observation.current() is None
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "couverture des définitions" not in result.stdout.str()
    assert not (pytester.path / "segur-coverage.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--segur-coverage", "tests"], "n'est pas un fichier .json"),
    (["--segur-coverage-fail-under=120"], "n'est pas un pourcentage"),
])
def test_option_errors_are_usage_errors(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile(test_rien="def test_rien():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


HOST_MACHINE = '''
"""A host's own machine: a support ticket, with its own little engine reporting to the observer."""
from segur_workflow import observation
from segur_workflow.states import MachineDefinition, StateSpec, TransitionSpec
from segur_workflow.vocabulary import Role

TICKET = MachineDefinition(
    name="ticket", title="Ticket de support de l'hôte",
    states=(StateSpec("ouvert", "Ouvert"), StateSpec("clos", "Clos", final=True)),
    transitions=(
        TransitionSpec("ouvrir", (), "ouvert", frozenset({Role.FOURNISSEUR})),
        TransitionSpec("relancer", ("ouvert",), None, frozenset({Role.FOURNISSEUR})),
        TransitionSpec("clore", ("ouvert",), "clos", frozenset({Role.GESTIONNAIRE})),
    ),
)


def fire(history, trigger):
    """The host's engine: resolve through the definition, report, return the new history."""
    source = history[-1][2] if history else None
    spec = TICKET.resolve(source, trigger)
    target = spec.target(source or "")
    observation.transition(TICKET, subject="T1", source=source, trigger=trigger, target=target,
                           history=[Entry(*h) for h in history])
    return [*history, (source, trigger, target)]


class Entry:
    def __init__(self, source, trigger, dest):
        self.source, self.trigger, self.dest = source, trigger, dest
'''


def test_a_machine_the_host_adds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(hote_ticket=HOST_MACHINE, test_ticket='''
from hote_ticket import fire

def test_ouvrir_relancer():
    fire(fire([], "ouvrir"), "relancer")
''')
    pytester.makeini("[pytest]\nsegur_coverage_machines =\n    hote_ticket:TICKET\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=cov.json")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "machine « ticket » — Ticket de support de l'hôte",
        "  transitions * : 2/3 (66,7 %)",
        "*jamais exercé :",
        "    - transition ouvert —clore→ clos",
    ])
    ticket = _report(pytester.path / "cov.json")["machines"]["ticket"]
    assert ticket["transitions"]["missing"] == [{"source": "ouvert", "trigger": "clore", "target": "clos"}]
    assert ticket["pairs"]["covered"] == 1  # ouvrir then relancer

    # a machine seen firing is reported even when the ini does not name it
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage=cov.json")
    assert "ticket" in _report(pytester.path / "cov.json")["machines"]


def test_a_bad_host_machine_name_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_rien="def test_rien():\n    pass\n")
    pytester.makeini("[pytest]\nsegur_coverage_machines = json:dumps\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--segur-coverage")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "n'est pas une MachineDefinition" in result.stderr.str()


# -- the model, without pytest in between --------------------------------------------------------------------
def test_counts_survive_the_trip_between_processes() -> None:
    from segur_workflow import examples
    from segur_workflow.engine import handle

    with observing(Recorder()) as rec:
        dossier = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
        handle(dossier, examples.commands_to_fire(dossier, "rejeter")[0], now=dossier.history[-1].at)
    again = Recorder()
    again.merge(json.loads(json.dumps(rec.to_json())))
    again.merge(rec.to_json())
    assert {k: 2 * n for k, n in rec.transitions.items()} == again.transitions
    assert {k: 2 * n for k, n in rec.pairs.items()} == again.pairs
    assert {k: 2 * n for k, n in rec.outcomes.items()} == again.outcomes
    with pytest.raises(ValueError, match="format"):
        again.merge({"format": "autre"})


def test_engine_codes_are_counted_per_machine() -> None:
    from segur_workflow import examples
    from segur_workflow.engine import start

    with observing(Recorder()) as rec, pytest.raises(Exception, match="numéro"):
        start(examples.deposer_avance(), numero="PASBON", now=examples.T0)
    report = build_report(rec, [COMPTE])  # the account machine counted although nothing touched it
    dossier, compte = (next(m for m in report.machines if m.info.name == n) for n in ("dossier", "compte"))
    assert dict(dossier.outcomes.hits)[(ENGINE, "numero.format")] == 1
    assert dict(compte.outcomes.hits)[(ENGINE, "date.anterieure")] == 0
    assert (ENGINE, "numero.format") not in dict(compte.outcomes.hits)  # it is the dossier engine's only
    assert {m.info.name for m in report.machines} >= {DOSSIER.name, COMPTE.name}


def test_the_observer_is_per_context_and_always_put_back() -> None:
    session = observation.current()  # the session's own, when this suite runs with --segur-coverage
    outer = Recorder()
    with observing(outer):
        inner = Recorder()  # its parent: the observer installed when it is made
        assert inner.parent is outer and Recorder(alone=True).parent is None
        with observing(inner):
            assert observation.current() is inner
            observation.transition(DOSSIER, subject="X", source=None, trigger="deposer_avance",
                                   target="avance_en_instruction")
        assert observation.current() is outer
    assert observation.current() is session
    assert inner.transitions == outer.transitions  # the parent is told too (a pytester run inside a run)


# -- the installed package -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_host_project_on_the_installed_wheel_gets_report_and_threshold(tmp_path: Path) -> None:
    """Build the wheel, install it alone into a new virtual environment (its dependencies come from
    ours through a .pth file, after its own site-packages), run pytest on a host project there."""
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)], cwd=ROOT,
                   check=True, capture_output=True)
    (wheel,) = dist.glob("segur_workflow-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "zz_dependances.pth").write_text(ours + "\n", encoding="utf-8")
    project = tmp_path / "hote"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_rejet.py").write_text(HOST_REJET, encoding="utf-8")
    (project / "tests" / "test_types.py").write_text(textwrap.dedent('''
        from hypothesis import HealthCheck, given, settings, strategies as st
        import segur_workflow as sw
        import segur_workflow.testing

        def test_installed_copy():
            assert "site-packages" in sw.__file__ and "src" not in sw.__file__.split("site-packages")[1]

        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.from_type(sw.Dossier))
        def test_from_type(dossier):
            assert dossier.status in sw.Status
    '''), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    proc = subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "--segur-coverage=rapport.json",
                           "--segur-coverage-fail-under=100", "tests"], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 3 tests pass, 100 % is not reached
    assert "3 passed" in proc.stdout
    assert "machine « dossier »" in proc.stdout and "ÉCHEC" in proc.stdout
    doc = json.loads((project / "rapport.json").read_text(encoding="utf-8"))
    assert doc["machines"]["dossier"]["transitions"]["covered"] >= 2
