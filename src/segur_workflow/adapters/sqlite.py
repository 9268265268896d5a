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
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from ..errors import InvalidInput, StorageError, StorageUnavailable
from ..model import Dossier
from ..serialization import from_json, to_json
from ._sql import SUMMARY_COLUMNS, SQLRepository, schema

__all__ = ["SCHEMA", "SQLiteRepository"]

#: The tables (created if missing when the repository opens the file).
SCHEMA = schema(data="TEXT", outbox_id="INTEGER PRIMARY KEY AUTOINCREMENT", moment="TEXT")

#: SQLite names the columns of a broken UNIQUE constraint, not the constraint: ours by column.
_CONSTRAINTS = {
    "dossiers.ans_id": "dossier_fournisseur_unique",
    "dossiers.numero": "dossier_numero_unique",
    "commands.command_id": "commande_unique",
}


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

    _moment_type = "TEXT"

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False) -> None:
        """Open (and create if needed) the database file ``path``.

        ``read_only``: open an existing file for reading only (SQLite URI ``mode=ro``): nothing is ever
        created or written, every write raises, and a file that is not a database of this library is
        refused with :class:`~segur_workflow.errors.InvalidInput` before anything is read.
        """
        super().__init__()
        self.path = os.fspath(path)
        self.read_only: bool = read_only is True
        if self.read_only:
            uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
            self._check_readable()
            return
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            with self._transaction() as conn:
                for statement in SCHEMA:
                    conn.execute(statement)
                self._prepare_summaries(conn)
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
        if not {"dossiers", "outbox", "commands"} <= tables or not set(SUMMARY_COLUMNS) <= columns:
            self._conn.close()
            raise InvalidInput("path", "une base SQLite de segur-workflow (tables dossiers, outbox, commands)",
                               self.path)

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

    def _data_column(self, dossier: Dossier) -> str:
        return to_json(dossier)

    def _from_data_column(self, value: Any) -> Dossier:
        return from_json(value)

    def _columns(self, cur: Any, table: str) -> set[str]:
        return {str(r[1]) for r in cur.execute(f"PRAGMA table_info({table})", ()).fetchall()}

    def _constraint(self, exc: Exception) -> str | None:
        message = str(exc)
        return next((name for column, name in _CONSTRAINTS.items() if column in message), None)

    def _moment(self, value: datetime) -> str:
        # Fixed width, UTC: the text order is the time order, so SQL compares moments as strings.
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _from_moment(self, value: Any) -> datetime:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
