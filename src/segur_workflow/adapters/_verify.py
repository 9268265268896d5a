"""``verify`` of the SQL repositories (every dossier, its whole journal, its worklist row and what the other
tables say of its versions, one :class:`Problem` per finding), and the worklist back-fill that re-derives
those rows from the dossiers checked the same way (``fill_summaries``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from ..errors import DossierAltere, SerializationError
from ..model import Dossier
from ..ports import DossierSummary
from ._base import SQLBase, _DriverErrors, method_errors
from ._journal import Chain, Journal
from ._schema import _DERIVED, _SUMMARY_SELECT, summary_values

__all__ = ["Problem", "Verifying"]


@attrs.frozen
class Problem:
    """One finding of :meth:`SQLRepository.verify`: which dossier, what, where."""

    numero: str
    what: str
    where: str


class Verifying(SQLBase):
    """``verify``: every stored dossier and its whole chain, streamed a page at a time."""

    def verify(self, *, progress: Callable[[int, int], object] | None = None, page: int = 500) -> Iterator[Problem]:
        """Check every stored dossier and its whole chain; yield one :class:`Problem` per finding.

        Nothing is taken from the cache: each journal is read from its first row, every seal and every
        history entry checked. ``progress`` (optional) is called with (dossiers checked, dossiers in all),
        for a progress bar. Also reported: outbox e-mails and command records of versions the snapshot
        has not reached (the trace a rollback of both the snapshot and its journal leaves behind).

        It streams: dossiers are read ``page`` at a time in number order (a range on the key), with what
        the other tables say of them, so memory stays flat whatever the database's size.
        """
        self._check_open("verify")  # said now, not at the first item
        return self._verified(progress, page)

    def _verified(self, progress: Callable[[int, int], object] | None, page: int) -> Iterator[Problem]:
        with _DriverErrors(self, "verify"):  # the driver's errors as StorageError, as in every other method
            yield from self._pages(progress, page)

    def _pages(self, progress: Callable[[int, int], object] | None, page: int) -> Iterator[Problem]:
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

    def _checked(self, checker: Journal, numero: str) -> tuple[Chain, Dossier] | None:
        """``numero``'s chain read from its first row and checked whole (no cache); ``None``: no such dossier.

        Raises :class:`~segur_workflow.errors.DossierAltere` (or ``SerializationError``) when it does not verify.
        """
        with self._loading() as cur:  # one state: the snapshot and every row (PostgreSQL: one statement)
            snapshot, rows = self._load_all(cur, numero)
        if snapshot is None:
            return None
        return checker.check_whole(numero, snapshot, rows)

    def _verify_one(self, checker: Journal, numero: str, traces: dict[str, dict[str, int]],
                    listed: Sequence[Any] | None) -> Iterator[Problem]:
        try:
            checked = self._checked(checker, numero)
            if checked is None:
                return  # removed since the page was read
            chain, dossier = checked
            if listed is not None:
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

    @method_errors
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
