"""The desk in the service and the SQL adapters: assignment at deposit, bulk instruction, summary columns."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import cli, examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.ports import DossierRepository
from segur_workflow.service import LeastLoaded, SteppingClock, WorkflowService
from segur_workflow.testing.contract import fournisseur, make_dossier, step

G = examples.GESTIONNAIRE


def _service(repo: DossierRepository | None = None, **kwargs: Any) -> WorkflowService:
    return WorkflowService(repo if repo is not None else InMemoryRepository(), clock=SteppingClock(examples.T0),
                           **kwargs)


def _deposit(service: WorkflowService, n: int) -> sw.Dossier:
    return service.start(examples.deposer_avance(fournisseur(n))).dossier


def test_without_a_team_new_dossiers_are_unassigned() -> None:
    assert _deposit(_service(), 1).gestionnaire is None


def test_the_default_policy_spreads_the_deposits_over_the_team() -> None:
    service = _service(gestionnaires=["c.martin", "a.durand", "b.leroy"])
    hands = [_deposit(service, n).gestionnaire for n in range(1, 7)]
    assert hands == ["c.martin", "a.durand", "b.leroy"] * 2
    assert service.get("FINSAS000001").dossier.history[0].details["gestionnaire"] == "c.martin"


def test_the_least_loaded_gestionnaire_gets_the_next_dossier(tmp_path: Path) -> None:
    with SQLiteRepository(tmp_path / "desk.sqlite3") as repo:
        service = _service(repo, gestionnaires=["c.martin", "a.durand"])
        first = _deposit(service, 1)
        second = _deposit(service, 2)
        assert (first.gestionnaire, second.gestionnaire) == ("c.martin", "a.durand")
        # c.martin's dossier is rejected (final): c.martin is now the least loaded
        service.handle(first.numero, sw.Rejeter(G, "Pièces non conformes."))
        assert _deposit(service, 3).gestionnaire == "c.martin"
        assert repo.workload(["c.martin", "a.durand"]) == {"c.martin": 1, "a.durand": 1}


def test_a_host_policy_decides_and_is_checked() -> None:
    seen: list[str] = []

    def by_provider(command: sw.DeposerAvance, _repo: object) -> str | None:
        seen.append(command.fournisseur.ans_id)
        return "equipe.nord" if command.fournisseur.ans_id.endswith("1") else None

    service = _service(assignment=by_provider)
    assert _deposit(service, 1).gestionnaire == "equipe.nord"
    assert _deposit(service, 2).gestionnaire is None
    assert seen == ["tndSAS0001", "tndSAS0002"]
    broken = _service(assignment=lambda _c, _r: 42)
    with pytest.raises(sw.InvalidInput):
        _deposit(broken, 1)
    assert broken.repository.search() == []
    with pytest.raises(sw.InvalidInput):
        _service(assignment=by_provider, gestionnaires=["x"])
    with pytest.raises(sw.InvalidInput):
        _service(gestionnaires="c.martin")
    with pytest.raises(sw.InvalidInput):
        LeastLoaded(["ok", ""])


def test_reserved_instruction_through_the_service() -> None:
    corridor = attrs.evolve(sw.SAS, instruction_reservee=True)
    service = _service(gestionnaires=["c.martin"], corridor=corridor)
    d = _deposit(service, 1)
    with pytest.raises(sw.PermissionDenied):
        service.handle(d.numero, sw.Rejeter(G, "motif"))
    assert service.get(d.numero).version == 1
    mine = sw.Actor(sw.Role.GESTIONNAIRE, "c.martin")
    assert service.handle(d.numero, sw.Rejeter(mine, "motif")).dossier.status is sw.Status.AVANCE_REJETEE


# -- bulk instruction ---------------------------------------------------------------------------------------------
def test_bulk_gives_one_result_per_dossier_each_in_its_own_transaction() -> None:
    service = _service()
    numeros = [_deposit(service, n).numero for n in (1, 2, 3)]
    service.handle(numeros[1], sw.Rejeter(G, "Pièces non conformes."))
    command = sw.ControlerBloc(G, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.OK)
    results = service.handle_many([*numeros, "FINSAS000404", numeros[0]], command)
    assert [r.numero for r in results] == [*numeros, "FINSAS000404"]
    assert [r.accepted for r in results] == [True, False, True, False]
    assert isinstance(results[1].error, sw.TransitionNotAllowed)
    assert isinstance(results[3].error, sw.DossierNotFound)
    assert results[0].result is not None and results[0].result.version == 2
    assert service.get(numeros[1]).version == 2  # the refused one is unchanged (rejected, then nothing)
    pieces = sw.Bloc.PIECES_JUSTIFICATIVES
    assert service.get(numeros[2]).dossier.avance.controles[pieces] is sw.Controle.OK


def test_a_bulk_with_a_command_id_is_replayed_not_applied_twice() -> None:
    service = _service()
    numeros = [_deposit(service, n).numero for n in (1, 2)]
    command = sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK, command_id="lot-42")
    first = service.handle_many(numeros, command)
    again = service.handle_many(numeros, command)
    assert all(r.accepted for r in first + again)
    assert [r.result.replayed for r in again if r.result] == [True, True]
    assert [service.get(n).version for n in numeros] == [2, 2]
    assert service.get(numeros[0]).dossier.history[-1].command_id == "lot-42.FINSAS000001"
    with pytest.raises(sw.InvalidInput):
        service.handle_many("FINSAS000001", command)
    with pytest.raises(sw.InvalidInput):
        service.handle_many(numeros, examples.deposer_avance())


# -- SQL specifics ----------------------------------------------------------------------------------------------------
def test_sqlite_search_reads_the_summary_columns_not_the_dossier(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    with SQLiteRepository(path) as repo:
        d, _ = make_dossier(1, sw.Status.SOLDE_A_MODIFIER, gestionnaire="c.martin")
        repo.add(d, outbox=())
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE dossiers SET data = 'illisible'")
    with SQLiteRepository(path) as repo:
        assert repo.search(status="solde_a_modifier") == [sw.DossierSummary.of(d, 1)]
    # (which index serves which filter: tests/test_desk_query_plans.py)


def test_an_unfilled_worklist_row_is_refused_by_search_not_shown_wrong(tmp_path: Path) -> None:
    # A database written before the worklist columns gets them empty when opened for writing: search
    # must say so with a WorkflowError (migrate fills them), never show a row without dates or crash.
    path = tmp_path / "desk.sqlite3"
    with SQLiteRepository(path) as repo:
        d, _ = make_dossier(1, sw.Status.SOLDE_A_MODIFIER, gestionnaire="c.martin")
        repo.add(d, outbox=())
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE dossiers SET date_depot = NULL")
    raw.close()
    with SQLiteRepository(path) as repo, pytest.raises(sw.SerializationError) as refused:
        repo.search()
    assert "migrate" in refused.value.message and refused.value.field == f"dossiers.{d.numero}"


def test_a_read_only_sqlite_repository_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "desk.sqlite3"
    d, _ = make_dossier(1)
    with SQLiteRepository(path) as repo:
        repo.add(d, outbox=())
    before = path.read_bytes()
    with SQLiteRepository(path, read_only=True) as repo:
        assert repo.get(d.numero).dossier == d
        later = attrs.evolve(d, date_changement_statut=d.date_changement_statut + timedelta(days=1))
        with pytest.raises(sw.StorageError) as refused:
            repo.save(later, expected_version=1, outbox=())
        assert "lecture seule" in refused.value.message
    assert path.read_bytes() == before
    stranger = tmp_path / "autre.sqlite3"
    with sqlite3.connect(stranger) as raw:
        raw.execute("CREATE TABLE notes (x)")
    size = stranger.stat().st_size
    for bad in (stranger, tmp_path / "texte.txt"):
        if not bad.exists():
            bad.write_text("pas une base\n" * 100)
        with pytest.raises(sw.InvalidInput):
            SQLiteRepository(bad, read_only=True)
    assert stranger.stat().st_size == size
    with sqlite3.connect(stranger) as raw:
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["notes"]


def _edit_row(factory: Any, statement: str) -> None:
    """``statement`` run on the repository's database behind its back (as a host operator could)."""
    if "schema" in factory.keywords:
        import psycopg

        with psycopg.connect(factory.args[0], autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{factory.keywords["schema"]}"')
            conn.execute(statement)
    else:
        with sqlite3.connect(factory.args[0]) as raw:
            raw.execute(statement)
        raw.close()


@pytest.mark.parametrize(("column", "value"), [("gestionnaire", "'x.intrus'"), ("raison_sociale", "'AUTRE SAS'"),
                                               ("status", "'solde_decidee'"), ("status", "'inconnu'")])
def test_verify_reports_a_worklist_column_the_sealed_dossier_contradicts(factory: Any, column: str, value: str) -> None:
    # search reads only the worklist columns: an edited one would lie in every worklist, so verify names it
    with factory() as repo:
        d, _ = make_dossier(1, sw.Status.SOLDE_A_MODIFIER, gestionnaire="c.martin")
        repo.add(d, outbox=())
        assert list(repo.verify()) == []
    _edit_row(factory, f"UPDATE dossiers SET {column} = {value}")
    with factory() as repo:
        problems = list(repo.verify())
        assert [p.numero for p in problems] == [d.numero]
        assert problems[0].where.startswith(f"dossiers.{d.numero}.status" if value == "'inconnu'"
                                            else f"dossiers.{column}")
        assert repo.get(d.numero).dossier == d  # the sealed dossier itself is intact


# -- the back-fill of the worklist columns (fill_summaries, reached by `segur-workflow migrate`) -----------------------
_TEAM = [(1, sw.Status.AVANCE_EN_INSTRUCTION, "c.martin"), (2, sw.Status.SOLDE_A_MODIFIER, None),
         (3, sw.Status.SOLDE_DECIDEE, "a.durand")]


def _stored_team(repo: Any) -> list[sw.DossierSummary]:
    """The three dossiers of ``_TEAM`` stored, the first one saved once more; their summaries as sealed."""
    for n, status, who in _TEAM:
        d, emails = make_dossier(n, status, gestionnaire=who)
        repo.add(d, outbox=emails)
    later, more = step(repo.get("FINSAS000001").dossier)
    repo.save(later, expected_version=1, outbox=more)
    return [sw.DossierSummary.of(repo.get(n).dossier, repo.get(n).version)
            for n in ("FINSAS000001", "FINSAS000002", "FINSAS000003")]


def test_fill_summaries_re_derives_edited_columns_from_the_sealed_dossier(factory: Any) -> None:
    with factory() as repo:
        expected = _stored_team(repo)
        assert repo.fill_summaries() == 0  # all right already: nothing written
    _edit_row(factory, "UPDATE dossiers SET gestionnaire = 'x.intrus', siret = '00000000000000',"
                       " status = 'avance_rejetee' WHERE numero = 'FINSAS000002'")
    _edit_row(factory, "UPDATE dossiers SET raison_sociale = 'AUTRE SAS' WHERE numero = 'FINSAS000003'")
    with factory() as repo:
        assert [s.numero for s in repo.search(gestionnaire="x.intrus")] == ["FINSAS000002"]  # the lie, listed
        lines: list[str] = []
        assert repo.fill_summaries(log=lines.append, page=2) == 2  # pages of 2: the keyset goes on past one
        assert lines == [
            "FINSAS000002 : colonnes de liste de travail recalculées depuis le dossier scellé "
            "(status, siret, gestionnaire)",
            "FINSAS000003 : colonnes de liste de travail recalculées depuis le dossier scellé (raison_sociale)"]
        assert repo.search() == expected
        assert repo.search(gestionnaire="x.intrus") == []
        assert list(repo.verify()) == []
        assert repo.fill_summaries() == 0  # idempotent
        assert [repo.get(s.numero).version for s in expected] == [2, 1, 1]  # the dossiers themselves untouched


def test_fill_summaries_refuses_a_dossier_that_does_not_verify(factory: Any) -> None:
    with factory() as repo:
        _stored_team(repo)
    _edit_row(factory, "UPDATE dossiers SET gestionnaire = 'x.intrus'")
    _edit_row(factory, "UPDATE dossiers SET head = 'ff' WHERE numero = 'FINSAS000002'")
    with factory() as repo:
        with pytest.raises(sw.DossierAltere) as refused:
            repo.fill_summaries()
        assert refused.value.numero == "FINSAS000002"
        # the row before it was re-derived (its own transaction), the altered one and those after left alone
        gestionnaires = {s.numero: s.gestionnaire for s in repo.search()}
        assert gestionnaires == {"FINSAS000001": "c.martin", "FINSAS000002": "x.intrus", "FINSAS000003": "x.intrus"}


def test_an_unreadable_worklist_date_is_refused_reported_and_re_derived(sqlite_factory: Any) -> None:
    # SQLite keeps dates as text: one edited into something else must be a WorkflowError, not a ValueError
    with sqlite_factory() as repo:
        expected = _stored_team(repo)
    _edit_row(sqlite_factory, "UPDATE dossiers SET date_depot = 'hier' WHERE numero = 'FINSAS000002'")
    _edit_row(sqlite_factory, "UPDATE dossiers SET date_changement_statut = '2026-12-01 10:00' WHERE numero = "
                              "'FINSAS000003'")
    with sqlite_factory() as repo:
        for numero in ("FINSAS000002", "FINSAS000003"):
            with pytest.raises(sw.SerializationError, match="date illisible") as refused:
                repo.search(after=f"FINSAS00000{int(numero[-1]) - 1}", limit=1)
            assert refused.value.field == f"dossiers.{numero}"
        assert [p.numero for p in repo.verify()] == ["FINSAS000002", "FINSAS000003"]
        assert repo.fill_summaries() == 2
        assert repo.search() == expected


def _without_worklist_columns(path: Path) -> None:
    """``dossiers`` as a release before the worklist columns wrote it (same sealed layout otherwise)."""
    from segur_workflow.adapters._sql import SUMMARY_COLUMNS, SUMMARY_INDEXES, schema_objects

    with sqlite3.connect(path) as raw:
        for index in schema_objects(SUMMARY_INDEXES):
            raw.execute(f"DROP INDEX {index}")
        for column in SUMMARY_COLUMNS:
            raw.execute(f"ALTER TABLE dossiers DROP COLUMN {column}")
    raw.close()


def test_migrate_back_fills_a_current_layout_written_before_the_worklist_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    path = tmp_path / "avant.sqlite3"
    with SQLiteRepository(path) as repo:
        expected = _stored_team(repo)
    _without_worklist_columns(path)
    before = path.read_bytes()
    # the reading commands refuse it, say what to do, and write nothing into it
    code, out, err = run("list", "--db", str(path))
    assert (code, out) == (2, "") and "segur-workflow migrate" in err
    code, out, _ = run("verify", "--db", str(path))
    assert code == 1 and "segur-workflow migrate" in out
    assert path.read_bytes() == before
    code, out, _ = run("migrate", "--db", str(path))
    assert code == 0
    assert out.count("recalculées depuis le dossier scellé") == 3 and "3 ligne(s) de liste de travail" in out
    with SQLiteRepository(path, read_only=True) as repo:
        assert repo.search() == expected
        assert repo.search(gestionnaire="c.martin") == expected[:1]
    assert run("verify", "--db", str(path))[0] == 0
    code, out, _ = run("migrate", "--db", str(path))  # once is enough
    assert code == 0 and "rien à migrer" in out


@pytest.mark.postgres
def test_migrate_and_list_on_a_postgresql_uri(postgres_factory: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # a postgresql:// URI (not only a key=value conninfo) names the server: the CLI must not take it for a path
    import urllib.parse

    from psycopg.conninfo import conninfo_to_dict

    with postgres_factory() as repo:
        expected = _stored_team(repo)
    _edit_row(postgres_factory, "UPDATE dossiers SET gestionnaire = 'x.intrus' WHERE numero = 'FINSAS000003'")
    params = {k: str(v) for k, v in conninfo_to_dict(postgres_factory.args[0]).items() if k != "dbname"}
    params["options"] = f"-csearch_path={postgres_factory.keywords['schema']}"
    uri = f"postgresql:///{conninfo_to_dict(postgres_factory.args[0])['dbname']}?{urllib.parse.urlencode(params)}"

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("verify", "--db", uri)
    assert code == 1 and "dossiers.gestionnaire" in out
    code, out, _ = run("migrate", "--db", uri)
    assert code == 0 and "FINSAS000003 : colonnes de liste de travail recalculées" in out
    code, out, err = run("list", "--db", uri, "--gestionnaire", "a.durand")
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:]] == [expected[2].numero]
    code, out, err = run("show", expected[2].numero, "--db", uri)  # the consultation screen reads the server too
    assert code == 0, err
    assert expected[2].numero in out
