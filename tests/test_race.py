"""Several OS processes on one dossier: optimistic concurrency and the outbox hold under a real race.

Each test spawns 4 interpreters (``spawn``, as on every platform) that wait on a barrier and then
load → decide → save on the same dossier. Bounded: a few dozen saves per test.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from segur_workflow import Status
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.testing.contract import (
    RepositoryFactory,
    check_race,
    crash_between_state_and_outbox,
    make_dossier,
    postgres_dsn,
    run_race,
    run_service_race,
    step,
)

WORKERS = 4


@pytest.fixture
def sqlite_factory(tmp_path: Path) -> RepositoryFactory:
    return functools.partial(SQLiteRepository, tmp_path / "race.sqlite3")


@pytest.fixture
def postgres_factory() -> Iterator[RepositoryFactory]:
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    dsn = postgres_dsn()
    schema = f"race_{uuid.uuid4().hex[:12]}"
    yield functools.partial(PostgresRepository, dsn, schema=schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest) -> RepositoryFactory:
    """Each SQL adapter in turn: the same race, replay and crash checks hold for both."""
    chosen: RepositoryFactory = request.getfixturevalue(f"{request.param}_factory")
    return chosen


@pytest.mark.slow
def test_race(factory: RepositoryFactory) -> None:
    report = run_race(factory, workers=WORKERS, rounds=10)
    check_race(factory(), report)
    # All four processes took part and the race was real (some saves lost).
    assert len(report.wins) >= 1
    assert report.attempts == WORKERS * 10


@pytest.mark.slow
def test_service_retries_until_every_command_lands(factory: RepositoryFactory) -> None:
    report = run_service_race(factory, workers=WORKERS, rounds=6)
    assert not report.losses
    check_race(factory(), report, emails_per_win=0)


def test_process_killed_between_state_and_outbox(factory: RepositoryFactory) -> None:
    code = crash_between_state_and_outbox(factory)
    assert code == 17
    repository = factory()
    stored = repository.get("FINSAS000001")
    expected, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    assert (stored.dossier, stored.version) == (expected, 1)
    assert repository.pending_emails() == []
    assert repository.find_command("crash") is None


class _Boom(RuntimeError):
    pass


def _raise(_numero: str) -> None:
    raise _Boom


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_exception_between_state_and_outbox_leaves_neither(kind: str, tmp_path: Path,
                                                           request: pytest.FixtureRequest) -> None:
    repository: InMemoryRepository | SQLiteRepository
    if kind == "memory":
        repository = InMemoryRepository()
    elif kind == "sqlite":
        repository = SQLiteRepository(tmp_path / "crash.sqlite3")
    else:
        repository = request.getfixturevalue("postgres_factory")()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    repository._after_state_written = _raise  # type: ignore[method-assign,assignment]
    changed, emails = step(dossier, command_id="boom")
    assert emails
    with pytest.raises(_Boom):
        repository.save(changed, expected_version=1, outbox=emails)
    other, other_emails = make_dossier(2)
    with pytest.raises(_Boom):
        repository.add(other, outbox=other_emails)
    stored = repository.get(dossier.numero)
    assert (stored.dossier, stored.version) == (dossier, 1)
    assert repository.pending_emails() == []
    assert repository.find_command("boom") is None
    assert repository.find_by_provider(other.fournisseur.ans_id) is None
