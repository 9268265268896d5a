"""Numbering under load, and PostgreSQL as several hosts use it: pool, restart, timeouts, driver errors.

* 12 processes × 30 deposits through the service at its default attempts: no failure, numbers 1…360
  without a gap, on SQLite and on the PostgreSQL test server;
* the last-number look-up is a range on the primary key (PostgreSQL's plan says so);
* a private PostgreSQL cluster is restarted in the middle of a run: the same repository object goes on;
* one repository shared by threads uses several connections; a statement timeout cancels a slow one;
* nothing a caller passes lets a driver exception out.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.ports import CommandRecord
from segur_workflow.service import WorkflowService
from segur_workflow.testing.contract import fournisseur, make_dossier, postgres_dsn, step

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, DEPOSITS = 12, 30
Factory = Callable[[], Any]


def _depositor(factory: Factory, worker: int, barrier: Any, queue: Any) -> None:
    service = WorkflowService(factory())  # the default max_attempts
    failures: list[str] = []
    numbers: list[str] = []
    barrier.wait(timeout=60)
    for i in range(DEPOSITS):
        command = examples.deposer_avance(fournisseur(worker * 1000 + i + 1), command_id=f"d-{worker}-{i}")
        try:
            numbers.append(service.start(command).numero)
        except sw.WorkflowError as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    queue.put((numbers, failures))


@pytest.mark.slow
def test_twelve_processes_deposit_without_failure_or_gap(factory: Factory) -> None:
    factory().close()  # the tables, before the race
    ctx: Any = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier, queue = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_depositor, args=(factory, w, barrier, queue)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failures = [f for _, fs in results for f in fs]
    numbers = sorted(n for ns, _ in results for n in ns)
    assert failures == []
    assert numbers == [f"FINSAS{n:06d}" for n in range(1, PROCESSES * DEPOSITS + 1)]


def test_a_refused_deposit_takes_no_number(factory: Factory) -> None:
    service = WorkflowService(factory())
    assert service.start(examples.deposer_avance(fournisseur(1))).numero == "FINSAS000001"
    with pytest.raises(sw.DuplicateFinancingRequest):
        service.start(examples.deposer_avance(fournisseur(1)))
    bad = examples.deposer_avance(fournisseur(2))
    with pytest.raises(sw.RuleViolations):
        service.start(sw.DeposerAvance(bad.actor, bad.fournisseur, bad.coordonnees_bancaires, {}, bad.montant))
    assert service.start(examples.deposer_avance(fournisseur(3))).numero == "FINSAS000002"


def test_numbering_continues_after_dossiers_added_without_the_counter(factory: Factory) -> None:
    repository = factory()
    for n in (4, 9):
        dossier, emails = make_dossier(n)
        repository.add(dossier, outbox=emails)
    assert WorkflowService(repository).start(examples.deposer_avance(fournisseur(50))).numero == "FINSAS000010"


def test_the_last_number_ignores_other_prefixes() -> None:
    repository = InMemoryRepository()
    for n in (3, 12):
        dossier, emails = make_dossier(n)
        repository.add(dossier, outbox=emails)
    assert repository.last_numero("FINSAS") == "FINSAS000012"
    assert repository.last_numero("FINXYZ") is None


@pytest.mark.postgres
def test_the_last_number_lookup_is_a_range_on_the_key(postgres_factory: Factory) -> None:
    repository = postgres_factory()
    dossier, emails = make_dossier(1)
    repository.add(dossier, outbox=emails)
    with repository._pool.connection() as conn:
        conn.execute("SET enable_seqscan = off")  # on a tiny table the planner would scan anyway
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT numero FROM dossiers WHERE numero >= %s AND numero <= %s ORDER BY numero DESC LIMIT 1",
            ("FINSAS000000", "FINSAS999999")).fetchall())
    assert "Index" in plan and "dossier_numero_unique" in plan
    assert repository.last_numero("FINSAS") == "FINSAS000001"


# -- PostgreSQL for several hosts ----------------------------------------------------------------------------------
@pytest.mark.postgres
def test_threads_share_one_repository_through_the_pool(postgres_factory: Factory) -> None:
    repository = postgres_factory.func(*postgres_factory.args, schema=postgres_factory.keywords["schema"],  # type: ignore[attr-defined]
                                       pool_size=4)
    dossier, emails = make_dossier(1)
    repository.add(dossier, outbox=emails)
    errors: list[BaseException] = []
    seen: set[int] = set()
    # The pool opens connections on demand (min_size=1): threads that happen not to overlap (a loaded
    # machine runs them one after the other) would all be served by one. The barrier makes the four hold
    # a connection at the same time, so the pool must give four, while the repository keeps being used.
    together = threading.Barrier(4, timeout=30)

    def reader() -> None:
        try:
            repository.get(dossier.numero)
            with repository._pool.connection() as conn:
                seen.add(id(conn))
                together.wait()
            for _ in range(25):
                repository.get(dossier.numero)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(seen) == 4  # four connections at once: not one connection under one lock
    repository.close()


@pytest.mark.postgres
def test_the_statement_timeout_applies_to_every_pooled_connection(postgres_factory: Factory) -> None:
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    postgres_factory().close()
    repository = PostgresRepository(postgres_dsn(), schema=postgres_factory.keywords["schema"],  # type: ignore[attr-defined]
                                    statement_timeout=0.2)
    with repository._pool.connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("200ms",)
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(2)")
    # what the repository's methods raise for it: StorageUnavailable, retryable
    assert issubclass(psycopg.errors.QueryCanceled, psycopg.OperationalError)
    assert repository._storage_error("get", psycopg.errors.QueryCanceled("x")).retryable  # type: ignore[union-attr]
    with pytest.raises(sw.InvalidInput):
        PostgresRepository(postgres_dsn(), statement_timeout=-1)
    repository.close()


@pytest.mark.postgres
def test_a_save_chosen_as_deadlock_victim_is_a_concurrency_conflict(postgres_factory: Factory) -> None:
    """The server breaks a lock cycle by rolling one transaction back: for a save, nothing was written, and the
    caller gets ``ConcurrencyConflict`` (which the service retries), never the driver's DeadlockDetected."""
    import time

    import psycopg

    repository = postgres_factory()
    dossier, emails = make_dossier(1)
    repository.add(dossier, outbox=emails)
    changed, more = step(dossier, command_id="cycle")
    other = psycopg.connect(postgres_factory.args[0])  # type: ignore[attr-defined]
    other.execute(f'SET search_path TO "{postgres_factory.keywords["schema"]}"')  # type: ignore[attr-defined]
    other.execute("SET deadlock_timeout = '30s'")  # the save's check runs first: the save is the victim
    # The other transaction holds the command id the save will insert last…
    other.execute("INSERT INTO commands (command_id, numero, trigger, version, actor_role, actor_id, subject,"
                  " digest) VALUES ('cycle', %s, 'x', 1, 'x', 'x', 'x', 'x')", (dossier.numero,))
    outcome: list[BaseException | int] = []

    def save() -> None:
        try:
            outcome.append(repository.save(changed, expected_version=1, outbox=more,
                                           command=CommandRecord("cycle", changed.history[-1].trigger, "gestionnaire",
                                                                 "g", dossier.numero, "d")))
        except BaseException as exc:  # looked at below
            outcome.append(exc)

    saver = threading.Thread(target=save)
    saver.start()
    with psycopg.connect(postgres_factory.args[0], autocommit=True) as watcher:  # type: ignore[attr-defined]
        while watcher.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone() == (0,):
            time.sleep(0.01)  # waiting for the save to wait, not a timed assertion
    # …and now wants the dossier row the save holds: a cycle.
    other.execute("UPDATE dossiers SET status = status WHERE numero = %s", (dossier.numero,))
    saver.join()
    other.rollback()
    other.close()
    assert len(outcome) == 1 and isinstance(outcome[0], sw.ConcurrencyConflict), outcome
    stored = repository.get(dossier.numero)
    assert (stored.dossier, stored.version) == (dossier, 1)
    assert repository.find_command("cycle") is None
    assert repository.save(changed, expected_version=1, outbox=more) == 2


