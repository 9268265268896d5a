"""SQLite repository (stdlib ``sqlite3``): the embedded default, used by the demo.

WAL journal (readers never block the writer), a busy timeout instead of immediate "database is
locked" errors, and ``BEGIN IMMEDIATE`` for writes so two writers queue instead of deadlocking on a
lock upgrade. The version check is a conditional ``UPDATE … WHERE version = ?`` and uniqueness
comes from the table constraints: several processes may share one file safely.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from ..emails import Email
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest
from ..model import Dossier
from ..ports import AppliedCommand, OutboxEmail, Stored
from ..serialization import from_json, to_json
from . import applied_command_id, check_dossier, check_limit, check_outbox, check_text, check_version

__all__ = ["SCHEMA", "SQLiteRepository"]

#: The tables (created if missing when the repository opens the file).
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dossiers (
        numero  TEXT NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  TEXT NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        data    TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        numero    TEXT NOT NULL REFERENCES dossiers (numero),
        version   INTEGER NOT NULL,
        template  TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject   TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        sent_at   TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbox_by_version ON outbox (numero, version)",
    """CREATE TABLE IF NOT EXISTS commands (
        command_id TEXT NOT NULL CONSTRAINT commande_unique PRIMARY KEY,
        numero     TEXT NOT NULL REFERENCES dossiers (numero),
        trigger    TEXT NOT NULL,
        version    INTEGER NOT NULL
    )""",
)


class SQLiteRepository:
    """A :class:`~segur_workflow.ports.DossierRepository` on an SQLite file.

    One connection per repository, shared by threads under a lock; open one repository per
    process. ``path`` may be ``":memory:"`` (then WAL does not apply and nothing is shared).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        with self._transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    # -- plumbing ----------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute(f"BEGIN {mode}")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteRepository:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _after_state_written(self, numero: str) -> None:
        """Test hook: called after the state is written and before the outbox (fault injection)."""

    def _write_rest(self, conn: sqlite3.Connection, dossier: Dossier, version: int, emails: tuple[Email, ...]) -> None:
        self._after_state_written(dossier.numero)
        conn.executemany(
            "INSERT INTO outbox (numero, version, template, recipient, subject, body_text, body_html)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(dossier.numero, version, e.template, e.to, e.subject, e.text, e.html) for e in emails],
        )
        command_id = applied_command_id(dossier)
        if command_id is not None:
            conn.execute("INSERT INTO commands (command_id, numero, trigger, version) VALUES (?, ?, ?, ?)",
                         (command_id, dossier.numero, dossier.history[-1].trigger, version))

    def _refused(self, exc: sqlite3.IntegrityError, dossier: Dossier, expected_version: int) -> Exception:
        """The domain error for a broken constraint (read after the rollback)."""
        message = str(exc)
        if "dossiers.ans_id" in message:
            existing = self.find_by_provider(dossier.fournisseur.ans_id)
            return DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
        if "dossiers.numero" in message or "commands.command_id" in message:
            # The number or the command was taken by a concurrent writer: the caller reloads and retries.
            return ConcurrencyConflict(dossier.numero, expected_version, self._version(dossier.numero))
        return exc

    def _version(self, numero: str) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT version FROM dossiers WHERE numero = ?", (numero,)).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        data = to_json(dossier)
        try:
            with self._transaction() as conn:
                conn.execute("INSERT INTO dossiers (numero, ans_id, status, version, data) VALUES (?, ?, ?, 1, ?)",
                             (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, data))
                self._write_rest(conn, dossier, 1, emails)
        except sqlite3.IntegrityError as exc:
            raise self._refused(exc, dossier, 0) from exc
        return 1

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails = check_outbox(outbox)
        data = to_json(dossier)
        version = expected_version + 1
        try:
            with self._transaction() as conn:
                cursor = conn.execute(
                    "UPDATE dossiers SET data = ?, status = ?, ans_id = ?, version = ?"
                    " WHERE numero = ? AND version = ?",
                    (data, dossier.status.value, dossier.fournisseur.ans_id, version, dossier.numero,
                     expected_version),
                )
                if cursor.rowcount != 1:
                    row = conn.execute("SELECT version FROM dossiers WHERE numero = ?", (dossier.numero,)).fetchone()
                    if row is None:
                        raise DossierNotFound(dossier.numero)
                    raise ConcurrencyConflict(dossier.numero, expected_version, int(row[0]))
                self._write_rest(conn, dossier, version, emails)
        except sqlite3.IntegrityError as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        return version

    def mark_sent(self, email_id: int) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE outbox SET sent_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
                         " WHERE id = ? AND sent_at IS NULL", (email_id,))

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        with self._lock:
            row = self._conn.execute("SELECT data, version FROM dossiers WHERE numero = ?", (numero,)).fetchone()
        if row is None:
            raise DossierNotFound(numero)
        return Stored(from_json(row[0]), int(row[1]))

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, numero, version, template, recipient, subject, body_text, body_html FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT ?", (limit,),
            ).fetchall()
        return [OutboxEmail(r[0], r[1], r[2], Email(template=r[3], to=r[4], subject=r[5], text=r[6], html=r[7]))
                for r in rows]

    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._lock:
            row = self._conn.execute("SELECT max(numero) FROM dossiers WHERE substr(numero, 1, ?) = ?",
                                     (len(prefix), prefix)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._lock:
            row = self._conn.execute("SELECT numero FROM dossiers WHERE ans_id = ?", (ans_id,)).fetchone()
        return None if row is None else str(row[0])

    def find_command(self, command_id: str) -> AppliedCommand | None:
        command_id = check_text("command_id", command_id)
        with self._transaction("DEFERRED") as conn:
            row = conn.execute("SELECT numero, trigger, version FROM commands WHERE command_id = ?",
                               (command_id,)).fetchone()
            if row is None:
                return None
            emails = conn.execute(
                "SELECT template, recipient, subject, body_text, body_html FROM outbox"
                " WHERE numero = ? AND version = ? ORDER BY id", (row[0], row[2]),
            ).fetchall()
        return AppliedCommand(command_id, row[0], row[1], int(row[2]),
                              tuple(Email(template=e[0], to=e[1], subject=e[2], text=e[3], html=e[4]) for e in emails))
