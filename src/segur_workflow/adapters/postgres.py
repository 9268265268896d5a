"""PostgreSQL repository (psycopg 3 and psycopg_pool): ``pip install 'segur-workflow[postgres]'``.

Same tables and guarantees as the SQLite adapter: the version check is a conditional
``UPDATE … WHERE version = %s`` (under READ COMMITTED a concurrent writer's row is re-checked after
its commit, so exactly one of two racing saves matches), uniqueness comes from named constraints,
outbox claims skip the rows another claim holds (``FOR UPDATE SKIP LOCKED``).
The statements are shared with SQLite (:mod:`._sql`); what is here is psycopg's own:

* a connection pool (psycopg_pool), so that threads of one host do not queue on one connection;
* each connection is checked as it leaves the pool, so after a server restart the same repository
  goes on with fresh connections (calls made while the server is down raise ``StorageUnavailable``);
  the check costs a round trip only for a connection that is not evidently healthy (:func:`_check`);
* single reads run in autocommit (one round trip, no ``BEGIN``/``COMMIT``), and so does a save: one
  statement (:func:`._pg_save.save_statement`), atomic as any statement is;
* an optional ``statement_timeout`` (seconds) bounds every statement on the server side.
"""

from __future__ import annotations

import random
import re
import select
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

try:
    import psycopg
    import psycopg_pool
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.pq import ConnStatus, TransactionStatus
    from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PostgresRepository a besoin de psycopg 3 : installez l'extra « postgres » "
        "(pip install 'segur-workflow[postgres]')."
    ) from exc

import orjson

from .. import _seal as sealing
from .._email import Email
from ..engine import Event
from ..errors import InvalidInput, StorageError, StorageUnavailable
from ..model import Dossier
from ..ports import CommandRecord
from ._journal import Chain, Codec, Snapshot, Written
from ._pg_save import save_statement
from ._schema import JOURNAL_COLUMNS, LOCK_ORDER, added_columns, schema, schema_objects
from ._sql import SQLRepository

__all__ = ["SCHEMA", "PostgresRepository", "migrate_database"]

#: The tables (created if missing, under an advisory lock so that concurrent first starts are safe).
MOMENT = "timestamptz"
SCHEMA = schema(data="jsonb", outbox_id="bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", moment=MOMENT)

_SCHEMA_LOCK = 0x5E6A5  # any constant: serialises CREATE … IF NOT EXISTS across processes
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _encode(value: object) -> tuple[Jsonb, bytes]:
    # jsonb keeps the values, not the text: the digest covers their canonical form, recomputed on read. The
    # server is sent that canonical text itself (JSON, which jsonb parses): the value is written out once.
    data = sealing.canonical(value)
    return Jsonb(value, dumps=lambda _value: data), data


def _content(column: object) -> bytes:
    return sealing.canonical(column)  # psycopg has already decoded the jsonb (with orjson)


def _parse(column: object) -> object:
    return column


def _frame(column: object) -> object:
    # What a read returns for a JSON column is its value (decoded by psycopg): the journal text holds the value.
    return column.obj if isinstance(column, Jsonb) else column


_CODEC = Codec(_encode, _content, _parse, _frame)

#: ``verify``'s read: the snapshot row and every journal row, in one statement.
_LOAD_ALL = f"""
SELECT d.version, d.length, d.head, d.data,
       (SELECT coalesce(json_agg(json_build_array({JOURNAL_COLUMNS}) ORDER BY j.position), '[]'::json)
        FROM journal j WHERE j.numero = d.numero)
FROM dossiers d WHERE d.numero = %s
"""


_POLL = getattr(select, "poll", None)  # not on Windows, where select() takes any socket number


def _readable(fd: int) -> bool:
    """Something (a message, the end of the stream) waits on the socket; a zero timeout: never blocks."""
    if _POLL is None:  # pragma: no cover - Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = _POLL()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _check(conn: psycopg.Connection[Any]) -> None:
    """The pool's ``check``: a round trip (``check_connection``) only for a connection not evidently healthy.

    A connection given back idle, whose socket has nothing to read, is healthy as far as can be told
    without asking the server: a server that restarts or ends a session (``pg_terminate_backend``, an
    idle timeout) sends a FATAL message and closes the socket, which then reads. So the full check runs
    only when the connection is closed or broken, not idle, or has something waiting (that message, or a
    harmless notice, which the check then reads). Its limit: a connection lost without a word (a network
    cut, a host gone) is found by its next statement, which raises ``StorageUnavailable`` (retryable).
    """
    if (not conn.closed and not conn.broken and conn.info.status == ConnStatus.OK
            and conn.info.transaction_status == TransactionStatus.IDLE and not _readable(conn.fileno())):
        return
    psycopg_pool.ConnectionPool.check_connection(conn)