@pytest.fixture
def private_cluster(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A PostgreSQL cluster of this test alone (the shared one serves other tests meanwhile)."""
    postgres_dsn()  # skipped (or failed under CI) like every PostgreSQL test when there is no server
    script = ROOT / "scripts" / "postgres-test-server.sh"
    if not script.is_file() or shutil.which("bash") is None:
        pytest.skip("scripts/postgres-test-server.sh absent (tests run outside the repository)")
    env = {**os.environ, "SEGUR_PG_STATE": str(tmp_path / "pgstate")}
    out = subprocess.run(["bash", str(script), "start"], env=env, capture_output=True, text=True, check=True,
                         timeout=180).stdout
    dsn = out.strip().split("=", 1)[1].strip("'")

    def restart() -> None:
        subprocess.run(["bash", str(script), "restart"], env=env, check=True, timeout=180, capture_output=True)

    yield dsn, restart
    subprocess.run(["bash", str(script), "stop"], env=env, check=False, timeout=180, capture_output=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_the_same_repository_goes_on_after_a_server_restart(private_cluster: tuple[str, Callable[[], None]]) -> None:
    from segur_workflow.adapters.postgres import PostgresRepository

    dsn, restart = private_cluster
    repository = PostgresRepository(dsn, pool_size=3, connect_timeout=5)
    service = WorkflowService(repository)
    numero = service.start(examples.deposer_avance(fournisseur(1))).numero
    done = 0
    for bloc in sw.Bloc:
        service.handle(numero, sw.ControlerBloc(examples.GESTIONNAIRE, bloc, sw.Controle.KO))
        done += 1
    restart()  # every pooled connection is now broken
    failures = 0
    for i in range(30):
        try:
            service.handle(numero, sw.ControlerBloc(examples.GESTIONNAIRE, list(sw.Bloc)[i % 3], sw.Controle.OK))
            done += 1
        except sw.StorageUnavailable:
            failures += 1
    assert failures == 0
    assert repository.get(numero).version == 1 + done
    repository.close()


@pytest.fixture
def lone_connection(postgres_factory: Factory) -> Iterator[Any]:
    """A repository of the test server holding a single pooled connection (its backend is known)."""
    from segur_workflow.adapters.postgres import PostgresRepository

    dsn, schema = postgres_factory.args[0], postgres_factory.keywords["schema"]  # type: ignore[attr-defined]
    repository = PostgresRepository(dsn, schema=schema, pool_size=1)
    yield repository
    repository.close()


def _count_full_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The backends for which the pool's check made its round trip (``check_connection``)."""
    import psycopg_pool

    checked: list[int] = []
    real = psycopg_pool.ConnectionPool.check_connection

    def counting(conn: Any) -> None:
        checked.append(conn.info.backend_pid)
        real(conn)

    monkeypatch.setattr(psycopg_pool.ConnectionPool, "check_connection", staticmethod(counting))
    return checked


def _backend_of(repository: Any) -> int:
    with repository._reading() as cur:
        return int(cur.execute("SELECT pg_backend_pid()").fetchone()[0])


@pytest.mark.postgres
def test_a_session_ended_by_the_server_is_replaced_and_a_healthy_one_costs_no_round_trip(
        lone_connection: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    repository = lone_connection
    dossier, emails = make_dossier(1)
    repository.add(dossier, outbox=emails)
    before = _backend_of(repository)
    checked = _count_full_checks(monkeypatch)
    for _ in range(3):
        repository.get(dossier.numero)
    assert checked == []  # idle, nothing to read on its socket: given out without asking the server
    with psycopg.connect(postgres_dsn(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (before,)).fetchone() == (True,)
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (before,)).fetchone() != (0,):
            time.sleep(0.01)  # the backend has sent its FATAL message and closed the socket once it is gone
    assert repository.get(dossier.numero).version == 1  # no StorageUnavailable: found before use, replaced
    assert checked == [before]  # the full check ran for the ended session only
    assert _backend_of(repository) != before


@pytest.mark.postgres
def test_a_read_and_a_save_are_one_statement_each_and_the_save_writes_everything_in_order(
        lone_connection: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    repository = lone_connection
    service = WorkflowService(repository)
    numero = service.start(examples.deposer_avance(fournisseur(1))).numero
    for bloc in sw.Bloc:
        service.handle(numero, sw.ControlerBloc(examples.GESTIONNAIRE, bloc, sw.Controle.OK))
    checked = _count_full_checks(monkeypatch)
    sent: list[str] = []
    real = psycopg.Cursor.execute

    def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    stored = repository.get(numero)
    assert len(sent) == 1
    # A decision reads the deposit entry, below the head: one more statement, not the save's.
    outcome = sw.handle(stored.dossier, sw.Decider(examples.GESTIONNAIRE, command_id="decision"),
                        now=stored.dossier.history[-1].at + timedelta(hours=1))
    assert len(outcome.events) >= 2 and outcome.emails  # several rows of each kind: their order is checked
    sent.clear()
    assert repository.save(outcome.dossier, expected_version=stored.version, outbox=outcome.emails,
                           events=outcome.events) == stored.version + 1
    assert (len(sent), checked) == (1, [])
    monkeypatch.undo()
    applied = repository.find_command("decision")
    assert applied is not None
    assert (applied.version, applied.emails, applied.events) == (stored.version + 1, outcome.emails, outcome.events)
    # The same save again is stale: refused, and nothing of it written (no second e-mail, event or record).
    with pytest.raises(sw.ConcurrencyConflict):
        repository.save(outcome.dossier, expected_version=stored.version, outbox=outcome.emails,
                        events=outcome.events)
    assert [e.version for e in repository.pending_emails(limit=1000)].count(stored.version + 1) == len(outcome.emails)
    assert repository.get(numero).dossier == outcome.dossier


# -- driver errors never escape ----------------------------------------------------------------------------------------
@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryRepository()
    elif request.param == "sqlite":
        with SQLiteRepository(tmp_path / "e.sqlite3") as repo:
            yield repo
    else:
        factory = request.getfixturevalue("postgres_factory")
        repo = factory()
        yield repo
        repo.close()


@pytest.mark.parametrize("numero", ["FINSAS\x00001", "\ud800", 12, None, "x" * 100_000])
def test_hostile_keys_are_workflow_errors(any_repository: Any, numero: object) -> None:
    with pytest.raises(sw.WorkflowError):
        any_repository.get(numero)
    for lookup in (any_repository.find_by_provider, any_repository.find_command, any_repository.last_numero):
        with contextlib.suppress(sw.WorkflowError):  # a clean refusal or an answer: never a driver error
            lookup(numero)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30, True, 1.5, "3"])
def test_out_of_range_integers_are_refused(any_repository: Any, value: object) -> None:
    dossier, emails = make_dossier(1)
    any_repository.add(dossier, outbox=emails)
    with pytest.raises(sw.InvalidInput):
        any_repository.save(dossier, expected_version=value, outbox=())
    with pytest.raises(sw.InvalidInput):
        any_repository.pending_emails(limit=value)
    any_repository.mark_sent(value)  # an id that cannot exist: ignored
    with pytest.raises(sw.InvalidInput):
        any_repository.claim("w", now=datetime.now(UTC), lease=timedelta(seconds=1), limit=value)
    assert any_repository.get(dossier.numero).version == 1


def test_a_closed_sqlite_repository_raises_a_storage_error(tmp_path: Path) -> None:
    repository = SQLiteRepository(tmp_path / "closed.sqlite3")
    repository.close()
    with pytest.raises(sw.StorageError):
        repository.get("FINSAS000001")
    with pytest.raises(sw.StorageError):
        repository.pending_emails()
