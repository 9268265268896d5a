"""What the SQL adapters share: the statements, the version check, the sealed journal, the outbox and
command writes, the mapping of broken constraints to domain errors, and rows → values.

A subclass brings its driver: the placeholder style, how a transaction is opened (and a plain read
done), how the JSON columns are written and read (:class:`._journal.Codec`), which constraint an
integrity error names, and the "nobody else wrote since" stamp of the chain cache.
The shared statements are written with ``?`` placeholders and contain no literal ``?``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

import attrs

from .. import seal as sealing
from ..emails import Email
from ..errors import ConcurrencyConflict, DossierAltere, DossierNotFound, DuplicateFinancingRequest, SerializationError
from ..model import Dossier
from ..ports import AppliedCommand, OutboxEmail, Stored
from . import applied_command_id, check_dossier, check_limit, check_outbox, check_text, check_version
from ._journal import Chain, Codec, Journal, Snapshot, Written

__all__ = ["JOURNAL_COLUMNS", "Problem", "SQLRepository", "schema"]

#: The journal's columns, in the order :meth:`._journal.Journal.check` reads them.
JOURNAL_COLUMNS = "position, version, entries, emails, etat, cle, sceau"


def schema(*, data: str, outbox_id: str, moment: str) -> tuple[str, ...]:
    """The ``CREATE … IF NOT EXISTS`` statements, given the column types that differ between databases.

    ``data`` is the type of the JSON columns (the snapshot, a journal row's entries and e-mails),
    ``outbox_id`` the outbox key (growing, never reused), ``moment`` the type of ``sent_at``. The
    constraint names are those :meth:`SQLRepository._refused` maps to domain errors.
    """
    return (
        f"""CREATE TABLE IF NOT EXISTS dossiers (
        numero  TEXT NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  TEXT NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        length  INTEGER NOT NULL CHECK (length >= 1),
        head    TEXT NOT NULL,
        data    {data} NOT NULL
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


@attrs.frozen
class Problem:
    """One finding of :meth:`SQLRepository.verify`: which dossier, what, where."""

    numero: str
    what: str
    where: str


class SQLRepository(ABC):
    """A :class:`~segur_workflow.ports.DossierRepository` on the three tables of :func:`schema`.

    Every guarantee rests on the database: the version check is a conditional ``UPDATE … WHERE
    version = ?`` and uniqueness (number, provider, command id) comes from the named constraints.
    One connection per repository, shared by threads under ``self._lock``.
    """

    #: The driver's placeholder: ``?`` (sqlite3, qmark) or ``%s`` (psycopg, format).
    PLACEHOLDER: ClassVar[str]
    #: The exception the driver raises for a broken constraint.
    INTEGRITY_ERROR: ClassVar[type[Exception] | tuple[type[Exception], ...]]

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
        if constraint == "journal_tete_perimee":  # a save's conditional UPDATE matched nothing
            with self._reading() as cur:
                self._refuse_stale(cur, dossier.numero, expected_version)
        if constraint in {"dossier_numero_unique", "commande_unique", "journal_position_unique"}:
            # The number or the command was taken by a concurrent writer: the caller reloads and retries.
            with self._reading() as cur:
                actual = self._version(cur, dossier.numero)
            return ConcurrencyConflict(dossier.numero, expected_version, actual)
        return exc

    def _version(self, cur: _Cursor, numero: str) -> int | None:
        row = cur.execute(self._sql("SELECT version FROM dossiers WHERE numero = ?"), (numero,)).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------------------------------------
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
        updated = cur.execute(
            self._sql("UPDATE dossiers SET data = ?, status = ?, version = ?, length = ?, head = ?"
                      " WHERE numero = ? AND version = ? AND head = ? AND ans_id = ?"),
            (w.data, dossier.status.value, w.version, w.position, w.sceau, dossier.numero, expected_version,
             base.head, dossier.fournisseur.ans_id),
        )
        if updated.rowcount != 1:
            updated = cur.execute(
                self._sql("UPDATE dossiers SET data = ?, status = ?, ans_id = ?, version = ?, length = ?, head = ?"
                          " WHERE numero = ? AND version = ? AND head = ?"),
                (w.data, dossier.status.value, dossier.fournisseur.ans_id, w.version, w.position, w.sceau,
                 dossier.numero, expected_version, base.head),
            )
        if updated.rowcount != 1:
            self._refuse_stale(cur, dossier.numero, expected_version)

    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        written = self._journal.prepare(dossier, None, version=1)
        try:
            with self._transaction() as cur:
                cur.execute(self._sql("INSERT INTO dossiers (numero, ans_id, status, version, length, head, data)"
                                      " VALUES (?, ?, ?, 1, ?, ?, ?)"),
                            (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, written.position,
                             written.sceau, written.data))
                stamp = self._insert_journal(cur, dossier.numero, None, written)
                self._write_rest(cur, dossier, 1, emails)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, 0) from exc
        with self._lock:
            self._journal.cache.put(attrs.evolve(written.chain, stamp=stamp()))
        return 1

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

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails = check_outbox(outbox)
        version = expected_version + 1
        base = self._base(dossier.numero, expected_version)
        written = self._journal.prepare(dossier, base, version=version)
        try:
            with self._transaction() as cur:
                self._update_snapshot(cur, dossier, written, expected_version, base)
                stamp = self._insert_journal(cur, dossier.numero, base, written)
                self._write_rest(cur, dossier, version, emails)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        with self._lock:
            self._journal.cache.put(attrs.evolve(written.chain, stamp=stamp()))
        return version

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

    # -- reads -------------------------------------------------------------------------------------------------
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

    def verify(self, *, progress: Callable[[int, int], object] | None = None) -> Iterator[Problem]:
        """Check every stored dossier and its whole chain; yield one :class:`Problem` per finding.

        Nothing is taken from the cache: each journal is read from its first row, every seal and every
        history entry checked. ``progress`` (optional) is called with (dossiers checked, dossiers in all),
        for a progress bar. Also reported: outbox e-mails and command records of versions the snapshot
        has not reached (the trace a rollback of both the snapshot and its journal leaves behind).
        """
        with self._reading() as cur:
            numeros = [str(r[0]) for r in cur.execute(self._sql("SELECT numero FROM dossiers ORDER BY numero"),
                                                      ()).fetchall()]
        checker = Journal(self._journal.sealer, self._journal.codec, capacity=1)
        for done, numero in enumerate(numeros, 1):
            try:
                with self._snapshot() as cur:
                    snapshot, rows, _ = self._load(cur, numero, None, None)
                    later = cur.execute(self._sql(
                        "SELECT 'outbox', max(version) FROM outbox WHERE numero = ?"
                        " UNION ALL SELECT 'commands', max(version) FROM commands WHERE numero = ?"),
                        (numero, numero)).fetchall()
                if snapshot is None:
                    continue
                chain, _ = checker.check(numero, snapshot, rows, None)
                checker.cache.drop(numero)
                for table, highest in later:
                    if highest is not None and int(highest) > chain.version:
                        yield Problem(numero, f"{table} à la version {int(highest)} alors que le dossier est à la "
                                      f"version {chain.version} (retour en arrière ?)", table)
            except DossierAltere as exc:
                yield Problem(numero, exc.reason, exc.field)
            except SerializationError as exc:
                yield Problem(numero, exc.reason, exc.field)
            if progress is not None:
                progress(done, len(numeros))

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
