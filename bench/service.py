"""What a host pays: ``WorkflowService`` and the repositories on SQLite and on a durable PostgreSQL.

Everything here waits on a disk or a server, so it is timed on the wall clock, and every ratio is
taken between contenders run in the same interleaved rounds. The floors:

* **physical**: one ``fsync`` of a 4 KiB write, one durable commit of a one-row INSERT (raw
  ``sqlite3`` at ``synchronous=FULL`` / raw ``psycopg`` on the durable cluster): no stored command
  can cost less than its commit;
* **raw driver, same statements**: one life of the service is recorded as the exact statements its
  repository sent (SQLite's own trace of the expanded SQL; psycopg's cursor calls and transaction
  blocks), then replayed with a plain connection, the numero and provider made distinct: the same
  reads and writes, in the same transactions, without the library's Python work;
* **raw snapshot write**: issue 11's floor for get + save, a raw UPDATE of the same snapshot row
  (preceded by its read on PostgreSQL).

The PostgreSQL cluster is started by the runner (``scripts/postgres-test-server.sh start --durable``:
fsync, synchronous commit and full-page writes on) and its DSN given in ``SEGUR_BENCH_PG_DSN``.
"""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing as mp
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from segur_workflow import Bloc, Controle, ControlerBloc, Dossier, Role, Status, examples, handle, start
from segur_workflow.commands import Command, DeposerAvance
from segur_workflow.examples import GESTIONNAIRE
from segur_workflow.model import Actor
from segur_workflow.service import WorkflowService

from . import fixtures, profiles
from .case_storage import clone_sealed
from .registry import PG_ENV, Case
from .report import INFO, MISSED, PENDING, Row, times, us, verdict

#: The sealing key the bench gives the repositories that take one (a host handling money would).
KEY = b"segur-bench-key-0123456789abcdef"


# -- backends -----------------------------------------------------------------------------------------------------
def _accepts_key(cls: type) -> bool:
    try:
        return "key" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


def _connections(repo: object) -> list[sqlite3.Connection]:
    """The sqlite3 connections a repository holds (whatever it names them)."""
    found = [v for v in vars(repo).values() if isinstance(v, sqlite3.Connection)] if hasattr(repo, "__dict__") else []
    return found


def _close(repo: object) -> None:
    close = getattr(repo, "close", None)
    if callable(close):
        close()


