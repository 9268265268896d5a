"""What the SQL adapters share: the statements, the version check, the sealed journal (:mod:`._journal`),
the outbox and command writes, the mapping of broken constraints to domain errors, and rows → values.

A subclass brings its driver: the placeholder style, how a transaction is opened (and a plain read
done), how the ``data`` column is written and read, and which constraint an integrity error names.
The shared statements are written with ``?`` placeholders and contain no literal ``?``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._email import Email
from .._integration import event_from_json, event_to_json
from ..engine import Event
from ..errors import (
    ConcurrencyConflict,
    DossierAltere,
    DossierNotFound,
    DuplicateFinancingRequest,
)
from ..model import Dossier
from ..ports import (
    AppliedCommand,
    CommandRecord,
    DossierSummary,
    NewDossier,
    Stored,
    check_search,
)
from ..states import Status
from . import (
    check_dossier,
    check_gestionnaires,
    check_new,
    check_text,
    check_version,
    check_writes,
    command_record,
    format_numero,
    number_range,
    number_value,
)
from ._base import _Cursor, _email, method_errors
from ._journal import Chain, Written
from ._relay import Relay
from ._schema import (
    _OPEN,
    _SUMMARY_SELECT,
    JOURNAL_COLUMNS,
    JOURNAL_INSERT,
    LOCK_ORDER,
    SUMMARY_COLUMNS,
    SUMMARY_INDEXES,
    added_columns,
    schema,
    schema_objects,
    summary_values,
)
from ._verify import Problem, Verifying

# What the adapters and their tests took from here before the split (the tables are in ._schema now).
__all__ = [
    "JOURNAL_COLUMNS",
    "LOCK_ORDER",
    "SUMMARY_COLUMNS",
    "SUMMARY_INDEXES",
    "Problem",
    "SQLRepository",
    "added_columns",
    "schema",
    "schema_objects",
    "summary_values",
]


class SQLRepository(Verifying, Relay):
    """A :class:`~segur_workflow.ports.DossierRepository` on the tables of :func:`schema`.

    Every guarantee rests on the database: the version check is a conditional ``UPDATE … WHERE
    version = ?``, uniqueness (number, provider, command id, event id) comes from the named
    constraints, numbers come from a counter row updated in the inserting transaction, and an outbox
    claim is one ``UPDATE … RETURNING`` statement. No driver exception leaves a public method: each
    becomes a :class:`~segur_workflow.errors.StorageError` (``StorageUnavailable`` when the server
    could not be reached).
    """

    def _after_state_written(self, numero: str) -> None:
        """Test hook: called after the state is written and before the outbox (fault injection); a driver whose
        save is one statement calls it just before sending it (PostgreSQL)."""

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
        if constraint in {"dossier_numero_unique", "commande_unique", "event_unique", "journal_position_unique"}:
            # The number or the command was taken by a concurrent writer: the caller reloads and retries.
            with self._reading() as cur:
                actual = self._version(cur, dossier.numero)
            return ConcurrencyConflict(dossier.numero, expected_version, actual)
        return exc

    def _insert(self, cur: _Cursor, dossier: Dossier, w: Written) -> None:
        """The snapshot row and the first journal row of a new dossier."""
        cur.execute(self._sql(f"INSERT INTO dossiers (numero, ans_id, status, version, length, head, data,"
                              f" {', '.join(SUMMARY_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, w.version, w.position, w.sceau,
                     w.data,
                     *summary_values(dossier, self._moment)))
        self._insert_journal(cur, dossier.numero, w)

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

    def _insert_journal(self, cur: _Cursor, numero: str, w: Written) -> None:
        """Append the journal row of ``w``: one INSERT, the only row a write adds to the journal, whatever its
        length."""
        cur.execute(self._sql(JOURNAL_INSERT), w.row(numero))

    def _update_snapshot(self, cur: _Cursor, dossier: Dossier, w: Written, expected_version: int,
                         base: Chain) -> None:
        """SQLite's conditional UPDATE of the snapshot row, in the save's transaction; refuses (and so rolls
        back) when it matches nothing. (PostgreSQL writes a save in one statement: ``_pg_save``.)"""
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

    def _remember(self, chain: Chain) -> None:
        with self._lock:
            self._journal.cache.put(chain)

    # -- writes ------------------------------------------------------------------------------------------------
    @method_errors
    def add(self, dossier: Dossier, *, outbox: Sequence[Email], events: Sequence[Event] = (),
            command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        emails, checked_events, command = check_writes(outbox, events, command)
        written = self._journal.prepare(dossier, None, version=1)
        try:
            with self._transaction() as cur:
                self._insert(cur, dossier, written)
                self._write_rest(cur, dossier, 1, emails, checked_events, command)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, 0) from exc
        except self.ROLLED_BACK_ERROR as exc:
            raise ConcurrencyConflict(dossier.numero, 0, None) from exc
        self._remember(written.chain)
        return 1

    @method_errors
    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        prefix = check_text("prefix", prefix)
        new: NewDossier | None = None
        try:
            with self._transaction() as cur:
                numero = format_numero(prefix, self._next_number(cur, prefix))
                new = check_new(build(numero), numero)
                written = self._journal.prepare(new.dossier, None, version=1)
                self._insert(cur, new.dossier, written)
                self._write_rest(cur, new.dossier, 1, new.outbox, new.events, new.command)
        except self.INTEGRITY_ERROR as exc:
            assert new is not None  # only the inserts can break a constraint
            raise self._refused(exc, new.dossier, 0) from exc
        except self.ROLLED_BACK_ERROR as exc:  # rolled back whole, the number included: try again
            raise ConcurrencyConflict(new.dossier.numero if new is not None else prefix, 0, None) from exc
        self._remember(written.chain)
        return new

    @method_errors
    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email],
             events: Sequence[Event] = (), command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails, checked_events, command = check_writes(outbox, events, command)
        version = expected_version + 1
        base = self._base(dossier.numero, expected_version)
        written = self._journal.prepare(dossier, base, version=version)
        try:
            self._write_save(dossier, written, base, expected_version=expected_version, emails=emails,
                             events=checked_events, command=command)
        except self.INTEGRITY_ERROR as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        except self.ROLLED_BACK_ERROR as exc:
            raise ConcurrencyConflict(dossier.numero, expected_version, None) from exc
        self._remember(written.chain)
        return version

    def _write_save(self, dossier: Dossier, w: Written, base: Chain, *, expected_version: int,
                    emails: tuple[Email, ...], events: tuple[Event, ...], command: CommandRecord | None) -> None:
        """What ``save`` writes: the snapshot's conditional UPDATE, the journal row and the rest, in one transaction.

        A driver may send them otherwise (PostgreSQL: one statement) with the same checks and errors.
        """
        with self._transaction() as cur:
            self._update_snapshot(cur, dossier, w, expected_version, base)
            self._insert_journal(cur, dossier.numero, w)
            self._write_rest(cur, dossier, w.version, emails, events, command)

    def _base(self, numero: str, expected_version: int) -> Chain:
        """The checked chain ``save`` writes on: the cached one if it is at ``expected_version``, else read."""
        with self._lock:
            chain = self._journal.cache.get(numero)
        if chain is not None and chain.version == expected_version:
            return chain
        chain, _ = self._read(numero, expected_version)
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

    # -- reads -------------------------------------------------------------------------------------------------
    @method_errors
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        chain, dossier = self._read(numero, None)
        return Stored(dossier, chain.version)

    def _read(self, numero: str, expected_version: int | None) -> tuple[Chain, Dossier]:
        """The snapshot and the journal's head row, read in one statement and checked (one seal); the rows
        before the head are read only if the dossier's history is read below the entries known then."""
        with self._lock:  # what this process knew before the load: a save by another thread may land after it
            seen = self._journal.cache.seen(numero)
        with self._reading() as cur:  # one statement: its own read transaction (SQLite autocommit too)
            snapshot, last_rows = self._load(cur, numero)
        if snapshot is None:
            raise DossierNotFound(numero)
        if expected_version is not None and snapshot.version != expected_version:
            raise ConcurrencyConflict(numero, expected_version, snapshot.version)
        with self._lock:
            return self._journal.check(numero, snapshot, last_rows, self._fetch_prefix, seen=seen)

    @method_errors
    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._reading() as cur:
            return self._last_number(cur, prefix)

    @method_errors
    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._reading() as cur:
            row = cur.execute(self._sql("SELECT numero FROM dossiers WHERE ans_id = ?"), (ans_id,)).fetchone()
        return None if row is None else str(row[0])

    @method_errors
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

    @method_errors
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

    @method_errors
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