class PostgresRepository(SQLRepository):
    """A :class:`~segur_workflow.ports.DossierRepository` on PostgreSQL.

    ``schema`` (optional) puts the tables in that schema, created if missing; by default they go to
    the connections' ``search_path``. ``pool_size`` bounds the connections this repository opens
    (threads beyond it wait up to ``connect_timeout`` seconds for one); ``statement_timeout``
    (seconds, ``None`` = the server's setting) cancels a statement that runs longer.
    """

    PLACEHOLDER = "%s"
    # Only unique violations are ours to translate; other integrity errors become StorageError.
    INTEGRITY_ERROR = pg_errors.UniqueViolation
    DRIVER_ERROR = (psycopg.Error, psycopg_pool.PoolTimeout)
    # The server is down, restarting, unreachable or the pool could not give a connection in time;
    # a statement cancelled by statement_timeout (QueryCanceled) is worth retrying too.
    UNAVAILABLE_ERROR = (psycopg.OperationalError, psycopg_pool.PoolTimeout)
    # A deadlock victim, a serialisation failure: the server rolled the whole transaction back.
    ROLLED_BACK_ERROR = (pg_errors.TransactionRollback, pg_errors.DeadlockDetected)
    CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"

    def __init__(self, dsn: str, *, key: sealing.KeyArg = None, schema: str | None = None, connect_timeout: int = 10,
                 pool_size: int = 8, statement_timeout: float | None = None) -> None:
        if not isinstance(dsn, str) or "\x00" in dsn:
            raise InvalidInput("dsn", "une chaîne de connexion PostgreSQL", dsn)
        if schema is not None and (not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema)):
            raise InvalidInput("schema", "un nom de schéma en minuscules (a-z, 0-9, _)", schema)
        if isinstance(connect_timeout, bool) or not isinstance(connect_timeout, int) or connect_timeout < 1:
            raise InvalidInput("connect_timeout", "un nombre entier de secondes ≥ 1", connect_timeout)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or not 1 <= pool_size <= 1000:
            raise InvalidInput("pool_size", "un nombre de connexions entre 1 et 1000", pool_size)
        if statement_timeout is not None and (
                isinstance(statement_timeout, bool) or not isinstance(statement_timeout, int | float)
                or not 0 < statement_timeout < 86_400):
            raise InvalidInput("statement_timeout", "une durée en secondes (> 0) ou None", statement_timeout)
        super().__init__(key=key)
        self.schema = schema
        self._patience = 3.0 * connect_timeout  # seconds a schema change may wait for the tables
        self._statement_timeout_ms = None if statement_timeout is None else max(1, int(statement_timeout * 1000))
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] = psycopg_pool.ConnectionPool(
            dsn, min_size=1, max_size=pool_size, open=False, timeout=connect_timeout,
            kwargs={"autocommit": True, "connect_timeout": connect_timeout},
            configure=self._configure, check=_check,
            reconnect_timeout=max(30.0, 3.0 * connect_timeout), name="segur-workflow",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
            with self._pool.connection() as conn, conn.cursor() as cur:
                if not self._layout_complete(cur):
                    self._create_layout(conn, cur)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            self._pool.close()
            raise StorageUnavailable("ouverture", f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc

    def _layout_complete(self, cur: psycopg.Cursor[Any]) -> bool:
        """Every table, index and column of this version is there: nothing to create, and so no lock taken.

        ``CREATE INDEX IF NOT EXISTS`` locks its table (SHARE) even when the index exists: run on
        every start, it made a starting host wait for the running ones' writes and, holding the outbox
        while waiting for the events table, closed a lock cycle with them (``DeadlockDetected``).
        """
        names = schema_objects(SCHEMA)
        found = cur.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
            sql.SQL("to_regclass({}) IS NOT NULL").format(sql.Literal(name)) for name in names))).fetchone()
        if found is None or not all(found):
            return False
        return all({name for name, _ in columns} <= self._columns(cur, table)
                   for table, columns in added_columns(moment=MOMENT).items())

    def _create_layout(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any]) -> None:
        """Create what is missing, serialised between processes, the tables locked first (:func:`_lock_tables`).

        Not pipelined (unlike the writes): the layout check reads a result in the middle.
        """
        def create() -> None:
            if self.schema is not None:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            self._check_layout(cur)
            self._create_tables(cur, SCHEMA, moment=MOMENT)

        _with_tables_locked(conn, cur, create, patience=self._patience)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        """Each new connection of the pool: the schema on its search_path, the statement timeout, orjson for JSON."""
        set_json_dumps(orjson.dumps, context=conn)
        set_json_loads(orjson.loads, context=conn)
        if self.schema is not None:  # created by __init__, under the advisory lock
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        if self._statement_timeout_ms is not None:
            conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(self._statement_timeout_ms)))

    # -- driver hooks ------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        # One pipelined batch: the statements of a write go together, their results are read at the commit.
        with self._pool.connection() as conn, conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def _reading(self) -> Iterator[psycopg.Cursor[Any]]:
        # Autocommit connections: a lone SELECT is its own transaction, one round trip.
        with self._pool.connection() as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def _loading(self) -> Iterator[psycopg.Cursor[Any]]:
        # A dossier is read by one statement (_LOAD): in autocommit it is its own transaction, one round trip.
        with self._pool.connection() as conn, conn.cursor() as cur:
            yield cur

    def _codec(self) -> Codec:
        return _CODEC

    def _load_all(self, cur: Any, numero: str) -> tuple[Snapshot | None, list[Any]]:
        row = cur.execute(_LOAD_ALL, (numero,)).fetchone()
        if row is None:
            return None, []
        return Snapshot(*row[:4]), [tuple(r) for r in row[4]]

    def _write_save(self, dossier: Dossier, w: Written, base: Chain, *, expected_version: int,
                    emails: tuple[Email, ...], events: tuple[Event, ...], command: CommandRecord | None) -> None:
        # One statement in autocommit (one round trip, one commit), all or nothing: there is no moment between
        # the state and the outbox, so the test hook runs just before it is sent.
        statement, params = save_statement(dossier, w, base, expected_version=expected_version, emails=emails,
                                           events=events, command=command)
        self._after_state_written(dossier.numero)
        with self._reading() as cur:
            matched = cur.execute(statement, params).fetchone()
            if matched is None or matched[0] != 1:
                self._refuse_stale(cur, dossier.numero, expected_version)

    def _columns(self, cur: Any, table: str) -> set[str]:
        rows = cur.execute("SELECT column_name FROM information_schema.columns"
                           " WHERE table_name = %s AND table_schema = current_schema()", (table,)).fetchall()
        return {str(r[0]) for r in rows}

    def _constraint(self, exc: Exception) -> str | None:
        return exc.diag.constraint_name if isinstance(exc, pg_errors.Error) else None

    def _moment(self, value: datetime) -> datetime:
        return value

    def _from_moment(self, value: Any) -> datetime:
        if not isinstance(value, datetime):  # a timestamptz column always is one; NULL is not
            raise TypeError(f"moment attendu, {type(value).__name__} lu")
        return value

    def close(self) -> None:
        self._closed = True
        self._pool.close()