@attrs.frozen
class Backend:
    """Where dossiers are stored: an SQLite directory at one ``synchronous`` level, or the PG cluster."""

    kind: str  # "sqlite" | "postgres"
    place: str  # a directory (SQLite) or the cluster's DSN (PostgreSQL)
    sync: str = "FULL"  # SQLite's synchronous level the repository is run at

    @property
    def label(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite (WAL, synchronous={self.sync})"
        return "PostgreSQL (durable: fsync, synchronous_commit on)"

    # -- databases --------------------------------------------------------------------------------------------
    def target(self, db: str) -> str:
        if self.kind == "sqlite":
            return str(Path(self.place) / f"{db}.sqlite3")
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.place, dbname=db)

    def create(self, db: str) -> None:
        """A fresh, empty database ``db`` with the repository's schema."""
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.target(db) + suffix)
        else:
            import psycopg

            with psycopg.connect(self.place, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
                admin.execute(f'CREATE DATABASE "{db}"')
        _close(self.open(db))

    def open(self, db: str, *, sync: str | None = None) -> Any:
        """The library's repository on ``db`` (keyed when the adapter takes a key)."""
        if self.kind == "sqlite":
            from segur_workflow.adapters.sqlite import SQLiteRepository

            kwargs: dict[str, Any] = {"key": KEY} if _accepts_key(SQLiteRepository) else {}
            repo = SQLiteRepository(self.target(db), **kwargs)
            for conn in _connections(repo):
                conn.execute(f"PRAGMA synchronous={sync or self.sync}")
            return repo
        from segur_workflow.adapters.postgres import PostgresRepository

        kwargs = {"key": KEY} if _accepts_key(PostgresRepository) else {}
        if "pool_size" in inspect.signature(PostgresRepository).parameters:
            kwargs["pool_size"] = 2  # one process, one thread: the bench's processes stay within max_connections
        return PostgresRepository(self.target(db), **kwargs)

    def raw(self, db: str) -> Any:
        """A plain driver connection on ``db``, set as the repository sets its own."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.target(db), isolation_level=None, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous={self.sync}")
            return conn
        import psycopg

        return psycopg.connect(self.target(db), autocommit=True)

    def fast_build(self, db: str) -> None:
        """Let bulk loading skip the per-commit flush (PostgreSQL: for new sessions of ``db``)."""
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.place, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{db}" SET synchronous_commit = off')

    def durable_again(self, db: str) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.place, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{db}" RESET synchronous_commit')

    def drop(self, db: str) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.place, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        else:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.target(db) + suffix)


def _backends(tmp: str, quick: bool) -> tuple[list[Backend], list[Row]]:
    # --quick checks the code paths: SQLite at NORMAL runs the same code as at FULL
    found = [Backend("sqlite", tmp, "FULL")] + ([] if quick else [Backend("sqlite", tmp, "NORMAL")])
    rows: list[Row] = []
    dsn = os.environ.get(PG_ENV)
    if dsn:
        try:
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as conn:
                settings = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                            for name in ("fsync", "synchronous_commit", "full_page_writes")}
            if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
                rows.append(Row("PostgreSQL cluster", f"not durable ({settings})", "fsync and synchronous_commit on",
                                MISSED))
            else:
                found.append(Backend("postgres", dsn))
        except Exception as exc:  # a server that does not answer is a row, not a crash
            rows.append(Row("PostgreSQL cluster", f"unreachable: {exc}", "reachable", MISSED))
    else:
        rows.append(Row("PostgreSQL rows", "no durable cluster (the runner could not start it)", "measured", PENDING))
    return found, rows


# -- dossiers and lives ---------------------------------------------------------------------------------------------
def _owned(command: Command, ans_id: str) -> Command:
    """``command`` issued by provider ``ans_id`` when it was a provider's (the others are the gestionnaire's)."""
    if command.actor.role is Role.FOURNISSEUR:
        return attrs.evolve(command, actor=Actor(Role.FOURNISSEUR, ans_id))
    return command


@attrs.frozen
class Life:
    """The commands of a whole dossier life: the deposit, then the rest (provider's commands re-owned per life)."""

    later: tuple[Command, ...]

    @classmethod
    def build(cls) -> Life:
        _first, steps = fixtures.lifecycle()
        return cls(tuple(command for command, _now in steps))

    @property
    def commands(self) -> int:
        return 1 + len(self.later)

    def deposit(self, i: int) -> DeposerAvance:
        return fixtures.deposer(i)

    def rest(self, i: int) -> Iterator[Command]:
        ans_id = fixtures.fournisseur(i).ans_id
        for command in self.later:
            yield _owned(command, ans_id)


def _copy(d: Dossier, i: int) -> Dossier:
    """The same dossier under number ``i`` and provider ``i`` (distinct numero and ans_id)."""
    return attrs.evolve(d, numero=fixtures.numero(i), fournisseur=fixtures.fournisseur(i))


def end_of_life(i: int = 1) -> Dossier:
    """Dossier ``i`` at the end of the lifecycle fixture's life (both phases, a piece request): decided."""
    life = Life.build()
    now = examples.T0 + timedelta(seconds=i)
    d = start(life.deposit(i), numero=fixtures.numero(i), now=now).dossier
    for command in life.rest(i):
        now += timedelta(minutes=1)
        d = handle(d, command, now=now).dossier
    assert d.status is Status.SOLDE_DECIDEE
    return d


# -- recording and replaying the statements of a life -------------------------------------------------------------
class SqliteRecorder:
    """The expanded SQL an SQLite repository runs (its connections are found when it is opened)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.marks: list[int] = []  # index of the first statement of each command

    def attach(self, repo: object) -> None:
        for conn in _connections(repo):
            conn.set_trace_callback(self._seen)

    def detach(self, repo: object) -> None:
        for conn in _connections(repo):
            conn.set_trace_callback(None)

    def _seen(self, sql: str) -> None:
        if not sql.lstrip().startswith("--"):  # trigger bodies are traced as comments
            self.statements.append(sql)

    def mark(self) -> None:
        self.marks.append(len(self.statements))


class PgRecorder:
    """The statements (query, parameters) and transaction blocks psycopg sends, while recording."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any, Any]] = []
        self.marks: list[int] = []
        self._undo: list[Callable[[], None]] = []

    def start(self) -> None:
        import psycopg

        log = self.statements
        cursor_execute, cursor_many = psycopg.Cursor.execute, psycopg.Cursor.executemany
        enter, leave = psycopg.Transaction.__enter__, psycopg.Transaction.__exit__

        def execute(cur: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            log.append(("exec", query, params))
            return cursor_execute(cur, query, params, **kw)

        def many(cur: Any, query: Any, params_seq: Any, **kw: Any) -> Any:
            seq = list(params_seq)
            log.append(("many", query, seq))
            return cursor_many(cur, query, seq, **kw)

        def tx_enter(tx: Any) -> Any:
            out = enter(tx)
            if tx._outer_transaction:
                log.append(("begin", None, None))
            return out

        def tx_exit(tx: Any, exc_type: Any, exc: Any, tb: Any) -> Any:
            outer = tx._outer_transaction
            out = leave(tx, exc_type, exc, tb)
            if outer:
                log.append(("rollback" if exc_type is not None else "commit", None, None))
            return out

        patches = ((psycopg.Cursor, "execute", execute), (psycopg.Cursor, "executemany", many),
                   (psycopg.Transaction, "__enter__", tx_enter), (psycopg.Transaction, "__exit__", tx_exit))
        saved = [(cls, name, cls.__dict__[name]) for cls, name, _ in patches]
        for cls, name, new in patches:
            setattr(cls, name, new)

        def undo() -> None:
            for cls, name, old in saved:
                setattr(cls, name, old)

        self._undo.append(undo)

    def stop(self) -> None:
        while self._undo:
            self._undo.pop()()

    def mark(self) -> None:
        self.marks.append(len(self.statements))


def _swap(value: Any, pairs: Sequence[tuple[str, str]]) -> Any:
    """``value`` with each old text of ``pairs`` replaced by the new one, inside strings, bytes and containers."""
    if isinstance(value, str):
        for old, new in pairs:
            value = value.replace(old, new)
        return value
    if isinstance(value, bytes):
        for old, new in pairs:
            value = value.replace(old.encode(), new.encode())
        return value
    if isinstance(value, dict):
        return {_swap(k, pairs): _swap(v, pairs) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_swap(v, pairs) for v in value)
    obj = getattr(value, "obj", None)  # psycopg's Json / Jsonb wrappers
    if obj is not None and type(value).__module__.startswith("psycopg"):
        return type(value)(_swap(obj, pairs))
    return value


@attrs.frozen
class Recording:
    """One life's statements, the numero and provider id they name, and where each command starts."""

    kind: str
    statements: tuple[Any, ...]
    marks: tuple[int, ...]
    numero: str
    ans_id: str

    def replay(self, conn: Any, i: int, deadline: float) -> int:
        """Replay the life as life ``i`` on ``conn``; the number of commands done before ``deadline``."""
        pairs = ((self.numero, fixtures.numero(i)), (self.ans_id, fixtures.fournisseur(i).ans_id))
        ends = {m: k for k, m in enumerate(self.marks[1:], 1)}
        done = 0
        for index, statement in enumerate(self.statements):
            if index in ends:
                done = ends[index]
                if time.perf_counter() >= deadline:
                    return done
            if self.kind == "sqlite":
                conn.execute(_swap(statement, pairs))
                continue
            what, query, params = statement
            if what == "begin":
                conn.execute("BEGIN")
            elif what in {"commit", "rollback"}:
                conn.execute(what.upper())
            elif what == "many":
                with conn.cursor() as cur:
                    cur.executemany(query, [_swap(p, pairs) for p in params])
            else:
                conn.execute(query, _swap(params, pairs))
        return len(self.marks)


def record_life(backend: Backend, db: str, life: Life, i: int) -> Recording:
    """Run life ``i`` through the service on ``db`` and keep the statements its repository sent."""
    repo = backend.open(db)
    service = WorkflowService(repo)
    if backend.kind == "sqlite":
        rec: SqliteRecorder | PgRecorder = SqliteRecorder()
        rec.attach(repo)  # type: ignore[union-attr]
    else:
        rec = PgRecorder()
        rec.start()
    try:
        rec.mark()
        result = service.start(life.deposit(i))
        for command in life.rest(i):
            rec.mark()
            service.handle(result.numero, command)
    finally:
        if isinstance(rec, SqliteRecorder):
            rec.detach(repo)
        else:
            rec.stop()
        _close(repo)
    return Recording(backend.kind, tuple(rec.statements), tuple(rec.marks), result.numero,
                     fixtures.fournisseur(i).ans_id)


# -- throughput: processes running lives ----------------------------------------------------------------------------
def _worker(backend: Backend, index: int, pipe: Any, opening: Any) -> None:
    """A process running lives on command: ("service"|"raw", seconds) -> (commands, seconds taken).

    ``opening`` (a lock shared by the workers) makes them open their repositories and record their life
    one at a time: PostgresRepository's opening transactions, run by several processes at once on one
    database, can end in a deadlock the server detects (seen in this bench; reported to the storage
    work). The measured rounds run all the workers together.
    """
    try:
        life = Life.build()
        base = 100_000 * (index + 1)
        with opening:
            service_repo = backend.open("lives")
            service = WorkflowService(service_repo)
            recording = record_life(backend, "lives", life, base)
            raw = backend.raw("raw")
    except Exception as exc:  # the parent reports it instead of a bare end of file
        pipe.send(f"{type(exc).__name__}: {exc}")
        return
    n_service = n_raw = 1
    pipe.send("ready")
    while True:
        message = pipe.recv()
        if message is None:
            break
        mode, seconds = message
        started = time.perf_counter()
        deadline = started + seconds
        done = 0
        try:
            while time.perf_counter() < deadline:
                if mode == "service":
                    i = base + n_service
                    n_service += 1
                    numero = service.start(life.deposit(i)).numero
                    done += 1
                    for command in life.rest(i):
                        if time.perf_counter() >= deadline:
                            break
                        service.handle(numero, command)
                        done += 1
                else:
                    i = base + n_raw
                    n_raw += 1
                    done += recording.replay(raw, i, deadline)
            pipe.send((done, time.perf_counter() - started))
        except Exception as exc:  # reported by the parent as the row's figure
            pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    _close(service_repo)
    raw.close()


class Workers:
    """``n`` worker processes on one backend, started once, driven round by round."""

    def __init__(self, backend: Backend, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        opening = ctx.Lock()
        for index in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(backend, index, child, opening), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)
        for pipe in self.pipes:
            if not pipe.poll(120):
                raise TimeoutError("a worker did not start within 120 s")
            try:
                ready = pipe.recv()
            except EOFError:
                ready = "it ended without a word"
            if ready != "ready":
                self.close()
                raise RuntimeError(f"a worker failed to start: {ready}")

    def run(self, mode: str, seconds: float, n: int) -> float:
        """Commands per second of ``n`` of the workers running ``mode`` together for ``seconds``."""
        for pipe in self.pipes[:n]:
            pipe.send((mode, seconds))
        done, longest = 0, 0.0
        for pipe in self.pipes[:n]:
            if not pipe.poll(seconds + 120):
                raise TimeoutError("a worker did not answer")
            try:
                answer = pipe.recv()
            except EOFError:
                raise RuntimeError("a worker process died during the measure") from None
            if answer[0] == "error":
                raise RuntimeError(answer[1])
            done += answer[0]
            longest = max(longest, answer[1])
        return done / longest

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def throughput(cfg: Any, backend: Backend, life: Life) -> Iterator[Row]:
    backend.create("lives")
    backend.create("raw")
    workers = Workers(backend, max(cfg.processes))
    try:
        for n in cfg.processes:
            service: list[float] = []
            raw: list[float] = []
            for r in range(cfg.life_rounds):
                for mode in (("service", "raw") if r % 2 == 0 else ("raw", "service")):
                    (service if mode == "service" else raw).append(workers.run(mode, cfg.life_seconds, n))
            ratio = statistics.median(a / b for a, b in zip(raw, service, strict=True))
            yield Row(f"{backend.label}: commands/s, {life.commands}-command lives, {n} process(es) through "
                      "`WorkflowService`, vs raw driver replaying the same statements",
                      f"{statistics.median(service):,.0f} vs {statistics.median(raw):,.0f} commands/s: the service "
                      f"reaches 1/{ratio:.2f} of the raw rate", "(information)", INFO)
    finally:
        workers.close()
        backend.drop("lives")
        backend.drop("raw")


# -- one process: physical limits, get + save, history length, table size ---------------------------------------------
def _median_wall(op: Callable[[], object], n: int) -> float:
    values = []
    for _ in range(n):
        started = time.perf_counter()
        op()
        values.append(time.perf_counter() - started)
    return statistics.median(values)


def physical(cfg: Any, backend: Backend) -> Iterator[Row]:
    n = 30 if cfg.quick_mode else 200
    if backend.kind == "sqlite":
        if backend.sync != "FULL":
            return
        path = Path(backend.place) / "fsync.bin"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        block = os.urandom(4096)
        try:
            def flush() -> None:
                os.pwrite(fd, block, 0)
                os.fsync(fd)

            took = _median_wall(flush, n)
        finally:
            os.close(fd)
        yield Row("physical limit: one `fsync` of a 4 KiB write on the benchmark's disk", us(took), "(limit)", INFO)
        conn = backend.raw("commit")
        conn.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
        took = _median_wall(lambda: conn.execute("INSERT INTO t VALUES (1)"), n)
        conn.close()
        backend.drop("commit")
        yield Row("physical limit: a durable SQLite commit (raw `sqlite3`, one-row INSERT, WAL, synchronous=FULL)",
                  us(took), "(limit)", INFO)
    else:
        backend.create("commit")
        conn = backend.raw("commit")
        conn.execute("CREATE TABLE IF NOT EXISTS t (v integer)")
        took = _median_wall(lambda: conn.execute("INSERT INTO t VALUES (1)"), n)
        conn.close()
        backend.drop("commit")
        yield Row("physical limit: a durable PostgreSQL commit (raw `psycopg`, one-row INSERT, autocommit, "
                  "local socket)", us(took), "(limit)", INFO)


def _snapshot_table(backend: Backend, db: str, numero: str) -> tuple[str, tuple[str, ...], str, str]:
    """(table, columns, key column, payload column) of the one row that holds ``numero``'s snapshot."""
    conn = backend.raw(db)
    try:
        if backend.kind == "sqlite":
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            cols_of = {t: tuple(r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')) for t in tables}
            q = "?"
        else:
            rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                "WHERE table_schema = current_schema() ORDER BY ordinal_position").fetchall()
            cols_of = {}
            for table, col in rows:
                cols_of[table] = (*cols_of.get(table, ()), col)
            q = "%s"
        for table, cols in cols_of.items():
            if "numero" not in cols or "version" not in cols:
                continue
            found = conn.execute(f'SELECT * FROM "{table}" WHERE "numero" = {q}', (numero,)).fetchall()
            if len(found) == 1:
                sizes = [len(str(v)) for v in found[0]]
                return table, cols, "numero", cols[sizes.index(max(sizes))]
    finally:
        conn.close()
    raise LookupError(f"no snapshot row of {numero} with a version column")


def get_save(cfg: Any, backend: Backend) -> Iterator[Row]:
    from .timing import compare

    backend.create("getsave")
    d = end_of_life()
    repo = backend.open("getsave")
    repo.add(d, outbox=())
    table, _cols, key, payload = _snapshot_table(backend, "getsave", d.numero)
    raw = backend.raw("getsave")
    how = f"get + save of an end-of-life dossier ({len(d.history)} history entries, unchanged)"

    def repo_get_save() -> object:
        stored = repo.get(d.numero)
        return repo.save(stored.dossier, expected_version=stored.version, outbox=())

    try:
        repo_get_save()
    except Exception as exc:  # a repository that refuses an unchanged save: time a real command instead
        how = f"get + one `controler_bloc` + save (an unchanged save is refused: {type(exc).__name__})"
        d = fixtures.fresh_dossier(2, at_status=Status.SOLDE_EN_INSTRUCTION)
        repo.add(d, outbox=())
        results = (Controle.OK, Controle.KO)
        turn = [0]

        def repo_get_save() -> object:
            stored = repo.get(d.numero)
            turn[0] += 1
            out = handle(stored.dossier, ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, results[turn[0] % 2]),
                         now=fixtures.NOW + timedelta(seconds=turn[0]))
            return repo.save(out.dossier, expected_version=stored.version, outbox=out.emails)

    # The floor writes a twin row of the same size (same table, indexes, page): writing the repository's own
    # row behind its back is a tampering its seal refuses on the next read (issue 11).
    twin = _copy(d, 99)
    repo.add(twin, outbox=())
    if backend.kind == "sqlite":
        value = raw.execute(f'SELECT "{payload}" FROM "{table}" WHERE "{key}" = ?', (twin.numero,)).fetchone()[0]
        update = f'UPDATE "{table}" SET "{payload}" = ?, "version" = "version" + 1 WHERE "{key}" = ?'

        def raw_op() -> object:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(update, (value, twin.numero))
            raw.execute("COMMIT")
            return None

        floor = "a raw `sqlite3` UPDATE of the same snapshot row"
        target, limit = "≤ 2.5×", 2.5
    else:
        kind = raw.execute("SELECT data_type FROM information_schema.columns WHERE table_name = %s AND "
                           "column_name = %s", (table, payload)).fetchone()[0]
        cast = "::jsonb" if kind == "jsonb" else "::json" if kind == "json" else ""
        select = f'SELECT "{payload}"{"::text" if cast else ""} FROM "{table}" WHERE "{key}" = %s'
        update = f'UPDATE "{table}" SET "{payload}" = %s{cast}, "version" = "version" + 1 WHERE "{key}" = %s'

        def raw_op() -> object:
            with raw.transaction():
                value = raw.execute(select, (twin.numero,)).fetchone()[0]
                raw.execute(update, (value, twin.numero))
            return None

        floor = "a raw `psycopg` read + UPDATE of the same snapshot row"
        target, limit = "≤ 2×", 2.0
    if backend.kind == "sqlite" and backend.sync != "FULL":
        target, limit = "(information)", float("inf")
    t = compare({"repo": repo_get_save, "raw": raw_op}, cfg.timing, clock="wall")
    r = t.ratio("repo", "raw")
    ok = r <= limit
    yield Row(f"{backend.label}: repository {how} vs {floor}", f"{us(t.median('repo'))} vs {us(t.median('raw'))} = "
              f"{times(r)}", target, verdict(ok) if limit != float("inf") else INFO,
              **({} if ok else _why_store(backend, repo, repo_get_save, raw, raw_op)))
    raw.close()
    _close(repo)
    backend.drop("getsave")


#: Dossiers of the longest history kept aside to profile a stored command on them.
PROFILED = 4


def _statements(backend: Backend, conns: Sequence[Any], op: Callable[[], object]) -> tuple[int, int]:
    """(statements, transactions) ``op`` sends: SQLite's trace of ``conns``, or psycopg's calls (any connection)."""
    if backend.kind == "sqlite":
        rec = SqliteRecorder()
        for conn in conns:
            conn.set_trace_callback(rec._seen)
        try:
            op()
        finally:
            for conn in conns:
                conn.set_trace_callback(None)
        said = [s.strip().split(None, 1)[0].upper() for s in rec.statements if s.strip()]
        return sum(w not in {"BEGIN", "COMMIT", "ROLLBACK"} for w in said), sum(w == "BEGIN" for w in said)
    pg = PgRecorder()
    pg.start()
    try:
        op()
    finally:
        pg.stop()
    kinds = [k for k, _q, _p in pg.statements]
    return sum(k in {"exec", "many"} for k in kinds), kinds.count("begin")


#: Where a profiled stored operation's own time goes: the driver and the server, or the library's Python.
_DRIVER = ("psycopg/", "psycopg_pool/", "builtin <method 'execute' of 'sqlite3", "builtin <method 'commit' of 'sqlite3",
           "builtin <method 'fetch", "selectors.py", "builtin <method 'poll'", "builtin <built-in method select")


def _why_store(backend: Backend, repo: Any, op: Callable[[], object], raw: Any,
               floor: Callable[[], object]) -> dict[str, str]:
    """What holds a stored operation back against its raw floor: the statements each sends and where the
    repository's time goes (waiting for the database, or its own Python work), from its profile."""
    ours = _statements(backend, _connections(repo), op)
    theirs = _statements(backend, [raw] if backend.kind == "sqlite" else [], floor)
    p = profiles.capture(op, 100)
    waiting = sum(e.own for e in p.entries if e.where.startswith(_DRIVER)) / (p.total or 1.0)
    library = sum(e.own for e in p.entries if e.where.startswith(("segur_workflow/", "<cattrs", "<attrs", "<segur",
                                                                     "builtin <orjson", "hmac.py", "builtin <built-in "
                                                                     "method _hashlib"))) / (p.total or 1.0)
    return {"note": (f"The repository sends {ours[0]} statements in {ours[1]} transaction(s) for this operation, the "
                     f"floor {theirs[0]} in {theirs[1]}; in its profile, {100 * waiting:.0f} % of the own time is the "
                     f"driver waiting for the database and {100 * library:.0f} % the library's own Python work "
                     "(serialising, sealing, checking the seal). "
                     + ("The statements, not the Python, hold it back: each round trip is a wait."
                        if waiting > library else
                        "The library's Python work, more than the statements, holds it back.")
                     + f" Profile (own time): {p.summary()}."),
            "profile": p.table()}


def history_length(cfg: Any, backend: Backend) -> Iterator[Row]:
    """Per stored command through the service, against the history length of the dossier."""
    lengths = cfg.stored_lengths
    rounds = 3 if not cfg.quick_mode else 2
    per = cfg.stored_ops
    backend.create("lengths")
    backend.fast_build("lengths")
    repo = backend.open("lengths", sync="OFF")
    pools: dict[int, list[str]] = {}
    i = 1
    for n in lengths:
        # One journal row per command, as a host's dossier gets them (written by the repository's own code):
        # a dossier added whole holds its history in one row, which only a migrated dossier's first read meets.
        count = rounds * per + (PROFILED if n == lengths[-1] else 0)
        life = fixtures.life_with_history(n)
        if hasattr(repo, "_journal"):  # the sealed journal (issue 11)
            clone_sealed(repo, life, count, start_at=i, numero_of=fixtures.numero, fournisseur_of=fixtures.fournisseur)
        else:  # an older layout: the whole dossier is one row anyway
            for k in range(i, i + count):
                repo.add(_copy(life[-1], k), outbox=())
        pools[n] = [fixtures.numero(k) for k in range(i, i + count)]
        i += count
    _close(repo)
    backend.durable_again("lengths")
    repo = backend.open("lengths")
    service = WorkflowService(repo)
    command = ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK)
    times_of: dict[int, list[float]] = {n: [] for n in lengths}
    for r in range(rounds):
        order = list(lengths[r % len(lengths):]) + list(lengths[: r % len(lengths)])
        for n in order:
            batch = pools[n][r * per:(r + 1) * per]
            started = time.perf_counter()
            for numero in batch:
                service.handle(numero, command)
            times_of[n].append((time.perf_counter() - started) / len(batch))
    lo, hi = lengths[0], lengths[-1]
    ratio = statistics.median(a / b for a, b in zip(times_of[hi], times_of[lo], strict=True))
    why: dict[str, str] = {}
    if ratio > 1.5:
        spare = iter(pools[hi][rounds * per:])
        summary, table_ = profiles.top(lambda: service.handle(next(spare), command), PROFILED, warm=False)
        why = {"note": "a stored command that grows with the history: each dossier is read once here, as a host "
                       "serving many dossiers reads them, by a repository opened after they were written. "
                       f"Profile of a stored command on a {hi:,}-entry dossier (own time): {summary}.",
               "profile": table_}
    _close(repo)
    backend.drop("lengths")
    figures = ", ".join(f"{n}: {us(statistics.median(times_of[n]))}" for n in lengths)
    yield Row(f"{backend.label}: per stored command through the service vs history length, each dossier read "
              f"once, grown one journal row per command ({figures})",
              f"{hi:,} entries / {lo} entries = {times(ratio)}", "≤ 1.5×" if backend.sync == "FULL" or
              backend.kind == "postgres" else "(information)",
              verdict(ratio <= 1.5) if backend.sync == "FULL" or backend.kind == "postgres" else INFO, **why)


def table_size(cfg: Any, backend: Backend, budget: float) -> Iterator[Row]:
    """``start()`` and a stored command against the number of dossiers in the table, sizes interleaved."""
    sizes = [s for s in cfg.scaling_sizes if backend.kind == "sqlite" or s <= 10_000]
    template = fixtures.fresh_dossier(0, at_status=Status.AVANCE_EN_INSTRUCTION)
    built: list[int] = []
    notes: list[str] = []
    rate: float | None = None
    spent = 0.0
    for size in sizes:
        if rate is not None and size / rate > budget - spent:
            notes.append(f"{size:,} dossiers skipped: building them would take about {size / rate:.0f} s at the "
                         f"measured {rate:,.0f} dossiers/s, over the case's budget")
            break
        db = f"size{size}"
        backend.create(db)
        backend.fast_build(db)
        repo = backend.open(db, sync="OFF")
        started = time.perf_counter()
        for i in range(1, size + 1):
            repo.add(_copy(template, i), outbox=())
        took = time.perf_counter() - started
        spent += took
        rate = size / took
        _close(repo)
        backend.durable_again(db)
        built.append(size)
    if not built:
        return
    repos = {s: backend.open(f"size{s}") for s in built}
    services = {s: WorkflowService(r) for s, r in repos.items()}
    rng = random.Random(19)
    rounds = 5 if not cfg.quick_mode else 2
    cmd_times: dict[int, list[float]] = {s: [] for s in built}
    start_times: dict[int, list[float]] = {s: [] for s in built}
    fresh = 900_000  # providers of the new dossiers: never one of the table's
    command = ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK)
    for r in range(rounds):
        order = built[r % len(built):] + built[: r % len(built)]
        for s in order:
            picks = [fixtures.numero(rng.randrange(1, s + 1)) for _ in range(cfg.scaling_ops)]
            started = time.perf_counter()
            for numero in picks:
                services[s].handle(numero, command)
            cmd_times[s].append((time.perf_counter() - started) / len(picks))
            started = time.perf_counter()
            for _ in range(max(1, cfg.scaling_ops // 4)):
                fresh += 1
                services[s].start(fixtures.deposer(fresh))
            start_times[s].append((time.perf_counter() - started) / max(1, cfg.scaling_ops // 4))
    for repo in repos.values():
        _close(repo)
    for s in built:
        backend.drop(f"size{s}")
    lo, hi = built[0], built[-1]
    for label, series in (("a stored command (get + `controler_bloc` + save)", cmd_times),
                          ("`start()` (next number, deposit, add)", start_times)):
        ratio = statistics.median(a / b for a, b in zip(series[hi], series[lo], strict=True))
        figures = ", ".join(f"{s:,}: {us(statistics.median(series[s]))}" for s in built)
        ok = ratio <= 1.5
        yield Row(f"{backend.label}: {label} vs dossiers in the table ({figures}), sizes interleaved",
                  f"{hi:,} / {lo:,} = {times(ratio)}" + ("; " + "; ".join(notes) if notes else ""), "flat (≤ 1.5×)",
                  verdict(ok), note="" if ok else (
                      "the cost grows with the table: a statement that scans instead of using an index "
                      "(the next number is `max(numero)` over the corridor's prefix unless a counter row keeps it)"
                      if "start" in label else "the cost grows with the table: a lookup without an index"))


def verify(cfg: Any) -> Iterator[Row]:
    """``segur-workflow verify --db FILE`` over a database of end-of-life dossiers (issue 11: measured, stated)."""
    import subprocess
    import sys

    from segur_workflow import cli

    case = "`segur-workflow verify` over end-of-life dossiers"
    if '"verify"' not in Path(cli.__file__).read_text(encoding="utf-8"):
        yield Row(case, "no `verify` command in this checkout", "measured", PENDING)
        return
    wanted = 100_000 if not cfg.quick_mode else 200
    build_budget = cfg.verify_seconds  # the whole bench must end within its budget (bench/plan.py)
    with tempfile.TemporaryDirectory(prefix="segur-bench-verify-") as tmp:
        backend = Backend("sqlite", tmp, "OFF")
        backend.create("verify")
        from segur_workflow.adapters.sqlite import SQLiteRepository

        repo = SQLiteRepository(backend.target("verify"))  # unkeyed: what the CLI checks without a key
        for conn in _connections(repo):
            conn.execute("PRAGMA synchronous=OFF")
        template = end_of_life()
        started = time.perf_counter()
        built = 0
        while built < wanted and time.perf_counter() - started < build_budget:
            built += 1
            repo.add(_copy(template, built), outbox=())
        _close(repo)
        entries = len(template.history)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "segur_workflow.cli", "verify", "--db", backend.target("verify")],
                              capture_output=True, text=True, timeout=120, check=False)
        took = time.perf_counter() - started
    if proc.returncode != 0:
        yield Row(f"{case} ({built:,} dossiers of {entries} entries)", f"exit {proc.returncode} after {took:.1f} s",
                  "exit 0 on intact dossiers", MISSED,
                  note=f"verify said: {(proc.stdout + proc.stderr).strip()[-300:]}")
        return
    per = took / built
    extra = "" if built >= 100_000 else (f"; {built:,} dossiers fitted in the case's {build_budget:.0f} s of "
                                         f"loading: 100,000 at that rate ≈ {per * 100_000:.0f} s")
    yield Row(f"{case} ({built:,} dossiers of {entries} entries each, SQLite, process start included)",
              f"{took:.1f} s ({us(per)} per dossier){extra}", "measured (issue 11)", INFO)


# -- the cases --------------------------------------------------------------------------------------------------------
def _each_backend(part: Callable[[Any, Backend], Iterator[Row]]) -> Callable[[Any], Iterator[Row]]:
    def case(cfg: Any) -> Iterator[Row]:
        with tempfile.TemporaryDirectory(prefix="segur-bench-db-") as tmp:
            backends, rows = _backends(tmp, cfg.quick_mode)
            yield from rows
            for backend in backends:
                yield from part(cfg, backend)

    return case


def _throughput(cfg: Any, backend: Backend) -> Iterator[Row]:
    yield from throughput(cfg, backend, Life.build())


def _sizes(cfg: Any, backend: Backend) -> Iterator[Row]:
    if backend.kind == "sqlite" and backend.sync != "FULL":
        return
    yield from table_size(cfg, backend, cfg.build_seconds)


def _lengths(cfg: Any, backend: Backend) -> Iterator[Row]:
    if backend.kind == "sqlite" and backend.sync != "FULL":
        return
    yield from history_length(cfg, backend)


#: Costs: quiet machine, full scale (bench/plan.py); ``fixed``: worker processes and databases set up.
CASES: Mapping[str, Case] = MappingProxyType({
    "physical": Case(_each_backend(physical), "fsync and a durable commit on this machine", 3, 30, True,
                     scalable=False),
    "get_save": Case(_each_backend(get_save), "get + save vs a raw write of the snapshot row", 6, 40, True, fixed=2),
    "stored_length": Case(_each_backend(_lengths), "a stored command vs history length", 12, 60, True, fixed=4),
    "throughput": Case(_each_backend(_throughput), "commands/s with 1, 2, 4 processes vs raw replay", 47, 60,
                       True, fixed=25),
    "table_size": Case(_each_backend(_sizes), "start() and a command vs dossiers in the table", 21, 60, True,
                       fixed=5),
    "verify": Case(verify, "segur-workflow verify over a large database", 42, 40, fixed=5),
})
