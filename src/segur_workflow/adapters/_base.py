"""The base of the SQL repositories: the driver hooks a subclass brings (placeholder style, transactions,
the JSON codec, moments, which constraint an error names), the translation of driver errors, rows → values."""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar

from .. import _seal as sealing
from .._email import Email
from ..errors import (
    SerializationError,
    StorageError,
    StorageUnavailable,
    WorkflowError,
)
from ..ports import DossierSummary
from ..states import Status
from ._journal import Codec, Journal, Snapshot
from ._schema import JOURNAL_COLUMNS, added_columns

_T = TypeVar("_T")

__all__ = ["SQLBase", "_DriverErrors", "method_errors"]


#: :meth:`SQLBase._load`'s statement: the snapshot row and its journal's head row.
_LOAD = ("SELECT d.version, d.length, d.head, d.data, "
         + ", ".join(f"j.{c.strip()}" for c in JOURNAL_COLUMNS.split(","))
         + " FROM dossiers d LEFT JOIN journal j ON j.numero = d.numero AND j.position = d.length WHERE d.numero = ?")


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

class _DriverErrors:
    """``with _DriverErrors(repository, operation):`` the driver's errors inside become :class:`StorageError`
    naming ``operation`` (ours, and what is not a storage error, pass unchanged). A class, not a generator
    context manager: every repository call goes through it."""

    __slots__ = ("operation", "repository")

    def __init__(self, repository: SQLBase, operation: str) -> None:
        self.repository, self.operation = repository, operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if not isinstance(exc, Exception) or isinstance(exc, WorkflowError):
            return
        translated = self.repository._storage_error(self.operation, exc)
        if translated is not None:
            raise translated from exc


def method_errors(method: Callable[..., _T]) -> Callable[..., _T]:
    """A repository method whose driver errors become :class:`StorageError` (ours pass unchanged)."""

    @functools.wraps(method)
    def wrapper(self: SQLBase, /, *args: Any, **kwargs: Any) -> _T:
        self._check_open(method.__name__)
        with _DriverErrors(self, method.__name__):
            return method(self, *args, **kwargs)

    return wrapper


class SQLBase(ABC):
    """What the parts of :class:`~._sql.SQLRepository` share: the driver's hooks, the plumbing, rows → values."""

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
        """The reads of :meth:`_load_all` (``verify``), which must see one state. (:meth:`_load` is one
        statement, run by :meth:`_reading`.)"""
        return self._snapshot()

    @abstractmethod
    def _codec(self) -> Codec:
        """How the JSON columns are written and read (with the canonical bytes their digests cover)."""

    def _load(self, cur: _Cursor, numero: str) -> tuple[Snapshot | None, list[Any]]:
        """The snapshot row and its journal's head row (``[]``: no such row), in one statement."""
        row = cur.execute(self._sql(_LOAD), (numero,)).fetchone()
        if row is None:
            return None, []
        return Snapshot(*row[:4]), ([] if row[4] is None else [tuple(row[4:])])

    def _load_all(self, cur: _Cursor, numero: str) -> tuple[Snapshot | None, list[Any]]:
        """The snapshot row and every journal row (``verify``)."""
        row = cur.execute(self._sql("SELECT version, length, head, data FROM dossiers WHERE numero = ?"),
                          (numero,)).fetchone()
        if row is None:
            return None, []
        return Snapshot(*row), self._journal_rows(cur, numero, None)

    def _journal_rows(self, cur: _Cursor, numero: str, upto: int | None) -> list[Any]:
        """The journal rows 1 … ``upto`` (``None``: all) of ``numero``, in position order."""
        if upto is None:
            return cur.execute(self._sql(f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE numero = ? ORDER BY position"),
                               (numero,)).fetchall()
        return cur.execute(self._sql(f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE numero = ? AND position <= ?"
                                     " ORDER BY position"), (numero, upto)).fetchall()

    #: Set by ``close()``: a history read later cannot reach its rows any more (a clear error, not the driver's).
    _closed: bool = False

    def _check_open(self, operation: str) -> None:
        """Refuse a call on a closed repository in its own words (not the driver's for a closed connection or pool)."""
        if self._closed:
            raise StorageError(operation, "le dépôt a été fermé (close()) : ouvrez-en un nouveau")

    def _fetch_prefix(self, numero: str, upto: int) -> list[Any]:
        """What a :class:`~segur_workflow.history.History` read from this repository reads when first needed: the
        journal rows below the head that was checked (one statement, on a connection of its own)."""
        operation = f"lecture de l'historique du dossier {numero}"
        if self._closed:
            raise StorageError(operation, "le dépôt a été fermé avant que cet historique soit lu : lisez-le "
                                          "(par exemple tuple(dossier.history)) avant de fermer le dépôt")
        with _DriverErrors(self, operation), self._reading() as cur:
            return self._journal_rows(cur, numero, upto)

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
                "d'abord, explicitement (segur-workflow migrate --db BASE, avec la clé)")
        journal = self._columns(cur, "journal")
        if journal and "precedent" not in journal:
            raise SerializationError(
                "journal", "journal au format 2 (une version de développement jamais publiée, sans l'empreinte du "
                "journal précédent dans chaque ligne) : ce format n'est plus lu (docs/persistence.md)")

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

    def _version(self, cur: _Cursor, numero: str) -> int | None:
        row = cur.execute(self._sql("SELECT version FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        return None if row is None else int(row[0])
