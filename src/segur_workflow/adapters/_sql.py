"""What the SQL adapters share: the statements, the version check, the outbox and command writes,
the mapping of broken constraints to domain errors, and rows → values.

A subclass brings its driver: the placeholder style, how a transaction is opened (and a plain read
done), how the ``data`` column is written and read, and which constraint an integrity error names.
The shared statements are written with ``?`` placeholders and contain no literal ``?``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from ..emails import Email
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest
from ..model import Dossier
from ..ports import AppliedCommand, OutboxEmail, Stored
from . import applied_command_id, applied_trigger, check_dossier, check_limit, check_outbox, check_text, check_version

__all__ = ["SQLRepository", "schema"]


def schema(*, data: str, outbox_id: str, moment: str) -> tuple[str, ...]:
    """The ``CREATE … IF NOT EXISTS`` statements, given the column types that differ between databases.

    ``data`` holds the serialised dossier, ``outbox_id`` is the outbox key (growing, never reused),
    ``moment`` the type of ``sent_at``. The constraint names are those :meth:`SQLRepository._refused`
    maps to domain errors.
    """
    return (
        f"""CREATE TABLE IF NOT EXISTS dossiers (
        numero  TEXT NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  TEXT NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        data    {data} NOT NULL
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
        sent_at   {moment}
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


class SQLRepository(ABC):
    """A :class:`~segur_workflow.ports.DossierRepository` on the three tables of :func:`schema`.

    Every guarantee rests on the database: the version check is a conditional ``UPDATE … WHERE
    version = ?`` and uniqueness (number, provider, command id) comes from the named constraints.
    One connection per repository, shared by threads under ``self._lock``.
    """

    #: The driver's placeholder: ``?`` (sqlite3, qmark) or ``%s`` (psycopg, format).
    PLACEHOLDER: ClassVar[str]
    #: The exception the driver raises for a broken constraint.
    INTEGRITY_ERROR: ClassVar[type[Exception]]

    def __init__(self) -> None:
        self._lock = threading.RLock()

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

    @abstractmethod
    def _data_column(self, dossier: Dossier) -> object:
        """The value written to ``dossiers.data``."""

    @abstractmethod
    def _from_data_column(self, value: Any) -> Dossier:
        """The dossier read back from ``dossiers.data`` (checked: may raise ``SerializationError``)."""

    @abstractmethod
    def _constraint(self, exc: Exception) -> str | None:
        """The name of the constraint ``exc`` (an :attr:`INTEGRITY_ERROR`) reports, if it is one of ours."""

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

    def _after_state_written(self, numero: str) -> None:  # noqa: B027 - empty on purpose, not abstract
        """Test hook: called after the state is written and before the outbox (fault injection)."""

    def _write_rest(self, cur: _Cursor, dossier: Dossier, version: int, emails: tuple[Email, ...]) -> None:
        """The outbox e-mails and the applied command, in the transaction that wrote the state."""
        self._after_state_written(dossier.numero)
        if emails:
            cur.executemany(
                self._sql("INSERT INTO outbox (numero, version, template, recipient, subject, body_text, body_html)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)"),
                [(dossier.numero, version, e.template, e.to, e.subject, e.text, e.html) for e in emails],
            )
        command_id = applied_command_id(dossier)
        if command_id is not None:
            cur.execute(self._sql("INSERT INTO commands (command_id, numero, trigger, version) VALUES (?, ?, ?, ?)"),
                        (command_id, dossier.numero, applied_trigger(dossier), version))

    def _refused(self, exc: Exception, dossier: Dossier, expected_version: int) -> Exception:
        """The domain error for a broken constraint (read after the rollback); ``exc`` itself if not ours."""
        constraint = self._constraint(exc)
        if constraint == "dossier_fournisseur_unique":
            existing = self.find_by_provider(dossier.fournisseur.ans_id)
            return DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
        if constraint in {"dossier_numero_unique", "commande_unique"}:
            # The number or the command was taken by a concurrent writer: the caller reloads and retries.
            with self._reading() as cur:
                actual = self._version(cur, dossier.numero)
            return ConcurrencyConflict(dossier.numero, expected_version, actual)
        return exc

    def _version(self, cur: _Cursor, numero: str) -> int | None:
        row = cur.execute(self._sql("SELECT version FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        data = self._data_column(dossier)
        try:
            with self._transaction() as cur:
                cur.execute(self._sql("INSERT INTO dossiers (numero, ans_id, status, version, data)"
                                      " VALUES (?, ?, ?, 1, ?)"),
                            (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, data))
                self._write_rest(cur, dossier, 1, emails)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, 0) from exc
        return 1

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails = check_outbox(outbox)
        data = self._data_column(dossier)
        version = expected_version + 1
        try:
            with self._transaction() as cur:
                # The database checks the version: two racing saves cannot both match.
                # Almost every save keeps the provider: leaving ``ans_id`` out of the SET spares SQLite
                # a rewrite of its unique index (a measurable share of a save, docs/benchmarks.md); a
                # changed provider does not match and takes the full statement, in the same transaction.
                updated = cur.execute(
                    self._sql("UPDATE dossiers SET data = ?, status = ?, version = ?"
                              " WHERE numero = ? AND version = ? AND ans_id = ?"),
                    (data, dossier.status.value, version, dossier.numero, expected_version,
                     dossier.fournisseur.ans_id),
                )
                if updated.rowcount != 1:
                    updated = cur.execute(
                        self._sql("UPDATE dossiers SET data = ?, status = ?, ans_id = ?, version = ?"
                                  " WHERE numero = ? AND version = ?"),
                        (data, dossier.status.value, dossier.fournisseur.ans_id, version, dossier.numero,
                         expected_version),
                    )
                if updated.rowcount != 1:
                    actual = self._version(cur, dossier.numero)
                    if actual is None:
                        raise DossierNotFound(dossier.numero)
                    raise ConcurrencyConflict(dossier.numero, expected_version, actual)
                self._write_rest(cur, dossier, version, emails)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        return version

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        with self._reading() as cur:
            row = cur.execute(self._sql("SELECT data, version FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        if row is None:
            raise DossierNotFound(numero)
        return Stored(self._from_data_column(row[0]), int(row[1]))

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._reading() as cur:
            rows = cur.execute(
                self._sql("SELECT id, numero, version, template, recipient, subject, body_text, body_html FROM outbox"
                          " WHERE sent_at IS NULL ORDER BY id LIMIT ?"), (limit,),
            ).fetchall()
        return [OutboxEmail(int(r[0]), r[1], r[2], _email(*r[3:])) for r in rows]

    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._reading() as cur:
            row = cur.execute(self._sql("SELECT max(numero) FROM dossiers WHERE substr(numero, 1, ?) = ?"),
                              (len(prefix), prefix)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._reading() as cur:
            row = cur.execute(self._sql("SELECT numero FROM dossiers WHERE ans_id = ?"), (ans_id,)).fetchone()
        return None if row is None else str(row[0])

    def find_command(self, command_id: str) -> AppliedCommand | None:
        command_id = check_text("command_id", command_id)
        with self._snapshot() as cur:
            row = cur.execute(self._sql("SELECT numero, trigger, version FROM commands WHERE command_id = ?"),
                              (command_id,)).fetchone()
            if row is None:
                return None
            emails = cur.execute(
                self._sql("SELECT template, recipient, subject, body_text, body_html FROM outbox"
                          " WHERE numero = ? AND version = ? ORDER BY id"), (row[0], row[2]),
            ).fetchall()
        return AppliedCommand(command_id, row[0], row[1], int(row[2]), tuple(_email(*e) for e in emails))
