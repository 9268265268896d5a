"""SQLite repository (stdlib ``sqlite3``): the embedded default, used by the demo.

WAL journal (readers never block the writer), a busy timeout instead of immediate "database is
locked" errors, and ``BEGIN IMMEDIATE`` for writes so two writers queue instead of deadlocking on a
lock upgrade. The version check is a conditional ``UPDATE … WHERE version = ?`` and uniqueness
comes from the table constraints: several processes may share one file safely. The statements and
their error mapping are shared with PostgreSQL (:mod:`._sql`); what is here is SQLite's own.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from .. import _seal as sealing
from ..errors import InvalidInput, SerializationError, StorageError, StorageUnavailable
from ..serialization import loads
from ._journal import Codec, Snapshot
from ._schema import SUMMARY_COLUMNS, schema
from ._sql import SQLRepository

__all__ = ["SCHEMA", "SQLiteRepository", "migrate_database"]

_R = TypeVar("_R")

#: The tables (created if missing when the repository opens the file).
MOMENT = "TEXT"
SCHEMA = schema(data="TEXT", outbox_id="INTEGER PRIMARY KEY AUTOINCREMENT", moment=MOMENT)

#: SQLite names the columns of a broken UNIQUE constraint, not the constraint: ours by column.
_CONSTRAINTS = {
    "dossiers.ans_id": "dossier_fournisseur_unique",
    "dossiers.numero": "dossier_numero_unique",
    "commands.command_id": "commande_unique",
    "events.event_id": "event_unique",
    "journal.numero, journal.position": "journal_position_unique",
}


def _lenient(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _moment_text(value: datetime) -> str:
    # Fixed width, UTC: the text order is the time order, so SQL compares moments as strings.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_MOMENT_WIDTH = len("2026-12-01T10:00:00.000000Z")


def _encode(value: object) -> tuple[str, bytes]:
    # The column holds the canonical text itself: its digest is the digest of what is stored.
    data = sealing.canonical(value)
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        raise SerializationError("data", "texte non encodable en UTF-8 (caractère isolé de paire de substitution)"
                                 ) from None


def _content(column: object) -> bytes:
    if not isinstance(column, str):
        raise SerializationError("data", f"texte JSON attendu, {type(column).__name__} stocké")
    return column.encode("utf-8", "surrogateescape")


def _parse(column: object) -> object:
    # Only text whose digest matched is parsed: text this adapter wrote (canonical JSON, no floats), so
    # orjson reads it as json would; what orjson cannot read goes to the careful reader.
    if not isinstance(column, str):
        return column
    try:
        return orjson.loads(column)
    except orjson.JSONDecodeError:
        return loads(column)


_CODEC = Codec(_encode, _content, _parse)


class SQLiteRepository(SQLRepository):
    """A :class:`~segur_workflow.ports.DossierRepository` on an SQLite file.

    One connection per repository, shared by threads under a lock; open one repository per
    process. ``path`` may be ``":memory:"`` (then WAL does not apply and nothing is shared).
    """

    PLACEHOLDER = "?"
    INTEGRITY_ERROR = sqlite3.IntegrityError
    DRIVER_ERROR = sqlite3.Error
    # "database is locked" past the busy timeout, a vanished file: worth trying again later.
    UNAVAILABLE_ERROR = sqlite3.OperationalError

    def __init__(self, path: str | os.PathLike[str], *, key: sealing.KeyArg = None, timeout: float = 30.0,
                 read_only: bool = False) -> None:
        """Open (and create if needed) the database file ``path``.

        ``read_only``: open an existing file for reading only (SQLite URI ``mode=ro``): nothing is ever
        created or written, every write raises :class:`~segur_workflow.errors.StorageError`, and a file
        that is not a database of this library is refused with
        :class:`~segur_workflow.errors.InvalidInput` before anything is read.
        """
        super().__init__(key=key)
        self.path = os.fspath(path)
        self.read_only: bool = read_only is True
        if self.read_only:
            uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
            self._conn.text_factory = _lenient
            self._check_readable()
            return
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            # Bytes that are not UTF-8 (an edited file) are read as they are, to be refused by their digest,
            # instead of failing inside the driver.
            self._conn.text_factory = _lenient
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            with self._transaction() as conn:
                self._check_layout(conn)
                self._create_tables(conn, SCHEMA, moment=MOMENT)
        except sqlite3.Error as exc:
            error = StorageUnavailable if isinstance(exc, sqlite3.OperationalError) else StorageError
            raise error("ouverture", f"{type(exc).__name__}: {exc}") from exc

    def _check_readable(self) -> None:
        """Refuse a file that is not an SQLite database, or one without this library's tables."""
        try:
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            columns = self._columns(self._conn, "dossiers") if "dossiers" in tables else set()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise InvalidInput("path", "une base SQLite de segur-workflow", self.path) from exc
        if not {"dossiers", "outbox", "commands"} <= tables:
            self._conn.close()
            raise InvalidInput("path", "une base SQLite de segur-workflow (tables dossiers, outbox, commands)",
                               self.path)
        self._check_layout(self._conn)  # the previous layout: SerializationError, "migrate it first"
        if not set(SUMMARY_COLUMNS) <= columns:  # written before the worklist columns: nothing to list yet
            self._conn.close()
            raise SerializationError("dossiers", "colonnes des listes de travail absentes (base d'une version "
                                     "antérieure) : ajoutez-les et remplissez-les explicitement avec "
                                     "« segur-workflow migrate »")

    # -- driver hooks ------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: two writers queue instead of failing on an upgrade.
        if mode == "IMMEDIATE" and self.read_only:
            raise StorageError("écriture", "la base est ouverte en lecture seule")
        with self._lock:
            self._conn.execute(f"BEGIN {mode}")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("DEFERRED")

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        # Autocommit mode: a lone SELECT is its own transaction.
        with self._lock:
            yield self._conn

    def _codec(self) -> Codec:
        return _CODEC

    def _decoded(self, read: Callable[[], _R]) -> _R:
        """``read()`` with the driver's own UTF-8 decoding (in C); only when a column is not UTF-8 (an edited
        file) is it read again through the lenient decoder, to be refused by its seal."""
        with self._lock:
            self._conn.text_factory = str
            try:
                return read()
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):
                    raise
            finally:
                self._conn.text_factory = _lenient
            return read()

    def _load(self, cur: Any, numero: str) -> tuple[Snapshot | None, list[Any]]:
        return self._decoded(lambda: super(SQLiteRepository, self)._load(cur, numero))

    def _journal_rows(self, cur: Any, numero: str, upto: int | None) -> list[Any]:
        return self._decoded(lambda: super(SQLiteRepository, self)._journal_rows(cur, numero, upto))

    def _columns(self, cur: Any, table: str) -> set[str]:
        return {str(r[1]) for r in cur.execute(f"PRAGMA table_info({table})").fetchall()}

    def _constraint(self, exc: Exception) -> str | None:
        message = str(exc)
        return next((name for column, name in _CONSTRAINTS.items() if column in message), None)

    def _moment(self, value: datetime) -> str:
        return _moment_text(value)

    def _from_moment(self, value: Any) -> datetime:
        # Only the fixed-width UTC text _moment_text writes; fromisoformat reads it ~20× faster than
        # strptime (a worklist page reads two dates a row).
        if not isinstance(value, str) or len(value) != _MOMENT_WIDTH or not value.endswith("Z"):
            raise ValueError(f"moment illisible : {value!r:.40}")
        return datetime.fromisoformat(value)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            self._conn.close()


def migrate_database(path: str | os.PathLike[str], *, key: sealing.KeyArg = None,
                     log: Callable[[str], object] | None = None) -> int:
    """Migrate an SQLite database of the previous layout (schema 3: the whole dossier, history included,
    in ``dossiers.data``) to the sealed snapshot + journal layout; return the number of dossiers migrated.

    The explicit, logged migration of docs/security.md (:func:`._migration.migrate_layout`), in one
    transaction: one dossier refused and nothing is changed. A database already in the current
    layout is left as it is (0).
    """
    from ._migration import as_document, migrate_layout

    conn = sqlite3.connect(os.fspath(path), isolation_level=None, timeout=30.0)
    conn.text_factory = _lenient
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            count = migrate_layout(
                conn.execute, columns=lambda table: {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")},
                statements=SCHEMA, moment=MOMENT, codec=_CODEC, document_of=lambda data: as_document(loads(data)),
                key=key, say=log or (lambda _line: None), moment_value=_moment_text)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return count
    finally:
        conn.close()

