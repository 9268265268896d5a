"""Several OS processes on one dossier: optimistic concurrency and the outbox hold under a real race.

Each test spawns 4 interpreters (``spawn``, as on every platform) that wait on a barrier and then
load → decide → save on the same dossier. Bounded: a few dozen saves per test.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from segur_workflow import Status, WorkflowError, examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.service import WorkflowService
from segur_workflow.testing.contract import (
    RepositoryFactory,
    check_race,
    crash_between_state_and_outbox,
    fournisseur,
    make_dossier,
    run_race,
    run_service_race,
    step,
)

WORKERS = 4


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


# -- hosts starting while others write (PostgreSQL: DeadlockDetected, fixed) -----------------------------------------
LIVES = 3


def _living(factory: RepositoryFactory, worker: int, stop: Any, queue: Any) -> None:
    """Whole dossier lives through the service (deposit, decision, balance, decision): events and e-mails."""
    service = WorkflowService(factory())  # the default max_attempts
    lives: list[tuple[str, str]] = []
    failures: list[str] = []
    for life in range(LIVES):
        try:
            result = service.start(examples.deposer_avance(fournisseur(100 * (worker + 1) + life)))
            dossier = result.dossier
            for trigger in examples.PATHS[Status.SOLDE_DECIDEE]:
                for command in examples.commands_to_fire(dossier, trigger):
                    dossier = service.handle(result.numero, command).dossier
            lives.append((result.numero, dossier.status.value))
        except WorkflowError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    queue.put(("writer", lives, failures))


def _opening(factory: RepositoryFactory, drop: str | None, stop: Any, queue: Any) -> None:
    """New repositories opened on the same tables until the writers are done (a host starting, again and again).

    ``drop``: a PostgreSQL DSN; every other opening finds an index missing first, so the layout
    creation (which locks the tables) runs under the writers too.
    """
    opened = 0
    failures: list[str] = []
    schema = getattr(factory, "keywords", {}).get("schema")
    while not stop.is_set() or opened < 2:
        try:
            if drop is not None and opened % 2:
                import psycopg

                with psycopg.connect(drop, autocommit=True) as conn:
                    conn.execute(f'DROP INDEX IF EXISTS "{schema}".outbox_dead')
            factory().close()  # type: ignore[attr-defined]
            opened += 1
        except Exception as exc:  # reported by the parent
            failures.append(f"{type(exc).__name__}: {exc}")
            break
    queue.put(("opener", opened, failures))


@pytest.mark.slow
def test_writers_go_on_while_other_hosts_open_the_repository(factory: RepositoryFactory) -> None:
    """Hosts opening the repository (and so checking or creating the tables) while three others write whole lives:
    every life lands, with no lock cycle (``DeadlockDetected``) and no driver error."""
    factory().close()  # type: ignore[attr-defined]
    drop = factory.args[0] if "schema" in getattr(factory, "keywords", {}) else None  # type: ignore[attr-defined]
    ctx = multiprocessing.get_context("spawn")
    stop, queue = ctx.Event(), ctx.Queue()
    writers = [ctx.Process(target=_living, args=(factory, w, stop, queue)) for w in range(3)]
    opener = ctx.Process(target=_opening, args=(factory, drop, stop, queue))
    for p in (*writers, opener):
        p.start()
    results = []
    try:
        for _ in writers:
            results.append(queue.get(timeout=300))
        stop.set()
        results.append(queue.get(timeout=120))
    finally:
        stop.set()
        for p in (*writers, opener):
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    failures = [f for _, _, fs in results for f in fs]
    assert failures == []
    lives = [life for kind, ls, _ in results if kind == "writer" for life in ls]
    assert sorted(status for _, status in lives) == [Status.SOLDE_DECIDEE.value] * (3 * LIVES)
    assert sorted(numero for numero, _ in lives) == [f"FINSAS{n:06d}" for n in range(1, 3 * LIVES + 1)]
    assert next(opened for kind, opened, _ in results if kind == "opener") >= 2
