"""The pytest plugin: its fixtures are visible and usable in a host project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from segur_workflow.testing.plugin import FixedClock

pytest_plugins = ["pytester"]

HOST_TEST = '''
from segur_workflow import Role, Status, allowed_commands

def test_host(segur_clock, segur_now, segur_fournisseur, segur_gestionnaire, segur_fiche_fournisseur,
              segur_dossier_factory):
    assert segur_clock() == segur_clock.now() == segur_now and segur_now.tzinfo is not None
    assert segur_clock.advance() > segur_now
    assert segur_fournisseur.role is Role.FOURNISSEUR and segur_fournisseur.id == segur_fiche_fournisseur.ans_id
    assert segur_gestionnaire.role is Role.GESTIONNAIRE
    dossier = segur_dossier_factory(Status.SOLDE_EN_INSTRUCTION)
    assert "decider" not in allowed_commands(dossier, segur_fournisseur)
    assert "rejeter" in allowed_commands(dossier, segur_gestionnaire)

def test_each_status(segur_dossier):
    assert segur_dossier.history[-1].dest is segur_dossier.status
'''


def test_fixtures_listed_by_pytest_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_vide="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    out = result.stdout.str()
    for name in ("segur_now", "segur_clock", "segur_fournisseur", "segur_gestionnaire", "segur_fiche_fournisseur",
                 "segur_dossier_factory", "segur_dossier"):
        assert f"{name} -- " in out or f"{name}\n" in out or name in out.split(), name
    assert "segur_workflow: a sample dossier in each status" in out


def test_fixtures_work_in_a_host_test_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=HOST_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1 + 8)
    result.stdout.fnmatch_lines(["*test_each_status?solde_en_attente_piece?*PASSED*"])


def test_fixed_clock() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    clock = FixedClock(start)
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1) == clock()
    with pytest.raises(ValueError, match="futur"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="fuseau"):
        FixedClock(datetime(2024, 1, 1))
    assert "2024-01-02" in repr(clock)


def test_segur_dossier_factory_here(segur_dossier_factory, segur_now) -> None:  # type: ignore[no-untyped-def]
    dossier = segur_dossier_factory("avance_decidee", numero="FINSAS000042")
    assert dossier.numero == "FINSAS000042"
    assert dossier.date_depot == segur_now
