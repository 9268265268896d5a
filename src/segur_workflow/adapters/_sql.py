"""What the SQL adapters share: the statements, the version check, the sealed journal (:mod:`._journal`),
the outbox and command writes, the mapping of broken constraints to domain errors, and rows → values.

A subclass brings its driver: the placeholder style, how a transaction is opened (and a plain read
done), how the ``data`` column is written and read, and which constraint an integrity error names.
The shared statements are written with ``?`` placeholders and contain no literal ``?``.
"""

from __future__ import annotations

import functools
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar

import attrs

from .. import _seal as sealing
from .._email import Email
from .._integration import event_from_json, event_to_json
from ..engine import Event
from ..errors import (
    ConcurrencyConflict,
    DossierAltere,
    DossierNotFound,
    DuplicateFinancingRequest,
    InvalidInput,
    SerializationError,
    StorageError,
    StorageUnavailable,
    WorkflowError,
)
from ..model import Dossier
from ..ports import (
    AppliedCommand,
    Claim,
    CommandRecord,
    DeadLetter,
    DossierSummary,
    EntryKind,
    NewDossier,
    OutboxEmail,
    Stored,
    check_search,
)
from ..states import Status
from . import (
    SQL_INT_MAX,
    SQL_INT_MIN,
    check_claim,
    check_claim_value,
    check_dossier,
    check_gestionnaires,
    check_kinds,
    check_limit,
    check_new,
    check_now,
    check_text,
    check_version,
    check_writes,
    command_record,
    format_numero,
    number_range,
    number_value,
)
from ._journal import Chain, Codec, Journal, Snapshot, Written

_T = TypeVar("_T")

__all__ = ["JOURNAL_COLUMNS", "LOCK_ORDER", "SUMMARY_COLUMNS", "SUMMARY_INDEXES", "Problem", "SQLRepository", "schema",
           "schema_objects", "summary_values"]

#: The journal's columns, in the order :meth:`._journal.Journal.check` reads them.
JOURNAL_COLUMNS = "position, version, entries, emails, etat, cle, sceau"


#: The worklist columns of ``dossiers`` beside ``numero``, ``ans_id``, ``status`` and ``version``
#: (``DossierSummary``) and their types (``{moment}``: the database's date type): written with the
#: snapshot row, read by ``search`` without the journal.
_SUMMARY_TYPES = {
    "siret": "TEXT NOT NULL DEFAULT ''",
    "raison_sociale": "TEXT NOT NULL DEFAULT ''",
    "gestionnaire": "TEXT",
    "date_depot": "{moment}",
    "date_changement_statut": "{moment}",
}
SUMMARY_COLUMNS = tuple(_SUMMARY_TYPES)

