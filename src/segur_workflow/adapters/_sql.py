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
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from ..emails import Email
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest
from ..model import Dossier
from ..ports import AppliedCommand, DossierSummary, OutboxEmail, Stored, check_search
from ..states import Status
from . import (
    applied_command_id,
    check_dossier,
    check_gestionnaires,
    check_limit,
    check_outbox,
    check_text,
    check_version,
)

__all__ = ["SUMMARY_COLUMNS", "SUMMARY_INDEXES", "SQLRepository", "schema"]


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
        data    {data} NOT NULL,
        {_summary_columns(moment)}
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


#: The worklist columns of ``dossiers`` beside ``numero``, ``ans_id``, ``status`` and ``version``
#: (``DossierSummary``) and their types (``{moment}``: the database's date type): written with the
#: dossier, read by ``search`` without the history. NULL dates only on rows written before these
#: columns existed, until the upgrade (:meth:`SQLRepository._prepare_summaries`) fills them.
_SUMMARY_TYPES = {
    "siret": "TEXT NOT NULL DEFAULT ''",
    "raison_sociale": "TEXT NOT NULL DEFAULT ''",
    "gestionnaire": "TEXT",
    "date_depot": "{moment}",
    "date_changement_statut": "{moment}",
}
SUMMARY_COLUMNS = tuple(_SUMMARY_TYPES)

#: The indexes of the worklists: one per filter, each ending with ``numero`` (keyset order).
SUMMARY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS dossier_by_status ON dossiers (status, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_gestionnaire ON dossiers (gestionnaire, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_siret ON dossiers (siret, numero)",
)

_SUMMARY_SELECT = ("SELECT numero, status, ans_id, siret, raison_sociale, gestionnaire, date_depot,"
                   " date_changement_statut, version FROM dossiers")

#: The non-final statuses, for ``workload`` (a view of the definition).
_OPEN = tuple(s.value for s in Status if not s.final)


def _summary_column(column: str, moment: str) -> str:
    return f"{column} {_SUMMARY_TYPES[column].format(moment=moment)}"


def _summary_columns(moment: str) -> str:
    return ",\n        ".join(_summary_column(c, moment) for c in SUMMARY_COLUMNS)


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
    def _moment(self, value: datetime) -> object:
        """A datetime as written to a date column."""

    @abstractmethod
    def _from_moment(self, value: Any) -> datetime:
        """A datetime read back from a date column (aware)."""

    @abstractmethod
    def _columns(self, cur: _Cursor, table: str) -> set[str]:
        """The column names of ``table``."""

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
                        (command_id, dossier.numero, dossier.history[-1].trigger, version))

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

    def _prepare_summaries(self, cur: _Cursor) -> None:
        """Add the worklist columns to a ``dossiers`` table written before they existed, fill them from
        each stored dossier, then create the worklist indexes. Run when the repository opens its tables."""
        missing = [c for c in SUMMARY_COLUMNS if c not in self._columns(cur, "dossiers")]
        if missing:
            for column in missing:
                cur.execute(f"ALTER TABLE dossiers ADD COLUMN {_summary_column(column, self._moment_type)}", ())
            for numero, data in cur.execute("SELECT numero, data FROM dossiers", ()).fetchall():
                d = self._from_data_column(data)
                cur.execute(self._sql("UPDATE dossiers SET siret = ?, raison_sociale = ?, gestionnaire = ?,"
                                      " date_depot = ?, date_changement_statut = ? WHERE numero = ?"),
                            (d.fournisseur.siret, d.fournisseur.raison_sociale, d.gestionnaire,
                             self._moment(d.date_depot), self._moment(d.date_changement_statut), numero))
        for statement in SUMMARY_INDEXES:
            cur.execute(statement, ())

    #: The type of the date columns (``schema(moment=…)``), for the upgrade of older tables.
    _moment_type: ClassVar[str]

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        data = self._data_column(dossier)
        f = dossier.fournisseur
        try:
            with self._transaction() as cur:
                cur.execute(self._sql("INSERT INTO dossiers (numero, ans_id, status, version, data, siret,"
                                      " raison_sociale, gestionnaire, date_depot, date_changement_statut)"
                                      " VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?)"),
                            (dossier.numero, f.ans_id, dossier.status.value, data, f.siret, f.raison_sociale,
                             dossier.gestionnaire, self._moment(dossier.date_depot),
                             self._moment(dossier.date_changement_statut)))
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
        f = dossier.fournisseur
        changed_at = self._moment(dossier.date_changement_statut)
        try:
            with self._transaction() as cur:
                # The database checks the version: two racing saves cannot both match.
                # Almost every save keeps the provider and the gestionnaire: leaving the indexed columns
                # out of the SET spares SQLite a rewrite of their indexes (a measurable share of a save,
                # docs/benchmarks.md); a changed one does not match and takes the full statement, in
                # the same transaction.
                updated = cur.execute(
                    self._sql("UPDATE dossiers SET data = ?, status = ?, version = ?, date_changement_statut = ?"
                              " WHERE numero = ? AND version = ? AND ans_id = ? AND siret = ? AND raison_sociale = ?"
                              " AND coalesce(gestionnaire, '') = ?"),
                    (data, dossier.status.value, version, changed_at, dossier.numero, expected_version,
                     f.ans_id, f.siret, f.raison_sociale, dossier.gestionnaire or ""),
                )
                if updated.rowcount != 1:
                    updated = cur.execute(
                        self._sql("UPDATE dossiers SET data = ?, status = ?, ans_id = ?, version = ?,"
                                  " date_changement_statut = ?, siret = ?, raison_sociale = ?, gestionnaire = ?"
                                  " WHERE numero = ? AND version = ?"),
                        (data, dossier.status.value, f.ans_id, version, changed_at, f.siret, f.raison_sociale,
                         dossier.gestionnaire, dossier.numero, expected_version),
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
        return DossierSummary(numero=row[0], status=Status(row[1]), ans_id=row[2], siret=row[3],
                              raison_sociale=row[4], gestionnaire=row[5], date_depot=self._from_moment(row[6]),
                              date_changement_statut=self._from_moment(row[7]), version=int(row[8]))

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
