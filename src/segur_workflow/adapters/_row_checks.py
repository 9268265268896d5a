"""The checks of journal rows as a read brings them back (journal format 3, see :mod:`._journal`): a row's
columns, its own seal, a run of rows one by one (which row changed), the snapshot against its digest, the
entries and e-mail records the rows hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _seal as sealing
from .. import serialization
from ..errors import DossierAltere, SerializationError
from ..model import Actor, Dossier, EmailRecord, HistoryEntry
from ._rows import WIDTH, Codec, Snapshot, continues, digest_of, dumps, int_or_none, message, sealed_part

__all__ = ["RowChecks"]


class RowChecks:
    """What :class:`._journal.Journal` checks in the rows it reads, under its sealer and codec."""

    sealer: sealing.Sealer
    codec: Codec

    def _row_columns(self, numero: str, row: Sequence[Any], expected: int) -> tuple[Any, ...]:
        where = f"journal[{expected}]"
        if len(row) != WIDTH:
            raise DossierAltere(numero, "ligne du journal illisible", field=where)
        position, row_version, _entries, _emails, etat, _cle, precedent, n_entries, n_emails, _sceau = row
        if int_or_none(position) != expected:
            raise DossierAltere(numero, f"ligne {expected} du journal absente ou déplacée (trouvé : {position!r})",
                                field=where)
        if int_or_none(row_version) is None or row_version < 1:
            raise DossierAltere(numero, "version de la ligne illisible", field=where)
        if not isinstance(etat, str) or not isinstance(precedent, str):
            raise DossierAltere(numero, "empreinte de l'instantané ou du journal précédent illisible", field=where)
        if int_or_none(n_entries) is None or int_or_none(n_emails) is None:
            raise DossierAltere(numero, "nombres d'entrées du journal illisibles", field=where)
        return tuple(row)

    def _row_seal(self, numero: str, row: Sequence[Any], where: str) -> str:
        """Check ``row``'s own seal; return its digest ``D`` (the next row's ``precedent``)."""
        try:
            framed = dumps(list(row))
        except SerializationError:
            raise DossierAltere(numero, "contenu illisible (JSON impossible à relire tel quel)", field=where) from None
        cut = sealed_part(framed, row[-1])
        if cut is None:
            raise DossierAltere(numero, "sceau absent ou illisible", field=where)
        problem = self.sealer.problem(row[5], message(numero, digest_of(framed[:cut])), row[-1])
        if problem is not None:
            raise DossierAltere(numero, problem, field=where)
        return digest_of(framed)

    def _rows_one_by_one(self, numero: str, rows: Sequence[Sequence[Any]], *, first: int = 1) -> str:
        """Every row's place, version, seal and ``precedent``, in order (``rows`` from position ``first``: then
        its ``precedent`` is taken as it is): the first that fails is where the journal was changed. Returns the
        digest of the journal up to its last row."""
        digest, prev_version = (sealing.GENESIS if first == 1 or not rows else rows[0][6]), 0
        for expected, row in enumerate(rows, first):
            where = f"journal[{expected}]"
            self._row_columns(numero, row, expected)
            if row[1] <= prev_version:
                raise DossierAltere(numero, "version de la ligne non croissante", field=where)
            next_digest = self._row_seal(numero, row, where)
            if row[6] != digest:
                raise DossierAltere(numero, "la ligne ne suit plus la précédente (empreinte du journal précédent "
                                    "différente : ligne ôtée, déplacée ou modifiée avant elle)", field=where)
            digest, prev_version = next_digest, row[1]
        return digest

    def _check_etat(self, numero: str, snapshot: Snapshot, etat: object) -> None:
        try:
            data_bytes = self.codec.content(snapshot.data)
        except SerializationError as exc:
            raise DossierAltere(numero, f"instantané illisible ({exc.reason})", field="data") from None
        if sealing.digest(data_bytes) != etat:
            raise DossierAltere(numero, "l'instantané ne correspond plus à l'empreinte scellée au journal",
                                field="data")

    def _check_dossier(self, numero: str, dossier: Dossier, history: Sequence[HistoryEntry]) -> None:
        if dossier.numero != numero:
            raise DossierAltere(numero, f"l'instantané est celui du dossier {dossier.numero[:64]!r}",
                                field="data.numero")
        if (history[-1].dest if history else None) != dossier.status:
            raise DossierAltere(numero, "le statut de l'instantané n'est pas celui où finit l'historique",
                                field="data.status")

    def _row_items(self, numero: str, rows: Sequence[Sequence[Any]], where: str, *, keep: int
                   ) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...], list[Any], list[Any]]:
        """The last ``keep`` entries and e-mail records of ``rows``, built (the fast readers, else the careful
        ones naming the field), and the ones before them as stored, to build when they are needed."""
        try:
            raw_entries = [self.codec.parse(row[2]) for row in rows]
            raw_emails = [self.codec.parse(row[3]) for row in rows]
            if all(type(r) is list for r in raw_entries) and all(type(r) is list for r in raw_emails):
                flat_e = [e for r in raw_entries for e in r]
                flat_m = [m for r in raw_emails for m in r]
                cut_e, cut_m = max(0, len(flat_e) - keep), max(0, len(flat_m) - keep)
                fast_entries = serialization.entries_fast(flat_e[cut_e:], {})
                fast_emails = serialization.emails_fast(flat_m[cut_m:])
                if fast_entries is not None and fast_emails is not None:
                    return fast_entries, fast_emails, flat_e[:cut_e], flat_m[:cut_m]
            # the careful readers, row by row: the error names the row and the entry
            first = int_or_none(rows[0][0]) or 1
            all_entries: list[HistoryEntry] = []
            all_emails: list[EmailRecord] = []
            for position, (entries, emails) in enumerate(zip(raw_entries, raw_emails, strict=True), first):
                all_entries += serialization.structure_entries(entries, where=f"journal[{position}].entries")
                all_emails += serialization.structure_emails(emails, where=f"journal[{position}].emails")
        except SerializationError as exc:
            raise DossierAltere(numero, f"contenu illisible ({exc.reason})", field=exc.field) from None
        cut_e, cut_m = max(0, len(all_entries) - keep), max(0, len(all_emails) - keep)
        flat_e = [e for r in raw_entries for e in r]
        flat_m = [m for r in raw_emails for m in r]
        return tuple(all_entries[cut_e:]), tuple(all_emails[cut_m:]), flat_e[:cut_e], flat_m[:cut_m]

    def _rest_items(self, numero: str, entries: list[Any], emails: list[Any], where: str
                    ) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]]:
        """The entries and e-mail records a head row holds before its last ones (see :meth:`_row_items`)."""
        fast_entries, fast_emails = serialization.entries_fast(entries, {}), serialization.emails_fast(emails)
        if fast_entries is not None and fast_emails is not None:
            return fast_entries, fast_emails
        try:
            return (serialization.structure_entries(entries, where=f"{where}.entries"),
                    serialization.structure_emails(emails, where=f"{where}.emails"))
        except SerializationError as exc:
            raise DossierAltere(numero, f"contenu illisible ({exc.reason})", field=exc.field) from None

    def _structured(self, numero: str, rows: list[Sequence[Any]], *, chained: bool
                    ) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]]:
        """What ``rows`` (positions 1 …) hold: every row's entries and e-mail records, in order.

        Read in one pass of the fast readers (one list, one shared set of actors); only when they refuse
        (or with ``chained``, ``verify``: every entry's hash and every row's counts checked) is each row read
        by the careful path, which names the field.
        """
        if not chained:
            try:
                entries = [e for row in rows for e in self.codec.parse(row[2])]
                records = [r for row in rows for r in self.codec.parse(row[3])]
            except (SerializationError, TypeError):
                pass
            else:
                new_entries = serialization.entries_fast(entries, {})
                new_records = serialization.emails_fast(records)
                if new_entries is not None and new_records is not None:
                    return new_entries, new_records
        actors: dict[tuple[str, str], Actor] = {}  # built once per read, shared by the entries
        history: list[HistoryEntry] = []
        emails: list[EmailRecord] = []
        for position, row in enumerate(rows, 1):
            where = f"journal[{position}]"
            try:
                entries_ = serialization.structure_entries(self.codec.parse(row[2]), where=f"{where}.entries",
                                                           actors=actors)
                records_ = serialization.structure_emails(self.codec.parse(row[3]), where=f"{where}.emails")
            except SerializationError as exc:
                raise DossierAltere(numero, f"contenu illisible ({exc.reason})", field=exc.field) from None
            if chained:
                broken = continues(history[-1] if history else None, entries_)
                if broken is not None:
                    raise DossierAltere(numero, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond "
                                        "plus", field=f"{where}.entries[{broken}]")
            history += entries_
            emails += records_
            if chained and (row[7] != len(history) or row[8] != len(emails)):
                raise DossierAltere(numero, "nombres d'entrées du journal différents de ce qu'il contient",
                                    field=where)
        return tuple(history), tuple(emails)