#: The indexes of the worklists: one per filter, each ending with ``numero`` (keyset order: a page is read
#: in order and stops at its limit, never sorted). ``ans_id`` has its unique constraint's. The gestionnaire's
#: own page of one status, and ``workload`` (the default assignment policy's count at every deposit), are
#: served by ``(gestionnaire, status, …)``; tests/test_desk_query_plans.py reads the plans.
SUMMARY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS dossier_by_status ON dossiers (status, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_gestionnaire ON dossiers (gestionnaire, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_gestionnaire_status ON dossiers (gestionnaire, status, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_siret ON dossiers (siret, numero)",
)

_SUMMARY_SELECT = ("SELECT numero, status, ans_id, siret, raison_sociale, gestionnaire, date_depot,"
                   " date_changement_statut, version FROM dossiers")

#: The columns of ``dossiers`` derived from the sealed dossier that ``search`` reads (and filters on) instead
#: of it, in the order of :meth:`SQLRepository._derived`: ``fill_summaries`` re-derives them.
_DERIVED = ("status", "ans_id", *SUMMARY_COLUMNS)

#: The non-final statuses, for ``workload`` (a view of the definition).
_OPEN = tuple(s.value for s in Status if not s.final)


def _summary_column(column: str, moment: str) -> str:
    return f"{column} {_SUMMARY_TYPES[column].format(moment=moment)}"


def summary_values(dossier: Dossier, moment: Callable[[datetime], object]) -> tuple[object, ...]:
    """The values of :data:`SUMMARY_COLUMNS` for ``dossier``, dates written by ``moment``."""
    f = dossier.fournisseur
    return (f.siret, f.raison_sociale, dossier.gestionnaire, moment(dossier.date_depot),
            moment(dossier.date_changement_statut))


def _summary_columns(moment: str) -> str:
    return ",\n        ".join(_summary_column(c, moment) for c in SUMMARY_COLUMNS)


def schema(*, data: str, outbox_id: str, moment: str) -> tuple[str, ...]:
    """The ``CREATE … IF NOT EXISTS`` statements, given the column types that differ between databases.

    ``data`` holds the serialised dossier, ``outbox_id`` is the key of the outbox and event tables
    (growing, never reused), ``moment`` the type of a point in time. The constraint names are those
    :meth:`SQLRepository._refused` maps to domain errors.

    ``outbox`` (e-mails) and ``events`` (integration events) share the delivery columns: ``attempts``
    (claims so far), ``claimed_by`` / ``lease_until`` (who holds it, until when), ``not_before`` (the
    next try after a failure), ``last_error``, ``sent_at`` (delivered), ``dead_at`` (given up).
    """
    delivery = f"""attempts    INTEGER NOT NULL DEFAULT 0,
        claimed_by  TEXT,
        lease_until {moment},
        not_before  {moment},
        last_error  TEXT,
        sent_at     {moment},
        dead_at     {moment}"""
    return (
        f"""CREATE TABLE IF NOT EXISTS dossiers (
        numero  TEXT NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  TEXT NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        length  INTEGER NOT NULL CHECK (length >= 1),
        head    TEXT NOT NULL,
        data    {data} NOT NULL,
        {_summary_columns(moment)}
    )""",
        f"""CREATE TABLE IF NOT EXISTS journal (
        numero   TEXT NOT NULL REFERENCES dossiers (numero),
        position INTEGER NOT NULL CHECK (position >= 1),
        version  INTEGER NOT NULL CHECK (version >= 1),
        entries  {data} NOT NULL,
        emails   {data} NOT NULL,
        etat     TEXT NOT NULL,
        cle      TEXT,
        sceau    TEXT NOT NULL,
        CONSTRAINT journal_position_unique PRIMARY KEY (numero, position)
    )""",
        f"""CREATE TABLE IF NOT EXISTS outbox (
        id        {outbox_id},
        numero    TEXT NOT NULL REFERENCES dossiers (numero),
        version   INTEGER NOT NULL,
        template  TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject   TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        {delivery}
    )""",
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (id) WHERE sent_at IS NULL AND dead_at IS NULL",
        "CREATE INDEX IF NOT EXISTS outbox_dead ON outbox (id) WHERE dead_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS outbox_by_version ON outbox (numero, version)",
        f"""CREATE TABLE IF NOT EXISTS events (
        id        {outbox_id},
        event_id  TEXT NOT NULL CONSTRAINT event_unique UNIQUE,
        numero    TEXT NOT NULL REFERENCES dossiers (numero),
        version   INTEGER NOT NULL,
        type      TEXT NOT NULL,
        payload   TEXT NOT NULL,
        {delivery}
    )""",
        "CREATE INDEX IF NOT EXISTS events_due ON events (id) WHERE sent_at IS NULL AND dead_at IS NULL",
        "CREATE INDEX IF NOT EXISTS events_dead ON events (id) WHERE dead_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS events_by_version ON events (numero, version)",
        """CREATE TABLE IF NOT EXISTS commands (
        command_id TEXT NOT NULL CONSTRAINT commande_unique PRIMARY KEY,
        numero     TEXT NOT NULL REFERENCES dossiers (numero),
        trigger    TEXT NOT NULL,
        version    INTEGER NOT NULL,
        actor_role TEXT NOT NULL,
        actor_id   TEXT NOT NULL,
        subject    TEXT NOT NULL,
        digest     TEXT NOT NULL
    )""",
        # One row per number prefix: incremented in the transaction that inserts the dossier.
        """CREATE TABLE IF NOT EXISTS numbering (
        prefix TEXT NOT NULL PRIMARY KEY,
        last   INTEGER NOT NULL CHECK (last >= 0)
    )""",
        *SUMMARY_INDEXES,
    )


#: The order in which a write transaction takes its tables (``create``: the counter row, then the new
#: dossier row; every write: the dossier row, its journal row, events, e-mails, the command record).
#: Whatever else locks several of them (schema changes) takes them in this order too: no lock cycle.
LOCK_ORDER = ("numbering", "dossiers", "journal", "events", "outbox", "commands")

_CREATED = re.compile(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)")


def schema_objects(statements: Sequence[str]) -> tuple[str, ...]:
    """The tables and indexes ``statements`` (from :func:`schema`) create, by name."""
    return tuple(m.group(1) for statement in statements if (m := _CREATED.match(statement)))


def added_columns(*, moment: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Columns this version added to tables an older one created: ``ALTER TABLE … ADD COLUMN`` material."""
    return {
        "outbox": (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("claimed_by", "TEXT"), ("lease_until", moment),
                   ("not_before", moment), ("last_error", "TEXT"), ("dead_at", moment)),
        "commands": (("actor_role", "TEXT NOT NULL DEFAULT ''"), ("actor_id", "TEXT NOT NULL DEFAULT ''"),
                     ("subject", "TEXT NOT NULL DEFAULT ''"), ("digest", "TEXT NOT NULL DEFAULT ''")),
        # the worklist columns (issue 16), filled by the explicit migration
        "dossiers": tuple((c, _SUMMARY_TYPES[c].format(moment=moment)) for c in SUMMARY_COLUMNS),
    }


class _Rows(Protocol):
    """The result of ``execute`` (an ``sqlite3.Cursor`` or a psycopg cursor)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Cursor(Protocol):
    """What the shared code calls on a connection (sqlite3) or a cursor (psycopg)."""

    def execute(self, query: str, params: Sequence[Any], /) -> _Rows: ...
    def executemany(self, query: str, params_seq: Sequence[Sequence[Any]], /) -> object: ...


def _email(template: str, to: str, subject: str, text: str, html: str) -> Email:
    return Email(template=template, to=to, subject=subject, text=text, html=html)


@attrs.frozen
class Problem:
    """One finding of :meth:`SQLRepository.verify`: which dossier, what, where."""

    numero: str
    what: str
    where: str


#: The rows a claim may take: not settled, not held under a live lease, not waiting for a retry.
_DUE = ("sent_at IS NULL AND dead_at IS NULL AND (claimed_by IS NULL OR lease_until <= ?)"
        " AND (not_before IS NULL OR not_before <= ?)")
#: What a claim returns, per table (``id, numero, version, attempts`` first).
_CLAIMED = {
    "events": "id, numero, version, attempts, payload",
    "outbox": "id, numero, version, attempts, template, recipient, subject, body_text, body_html",
}
_TABLES: dict[EntryKind, str] = {"event": "events", "email": "outbox"}


def _method_errors(method: Callable[..., _T]) -> Callable[..., _T]:
    """A repository method whose driver errors become :class:`StorageError` (ours pass unchanged)."""

    @functools.wraps(method)
    def wrapper(self: SQLRepository, /, *args: Any, **kwargs: Any) -> _T:
        try:
            return method(self, *args, **kwargs)
        except WorkflowError:
            raise
        except Exception as exc:
            translated = self._storage_error(method.__name__, exc)
            if translated is None:
                raise
            raise translated from exc

    return wrapper


class SQLRepository(ABC):
    """A :class:`~segur_workflow.ports.DossierRepository` on the tables of :func:`schema`.

    Every guarantee rests on the database: the version check is a conditional ``UPDATE … WHERE
    version = ?``, uniqueness (number, provider, command id, event id) comes from the named
    constraints, numbers come from a counter row updated in the inserting transaction, and an outbox
    claim is one ``UPDATE … RETURNING`` statement. No driver exception leaves a public method: each
    becomes a :class:`~segur_workflow.errors.StorageError` (``StorageUnavailable`` when the server
    could not be reached).
    """

    #: The driver's placeholder: ``?`` (sqlite3, qmark) or ``%s`` (psycopg, format).
    PLACEHOLDER: ClassVar[str]
    #: The exception the driver raises for a broken constraint.
    INTEGRITY_ERROR: ClassVar[type[Exception] | tuple[type[Exception], ...]]
    #: Every exception of the driver (translated to ``StorageError``).
    DRIVER_ERROR: ClassVar[type[Exception] | tuple[type[Exception], ...]]
    #: The driver's errors that mean "not reachable now" (translated to ``StorageUnavailable``).
    UNAVAILABLE_ERROR: ClassVar[type[Exception] | tuple[type[Exception], ...]]
    #: The driver's errors for a transaction the server rolled back to break a lock cycle or a
    #: serialisation failure: nothing of it was written, so a write retried from a fresh read is safe
    #: (translated to ``ConcurrencyConflict``, which the service retries).
    ROLLED_BACK_ERROR: ClassVar[tuple[type[Exception], ...]] = ()
    #: Appended to the claim's row selection: PostgreSQL skips rows another claim is locking.
    CLAIM_LOCK: ClassVar[str] = ""

    def __init__(self, *, key: sealing.KeyArg = None) -> None:
        self._lock = threading.RLock()
        self._journal = Journal(sealing.sealer(key), self._codec())

    # -- driver hooks -------------------------------------------------------------------------------------------
    @abstractmethod
    def _transaction(self) -> AbstractContextManager[_Cursor]:
        """A write transaction: committed on exit, rolled back on any exception."""

    def _snapshot(self) -> AbstractContextManager[_Cursor]:
        """Several reads that must see one state."""
        return self._transaction()

    def _reading(self) -> AbstractContextManager[_Cursor]:
        """One read statement."""
        return self._transaction()

    def _loading(self) -> AbstractContextManager[_Cursor]:
        """The reads of :meth:`_load`, which must see one state."""
        return self._snapshot()

    @abstractmethod
    def _codec(self) -> Codec:
        """How the JSON columns are written and read (with the canonical bytes their digests cover)."""

    def _stamp(self) -> object:
        """A token, read before a read transaction, that changes whenever another connection commits.

        ``None`` (the default): no such token, a cached chain is never trusted and every read checks the
        whole journal again (digests only). Drivers with a per-dossier token override :meth:`_load`.
        """
        return None

    def _load(self, cur: _Cursor, numero: str, cached: Chain | None, stamp: object
              ) -> tuple[Snapshot | None, list[Any], object]:
        """The snapshot row, the journal rows still to check, and the stamp they were read under.

        The rows still to check: from ``cached.length`` on when ``stamp`` says nobody else wrote since
        ``cached`` was checked, else all of them.
        """
        row = cur.execute(self._sql("SELECT version, length, head, data FROM dossiers WHERE numero = ?"),
                          (numero,)).fetchone()
        if row is None:
            return None, [], stamp
        since = cached.length if cached is not None and stamp is not None and cached.stamp == stamp else 0
        rows = cur.execute(self._sql(f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE numero = ? AND position >= ?"
                                     " ORDER BY position"), (numero, since)).fetchall()
        return Snapshot(*row), rows, stamp

    def _columns(self, cur: _Cursor, table: str) -> set[str]:
        """The column names of ``table`` (empty when there is no such table)."""
        rows = cur.execute(self._sql("SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                                     " AND table_schema = current_schema()"), (table,)).fetchall()
        return {str(r[0]) for r in rows}

    def _check_layout(self, cur: _Cursor) -> None:
        """Refuse a database of the previous layout (history inside ``dossiers.data``): it is migrated explicitly."""
        columns = self._columns(cur, "dossiers")
        if columns and "head" not in columns:
            raise SerializationError(
                "dossiers", "base au format précédent (schéma 3, historique dans data, sans sceau) : migrez-la "
                "d'abord, explicitement (segur-workflow migrate --db FICHIER, avec la clé)")

    @abstractmethod
    def _constraint(self, exc: Exception) -> str | None:
        """The name of the constraint ``exc`` (an :attr:`INTEGRITY_ERROR`) reports, if it is one of ours."""

    @abstractmethod
    def _moment(self, value: datetime) -> object:
        """``value`` as written to a moment column (comparable in SQL with the other moments)."""

    @abstractmethod
    def _from_moment(self, value: Any) -> datetime:
        """A moment column read back, as an aware datetime."""

    def _create_tables(self, cur: _Cursor, statements: Sequence[str], *, moment: str) -> None:
        """The schema, after bringing tables of an older version up to date (commands recorded by it keep
        an empty digest: they are never replayed, which is the safe side)."""
        for table, columns in added_columns(moment=moment).items():
            present = self._columns(cur, table)
            for name, declaration in columns:
                if present and name not in present:
                    cur.execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}", ())
        for statement in statements:
            cur.execute(statement, ())

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _sql(self, statement: str) -> str:
        """``statement`` (written with ``?``) in the driver's placeholder style."""
        return statement.replace("?", self.PLACEHOLDER)

    def _storage_error(self, operation: str, exc: Exception) -> StorageError | None:
        """The ``StorageError`` for a driver's (or the value encoders') exception; ``None``: not a storage error."""
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        if isinstance(exc, self.UNAVAILABLE_ERROR):
            return StorageUnavailable(operation, reason)
        # OverflowError (an int beyond 64 bits), UnicodeError (a lone surrogate): values the driver
        # cannot encode; the boundary refuses them earlier, this is the last line.
        driver = self.DRIVER_ERROR if isinstance(self.DRIVER_ERROR, tuple) else (self.DRIVER_ERROR,)
        if isinstance(exc, (OverflowError, UnicodeError, *driver)):
            return StorageError(operation, reason)
        return None

    def _after_state_written(self, numero: str) -> None:  # noqa: B027 - empty on purpose, not abstract
        """Test hook: called after the state is written and before the outbox (fault injection)."""

    def _write_rest(self, cur: _Cursor, dossier: Dossier, version: int, emails: tuple[Email, ...],  # noqa: PLR0917
                    events: tuple[Event, ...], command: CommandRecord | None) -> None:
        """The outbox e-mails, the events and the applied command, in the transaction that wrote the state."""
        self._after_state_written(dossier.numero)
        if events:
            cur.executemany(
                self._sql("INSERT INTO events (event_id, numero, version, type, payload) VALUES (?, ?, ?, ?, ?)"),
                [(e.event_id, dossier.numero, version, type(e).__name__, event_to_json(e)) for e in events],
            )
        if emails:
            cur.executemany(
                self._sql("INSERT INTO outbox (numero, version, template, recipient, subject, body_text, body_html)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)"),
                [(dossier.numero, version, e.template, e.to, e.subject, e.text, e.html) for e in emails],
            )
        record = command_record(dossier, command)
        if record is not None:
            cur.execute(self._sql("INSERT INTO commands (command_id, numero, trigger, version, actor_role, actor_id,"
                                  " subject, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                        (record.command_id, dossier.numero, record.trigger, version, record.actor_role,
                         record.actor_id, record.subject, record.digest))

    def _refused(self, exc: Exception, dossier: Dossier, expected_version: int) -> Exception:
        """The domain error for a broken constraint (read after the rollback); ``exc`` itself if not ours."""
        constraint = self._constraint(exc)
        if constraint == "dossier_fournisseur_unique":
            existing = self.find_by_provider(dossier.fournisseur.ans_id)
            return DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
        if constraint == "journal_tete_perimee":  # a save's conditional UPDATE matched nothing
            with self._reading() as cur:
                self._refuse_stale(cur, dossier.numero, expected_version)
        if constraint in {"dossier_numero_unique", "commande_unique", "event_unique", "journal_position_unique"}:
            # The number or the command was taken by a concurrent writer: the caller reloads and retries.
            with self._reading() as cur:
                actual = self._version(cur, dossier.numero)
            return ConcurrencyConflict(dossier.numero, expected_version, actual)
        return exc

    def _version(self, cur: _Cursor, numero: str) -> int | None:
        row = cur.execute(self._sql("SELECT version FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        return None if row is None else int(row[0])

    def _insert(self, cur: _Cursor, dossier: Dossier, w: Written) -> Callable[[], object]:
        """The snapshot row and the first journal row of a new dossier; see :meth:`_insert_journal` for the result."""
        cur.execute(self._sql(f"INSERT INTO dossiers (numero, ans_id, status, version, length, head, data,"
                              f" {', '.join(SUMMARY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, w.version, w.position, w.sceau,
                     w.data,
                     *summary_values(dossier, self._moment)))
        return self._insert_journal(cur, dossier.numero, None, w)


    def _last_number(self, cur: _Cursor, prefix: str) -> str | None:
        # A range on the primary key (numbers are the prefix and 6 digits): an index seek from the top,
        # whatever other prefixes sort after this one.
        low, high = number_range(prefix)
        row = cur.execute(self._sql("SELECT numero FROM dossiers WHERE numero >= ? AND numero <= ?"
                                    " ORDER BY numero DESC LIMIT 1"), (low, high)).fetchone()
        return None if row is None else str(row[0])

    def _next_number(self, cur: _Cursor, prefix: str) -> int:
        """The prefix's counter, incremented (row-locked until the transaction ends)."""
        bump = self._sql("UPDATE numbering SET last = last + 1 WHERE prefix = ? RETURNING last")
        row = cur.execute(bump, (prefix,)).fetchone()
        if row is None:
            # First number of this prefix here: start from what is stored (dossiers added without a counter).
            cur.execute(self._sql("INSERT INTO numbering (prefix, last) VALUES (?, ?) ON CONFLICT (prefix) DO NOTHING"),
                        (prefix, number_value(prefix, self._last_number(cur, prefix))))
            row = cur.execute(bump, (prefix,)).fetchone()
        return int(row[0])

    def _insert_journal(self, cur: _Cursor, numero: str, base: Chain | None, w: Written) -> Callable[[], object]:
        """Append the journal row of ``w``; return what gives, once committed, the stamp its chain is trusted under.

        Default: the stamp ``base`` was checked under (or, for a new dossier, the one read inside this
        write transaction, which no other writer can commit during).
        """
        cur.execute(self._sql("INSERT INTO journal (numero, position, version, entries, emails, etat, cle, sceau)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                    (numero, w.position, w.version, w.entries, w.emails, w.etat, w.cle, w.sceau))
        stamp = base.stamp if base is not None else self._stamp()
        return lambda: stamp

    def _update_snapshot(self, cur: _Cursor, dossier: Dossier, w: Written, expected_version: int,
                         base: Chain) -> None:
        """The conditional UPDATE of the snapshot row; refuses (and so rolls back) when it matches nothing."""
        # The database checks the version and the head: two racing saves cannot both match, and a
        # snapshot changed behind this process's back does not match either.
        # Almost every save keeps the provider: leaving ``ans_id`` out of the SET spares SQLite a
        # rewrite of its unique index (a measurable share of a save, docs/benchmarks.md); a changed
        # provider does not match and takes the full statement, in the same transaction.
        # The same for the indexed worklist columns (siret, gestionnaire): the fast statement when unchanged.
        f = dossier.fournisseur
        changed_at = self._moment(dossier.date_changement_statut)
        updated = cur.execute(
            self._sql("UPDATE dossiers SET data = ?, status = ?, version = ?, length = ?, head = ?,"
                      " date_changement_statut = ?"
                      " WHERE numero = ? AND version = ? AND head = ? AND ans_id = ? AND siret = ?"
                      " AND raison_sociale = ? AND coalesce(gestionnaire, '') = ?"),
            (w.data, dossier.status.value, w.version, w.position, w.sceau, changed_at, dossier.numero,
             expected_version, base.head, f.ans_id, f.siret, f.raison_sociale, dossier.gestionnaire or ""),
        )
        if updated.rowcount != 1:
            updated = cur.execute(
                self._sql("UPDATE dossiers SET data = ?, status = ?, ans_id = ?, version = ?, length = ?, head = ?,"
                          " date_changement_statut = ?, siret = ?, raison_sociale = ?, gestionnaire = ?"
                          " WHERE numero = ? AND version = ? AND head = ?"),
                (w.data, dossier.status.value, f.ans_id, w.version, w.position, w.sceau, changed_at, f.siret,
                 f.raison_sociale, dossier.gestionnaire, dossier.numero, expected_version, base.head),
            )
        if updated.rowcount != 1:
            self._refuse_stale(cur, dossier.numero, expected_version)

    def _remember(self, chain: Chain, stamp: Callable[[], object]) -> None:
        with self._lock:
            self._journal.cache.put(attrs.evolve(chain, stamp=stamp()))

    # -- writes ------------------------------------------------------------------------------------------------
    @_method_errors
    def add(self, dossier: Dossier, *, outbox: Sequence[Email], events: Sequence[Event] = (),
            command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        emails, checked_events, command = check_writes(outbox, events, command)
        written = self._journal.prepare(dossier, None, version=1)
        try:
            with self._transaction() as cur:
                stamp = self._insert(cur, dossier, written)
                self._write_rest(cur, dossier, 1, emails, checked_events, command)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, 0) from exc
        except self.ROLLED_BACK_ERROR as exc:
            raise ConcurrencyConflict(dossier.numero, 0, None) from exc
        self._remember(written.chain, stamp)
        return 1

    @_method_errors
    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        prefix = check_text("prefix", prefix)
        new: NewDossier | None = None
        try:
            with self._transaction() as cur:
                numero = format_numero(prefix, self._next_number(cur, prefix))
                new = check_new(build(numero), numero)
                written = self._journal.prepare(new.dossier, None, version=1)
                stamp = self._insert(cur, new.dossier, written)
                self._write_rest(cur, new.dossier, 1, new.outbox, new.events, new.command)
        except self.INTEGRITY_ERROR as exc:
            assert new is not None  # only the inserts can break a constraint
            raise self._refused(exc, new.dossier, 0) from exc
        except self.ROLLED_BACK_ERROR as exc:  # rolled back whole, the number included: try again
            raise ConcurrencyConflict(new.dossier.numero if new is not None else prefix, 0, None) from exc
        self._remember(written.chain, stamp)
        return new

    @_method_errors
    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email],
             events: Sequence[Event] = (), command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails, checked_events, command = check_writes(outbox, events, command)
        version = expected_version + 1
        base = self._base(dossier.numero, expected_version)
        written = self._journal.prepare(dossier, base, version=version)
        try:
            with self._transaction() as cur:
                self._update_snapshot(cur, dossier, written, expected_version, base)
                stamp = self._insert_journal(cur, dossier.numero, base, written)
                self._write_rest(cur, dossier, version, emails, checked_events, command)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        except self.ROLLED_BACK_ERROR as exc:
            raise ConcurrencyConflict(dossier.numero, expected_version, None) from exc
        self._remember(written.chain, stamp)
        return version

    def _base(self, numero: str, expected_version: int) -> Chain:
        """The checked chain ``save`` writes on: the cached one if it is at ``expected_version``, else read."""
        with self._lock:
            chain = self._journal.cache.get(numero)
        if chain is not None and chain.version == expected_version:
            return chain
        stamp = self._stamp()
        with self._loading() as cur:
            snapshot, rows, stamp = self._load(cur, numero, None, stamp)
        if snapshot is None:
            raise DossierNotFound(numero)
        if snapshot.version != expected_version:
            raise ConcurrencyConflict(numero, expected_version, snapshot.version)
        with self._lock:
            chain, _ = self._journal.check(numero, snapshot, rows, None, stamp=stamp)
        return chain

    def _refuse_stale(self, cur: _Cursor, numero: str, expected_version: int) -> None:
        """Why the conditional UPDATE matched nothing: gone, stale, or changed behind our back."""
        row = cur.execute(self._sql("SELECT version, head FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        with self._lock:
            self._journal.cache.drop(numero)
        if row is None:
            raise DossierNotFound(numero)
        if int(row[0]) != expected_version:
            raise ConcurrencyConflict(numero, expected_version, int(row[0]))
        raise DossierAltere(numero, f"la tête de la version {expected_version} n'est plus celle qui a été vérifiée",
                            field="head")

    @_method_errors
    def mark_sent(self, email_id: int) -> None:
        if isinstance(email_id, bool) or not isinstance(email_id, int) or not SQL_INT_MIN <= email_id <= SQL_INT_MAX:
            return  # an id that cannot exist: ignored, as the port says of unknown ids
        with self._transaction() as cur:
            # A claimed entry is its holder's to settle (Dispatcher.mark_delivered).
            cur.execute(self._sql("UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL"
                                  " AND claimed_by IS NULL"), (self._moment(datetime.now(UTC)), email_id))

    # -- reads -------------------------------------------------------------------------------------------------
    @_method_errors
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        with self._lock:
            cached = self._journal.cache.get(numero)
        stamp = self._stamp()
        with self._loading() as cur:
            snapshot, rows, stamp = self._load(cur, numero, cached, stamp)
        if snapshot is None:
            raise DossierNotFound(numero)
        with self._lock:
            chain, dossier = self._journal.check(numero, snapshot, rows, cached, stamp=stamp)
        assert dossier is not None
        return Stored(dossier, chain.version)

    def verify(self, *, progress: Callable[[int, int], object] | None = None, page: int = 500) -> Iterator[Problem]:
        """Check every stored dossier and its whole chain; yield one :class:`Problem` per finding.

        Nothing is taken from the cache: each journal is read from its first row, every seal and every
        history entry checked. ``progress`` (optional) is called with (dossiers checked, dossiers in all),
        for a progress bar. Also reported: outbox e-mails and command records of versions the snapshot
        has not reached (the trace a rollback of both the snapshot and its journal leaves behind).

        It streams: dossiers are read ``page`` at a time in number order (a range on the key), with what
        the other tables say of them, so memory stays flat whatever the database's size.
        """
        with self._reading() as cur:
            total = int(cur.execute("SELECT count(*) FROM dossiers", ()).fetchone()[0])
            # Rows naming no stored dossier (one deleted behind the repository's back).
            orphans = [(table, str(r[0])) for table in ("journal", "outbox", "events", "commands")
                       for r in cur.execute(f"SELECT DISTINCT t.numero FROM {table} t WHERE NOT EXISTS"
                                            " (SELECT 1 FROM dossiers d WHERE d.numero = t.numero)"
                                            " ORDER BY t.numero", ()).fetchall()]
        for table, numero in orphans:
            yield Problem(numero, f"des lignes de {table} nomment un dossier absent (dossier supprimé ?)", table)
        checker = Journal(self._journal.sealer, self._journal.codec, capacity=1)
        done, after = 0, ""
        while True:
            with self._reading() as cur:
                numeros = [str(r[0]) for r in cur.execute(
                    self._sql("SELECT numero FROM dossiers WHERE numero > ? ORDER BY numero LIMIT ?"),
                    (after, page)).fetchall()]
                if not numeros:
                    return
                # The highest version an e-mail, an event or a command record of this page refers to.
                traces = {table: {str(n): int(v) for n, v in cur.execute(
                    self._sql(f"SELECT numero, max(version) FROM {table} WHERE numero >= ? AND numero <= ?"
                              " GROUP BY numero"), (numeros[0], numeros[-1])).fetchall()}
                          for table in ("outbox", "events", "commands")}
                # The page's worklist rows, read once for the page (search reads only them).
                listed = {str(r[0]): r for r in cur.execute(
                    self._sql(_SUMMARY_SELECT + " WHERE numero >= ? AND numero <= ?"),
                    (numeros[0], numeros[-1])).fetchall()}
            for numero in numeros:
                yield from self._verify_one(checker, numero, traces, listed.get(numero))
                done += 1
                if progress is not None:
                    progress(done, max(total, done))
            after = numeros[-1]

    def _checked(self, checker: Journal, numero: str) -> tuple[Chain, Dossier | None] | None:
        """``numero``'s chain read from its first row and checked whole (no cache); ``None``: no such dossier.

        Raises :class:`~segur_workflow.errors.DossierAltere` (or ``SerializationError``) when it does not verify.
        """
        with self._loading() as cur:  # PostgreSQL: one statement, one round trip
            snapshot, rows, _ = self._load(cur, numero, None, None)
        if snapshot is None:
            return None
        chain, dossier = checker.check(numero, snapshot, rows, None, entries=True)
        checker.cache.drop(numero)
        return chain, dossier

    def _verify_one(self, checker: Journal, numero: str, traces: dict[str, dict[str, int]],
                    listed: Sequence[Any] | None) -> Iterator[Problem]:
        try:
            checked = self._checked(checker, numero)
            if checked is None:
                return  # removed since the page was read
            chain, dossier = checked
            if dossier is not None and listed is not None:
                yield from self._verify_summary(numero, dossier, listed)
            for table in ("outbox", "events", "commands"):
                highest = traces[table].get(numero)
                if highest is not None and highest > chain.version:
                    yield Problem(numero, f"{table} à la version {highest} alors que le dossier est à la "
                                  f"version {chain.version} (retour en arrière ?)", table)
        except DossierAltere as exc:
            yield Problem(numero, exc.reason, exc.field)
        except SerializationError as exc:
            yield Problem(numero, exc.reason, exc.field)

    def _verify_summary(self, numero: str, dossier: Dossier, row: Sequence[Any]) -> Iterator[Problem]:
        """The worklist columns of ``numero``'s row against its verified dossier: ``search`` reads only
        them, so a column edited behind the repository's back would lie in every worklist."""
        listed = self._summary(row)  # SerializationError (reported by the caller) when never filled
        expected = DossierSummary.of(dossier, listed.version)
        for field in attrs.fields(DossierSummary):
            if getattr(listed, field.name) != getattr(expected, field.name):
                yield Problem(numero, "colonne de liste de travail différente du dossier scellé (les listes "
                              "de travail la montreraient fausse ; recalculez-la : segur-workflow migrate)",
                              f"dossiers.{field.name}")

    def _derived(self, dossier: Dossier) -> tuple[object, ...]:
        """What the :data:`_DERIVED` columns of ``dossier``'s row hold, as this driver writes them."""
        return (dossier.status.value, dossier.fournisseur.ans_id, *summary_values(dossier, self._moment))

    @_method_errors
    def fill_summaries(self, *, log: Callable[[str], object] | None = None, page: int = 500) -> int:
        """Re-derive the worklist columns of every row from its dossier, read and verified whole (seals, chain).

        The back-fill of a database whose layout is current but whose worklist columns are empty (written
        before they existed) or wrong (edited outside the library: :meth:`verify` reports them), reached by
        ``segur-workflow migrate`` (docs/desk.md). Returns the number of rows changed; ``log`` gets one line
        per row changed. Each row is its own transaction, written only if the dossier is still at the
        version checked (a save meanwhile writes the columns itself): running it again changes nothing.
        A dossier that does not verify stops it with :class:`~segur_workflow.errors.DossierAltere`, its
        row untouched (the rows before it stay re-derived).
        """
        say = log or (lambda _line: None)
        checker = Journal(self._journal.sealer, self._journal.codec, capacity=1)
        columns = ", ".join(_DERIVED)
        changed, after = 0, ""
        while True:
            with self._reading() as cur:
                listed = cur.execute(self._sql(f"SELECT numero, version, {columns} FROM dossiers WHERE numero > ?"
                                               " ORDER BY numero LIMIT ?"), (after, page)).fetchall()
            if not listed:
                return changed
            for numero, version, *stored in listed:
                chain, dossier = self._checked(checker, numero) or (None, None)
                if chain is None or dossier is None:
                    continue  # removed since the page was read
                wanted = self._derived(dossier)
                wrong = [c for c, have, want in zip(_DERIVED, stored, wanted, strict=True) if have != want]
                if not wrong or int(version) != chain.version:
                    continue  # right already, or saved since the page was read (a save writes them)
                with self._transaction() as cur:
                    done = cur.execute(
                        self._sql(f"UPDATE dossiers SET {', '.join(f'{c} = ?' for c in _DERIVED)}"
                                  " WHERE numero = ? AND version = ? AND head = ? RETURNING numero"),
                        (*wanted, numero, chain.version, chain.head))
                    if done.fetchone() is None:
                        continue  # saved meanwhile
                changed += 1
                say(f"{numero} : colonnes de liste de travail recalculées depuis le dossier scellé "
                    f"({', '.join(wrong)})")
            after = str(listed[-1][0])

    @_method_errors
    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._reading() as cur:
            rows = cur.execute(
                self._sql("SELECT id, numero, version, template, recipient, subject, body_text, body_html FROM outbox"
                          " WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT ?"), (limit,),
            ).fetchall()
        return [OutboxEmail(int(r[0]), r[1], r[2], _email(*r[3:])) for r in rows]

    @_method_errors
    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._reading() as cur:
            return self._last_number(cur, prefix)

    @_method_errors
    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._reading() as cur:
            row = cur.execute(self._sql("SELECT numero FROM dossiers WHERE ans_id = ?"), (ans_id,)).fetchone()
        return None if row is None else str(row[0])

    @_method_errors
    def search(self, *, status: Status | str | None = None, gestionnaire: str | None = None,
               ans_id: str | None = None, siret: str | None = None, limit: int = 100,
               after: str | None = None) -> list[DossierSummary]:
        wanted = check_search(status=status, gestionnaire=gestionnaire, ans_id=ans_id, siret=siret, limit=limit,
                              after=after)
        where: list[str] = []
        params: list[object] = []
        for column, value in (("status", wanted.status.value if wanted.status is not None else None),
                              ("gestionnaire", wanted.gestionnaire), ("ans_id", wanted.ans_id),
                              ("siret", wanted.siret)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if wanted.after is not None:
            where.append("numero > ?")
            params.append(wanted.after)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self._reading() as cur:
            rows = cur.execute(self._sql(f"{_SUMMARY_SELECT}{clause} ORDER BY numero LIMIT ?"),
                               (*params, wanted.limit)).fetchall()
        return [self._summary(r) for r in rows]

    def _summary(self, row: Sequence[Any]) -> DossierSummary:
        if row[6] is None or row[7] is None:  # a row of a database written before the worklist columns
            raise SerializationError(
                f"dossiers.{row[0]}",
                "colonnes des listes de travail non remplies (base d'une version antérieure) : migrez-la "
                "explicitement avec « segur-workflow migrate »",
            )
        try:
            status = Status(row[1])
        except ValueError:
            raise SerializationError(f"dossiers.{row[0]}.status", "statut inconnu") from None
        try:
            depot, changement = self._from_moment(row[6]), self._from_moment(row[7])
        except (TypeError, ValueError):  # a date column edited outside the library
            raise SerializationError(f"dossiers.{row[0]}", "date illisible dans les colonnes des listes de "
                                     "travail (recalculez-les : segur-workflow migrate)") from None
        return DossierSummary(numero=row[0], status=status, ans_id=row[2], siret=row[3],
                              raison_sociale=row[4], gestionnaire=row[5], date_depot=depot,
                              date_changement_statut=changement, version=int(row[8]))

    @_method_errors
    def workload(self, gestionnaires: Sequence[str]) -> dict[str, int]:
        names = check_gestionnaires(gestionnaires)
        load = dict.fromkeys(names, 0)
        if not names:
            return load
        marks = ", ".join("?" * len(names))
        states = ", ".join("?" * len(_OPEN))
        with self._reading() as cur:
            rows = cur.execute(
                self._sql(f"SELECT gestionnaire, count(*) FROM dossiers WHERE gestionnaire IN ({marks})"
                          f" AND status IN ({states}) GROUP BY gestionnaire"), (*names, *_OPEN),
            ).fetchall()
        for name, count in rows:
            load[name] = int(count)
        return load

    @_method_errors
    def find_command(self, command_id: str) -> AppliedCommand | None:
        command_id = check_text("command_id", command_id)
        with self._snapshot() as cur:
            row = cur.execute(self._sql("SELECT numero, trigger, version, actor_role, actor_id, subject, digest"
                                        " FROM commands WHERE command_id = ?"), (command_id,)).fetchone()
            if row is None:
                return None
            emails = cur.execute(
                self._sql("SELECT template, recipient, subject, body_text, body_html FROM outbox"
                          " WHERE numero = ? AND version = ? ORDER BY id"), (row[0], row[2]),
            ).fetchall()
            events = cur.execute(
                self._sql("SELECT payload FROM events WHERE numero = ? AND version = ? ORDER BY id"), (row[0], row[2]),
            ).fetchall()
        return AppliedCommand(command_id, row[0], row[1], int(row[2]), tuple(_email(*e) for e in emails),
                              actor_role=row[3], actor_id=row[4], subject=row[5], digest=row[6],
                              events=tuple(event_from_json(e[0]) for e in events))

    # -- the relay (segur_workflow.delivery) ------------------------------------------------------------------------
    @_method_errors
    def claim(self, worker_id: str, *, now: datetime, lease: timedelta, limit: int = 100,
              kinds: Sequence[EntryKind] = ("event", "email")) -> list[Claim]:
        worker_id, now, lease, limit = check_claim(worker_id, now, lease, limit)
        until = now + lease
        claims: list[Claim] = []
        for kind in check_kinds(kinds):
            table = _TABLES[kind]
            if len(claims) >= limit:
                break
            moment = self._moment(now)
            # One statement picks and takes the rows: two dispatchers can never both claim one entry.
            with self._transaction() as cur:
                rows = cur.execute(
                    self._sql(f"UPDATE {table} SET claimed_by = ?, lease_until = ?, attempts = attempts + 1"
                              f" WHERE id IN (SELECT id FROM {table} WHERE {_DUE} ORDER BY id LIMIT ?{self.CLAIM_LOCK})"
                              f" RETURNING {_CLAIMED[table]}"),
                    (worker_id, self._moment(until), moment, moment, limit - len(claims)),
                ).fetchall()
            for r in sorted(rows, key=lambda r: int(r[0])):
                common = {"kind": kind, "id": int(r[0]), "numero": r[1], "version": int(r[2]),
                          "worker_id": worker_id, "attempt": int(r[3]), "lease_until": until}
                if kind == "event":
                    claims.append(Claim(**common, event=event_from_json(r[4])))
                else:
                    claims.append(Claim(**common, email=_email(*r[4:])))
        return claims

    def _settle(self, claim: Claim, assignments: str, values: tuple[object, ...]) -> bool:
        claim = check_claim_value(claim)
        with self._transaction() as cur:
            done = cur.execute(
                self._sql(f"UPDATE {_TABLES[claim.kind]} SET {assignments}, claimed_by = NULL, lease_until = NULL"
                          " WHERE id = ? AND claimed_by = ? AND attempts = ? AND sent_at IS NULL AND dead_at IS NULL"
                          " RETURNING id"),
                (*values, claim.id, claim.worker_id, claim.attempt),
            )
            # RETURNING rather than rowcount: a pipelined write (PostgreSQL) knows its result only when read
            return done.fetchone() is not None

    @_method_errors
    def mark_delivered(self, claim: Claim, *, now: datetime) -> bool:
        return self._settle(claim, "sent_at = ?", (self._moment(check_now(now)),))

    @_method_errors
    def mark_failed(self, claim: Claim, *, now: datetime, error: str, retry_at: datetime | None) -> bool:
        now = check_now(now)
        error = check_text("error", error)[:2000]
        if retry_at is None:
            return self._settle(claim, "dead_at = ?, last_error = ?", (self._moment(now), error))
        return self._settle(claim, "not_before = ?, last_error = ?", (self._moment(check_now(retry_at)), error))

    @_method_errors
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        limit = check_limit(limit)
        letters: list[DeadLetter] = []
        with self._snapshot() as cur:
            sources: tuple[tuple[EntryKind, str, str], ...] = (
                ("event", "events", "type || ' ' || event_id"), ("email", "outbox", "recipient || ' : ' || subject"))
            for kind, table, summary in sources:
                rows = cur.execute(
                    self._sql(f"SELECT id, numero, version, attempts, last_error, dead_at, {summary} FROM {table}"
                              " WHERE dead_at IS NOT NULL ORDER BY id LIMIT ?"), (limit,),
                ).fetchall()
                letters += [DeadLetter(kind, int(r[0]), r[1], int(r[2]), int(r[3]), r[4] or "",
                                       self._from_moment(r[5]), r[6]) for r in rows]
        return sorted(letters, key=lambda d: (d.dead_at, d.kind, d.id))[:limit]

    @_method_errors
    def requeue(self, kind: EntryKind, entry_id: int) -> bool:
        table = _TABLES.get(kind)
        if table is None:
            raise InvalidInput("kind", "« email » ou « event »", kind)
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not SQL_INT_MIN <= entry_id <= SQL_INT_MAX:
            raise InvalidInput("entry_id", "un identifiant entier d'entrée", entry_id)
        with self._transaction() as cur:
            done = cur.execute(
                self._sql(f"UPDATE {table} SET dead_at = NULL, attempts = 0, not_before = NULL, claimed_by = NULL,"
                          " lease_until = NULL WHERE id = ? AND dead_at IS NOT NULL RETURNING id"), (entry_id,),
            )
            return done.fetchone() is not None