_T = TypeVar("_T")


def _with_tables_locked(conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any], work: Callable[[], _T], *,
                        patience: float) -> _T:
    """``work()`` in a transaction holding the layout's advisory lock and every existing table, exclusively.

    A schema change must never be part of a lock cycle: it would make a running host's write or even
    its read (a SELECT waits for an ACCESS EXCLUSIVE lock) the deadlock victim. So it takes the tables
    in LOCK_ORDER, waiting at most a moment for each (``lock_timeout``); when one is busy it gives up
    everything it holds, waits a little and tries again, for up to ``patience`` seconds. The others
    only ever wait for it, briefly.
    """
    deadline = time.monotonic() + patience
    pause = 0.05
    while True:
        try:
            with conn.transaction():
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                cur.execute("SET LOCAL lock_timeout = '200ms'")
                for table in LOCK_ORDER:
                    if cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone() == (True,):
                        cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(sql.Identifier(table)))
                cur.execute("SET LOCAL lock_timeout = 0")
                return work()
        except pg_errors.LockNotAvailable:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause * (0.5 + random.random()))  # noqa: S311 - jitter, not a secret
            pause = min(1.0, pause * 2)

def migrate_database(dsn: str, *, key: sealing.KeyArg = None, schema: str | None = None,
                     log: Callable[[str], object] | None = None, connect_timeout: int = 10) -> int:
    """Migrate a PostgreSQL database of the previous layout (schema 3: the whole dossier, history included,
    in ``dossiers.data``) to the sealed snapshot + journal layout; return the number of dossiers migrated.

    The same explicit, logged migration as SQLite's (:func:`._migration.migrate_layout`), in one
    transaction under the layout's advisory lock, the tables locked in the writers' order first (hosts
    still running the previous release wait, and then find a layout they refuse). A database already
    in the current layout is left as it is (0).
    """
    from ._migration import as_document, migrate_layout

    if not isinstance(dsn, str) or "\x00" in dsn:
        raise InvalidInput("dsn", "une chaîne de connexion PostgreSQL", dsn)
    if schema is not None and (not isinstance(schema, str) or not _IDENTIFIER.fullmatch(schema)):
        raise InvalidInput("schema", "un nom de schéma en minuscules (a-z, 0-9, _)", schema)
    try:
        conn = psycopg.connect(dsn, connect_timeout=connect_timeout)
    except psycopg.Error as exc:
        raise StorageUnavailable("migration", f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    set_json_loads(orjson.loads, context=conn)
    set_json_dumps(orjson.dumps, context=conn)
    try:
        with conn.cursor() as cur:
            if schema is not None:
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
                conn.commit()

            def execute(statement: str, params: Sequence[Any]) -> Any:
                return cur.execute(statement.replace("?", "%s"), params)

            def columns(table: str) -> set[str]:
                rows = cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s"
                                   " AND table_schema = current_schema()", (table,)).fetchall()
                return {str(r[0]) for r in rows}

            return _with_tables_locked(conn, cur, lambda: migrate_layout(
                execute, columns=columns, statements=SCHEMA, moment=MOMENT, codec=_CODEC, document_of=as_document,
                key=key, say=log or (lambda _line: None)), patience=3.0 * connect_timeout)
    except psycopg.Error as exc:
        error = StorageUnavailable if isinstance(exc, psycopg.OperationalError) else StorageError
        raise error("migration", f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    finally:
        conn.close()

