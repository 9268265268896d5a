"""The sealed, append-only journal of the SQL adapters: what a row holds, how a chain is checked.

A dossier is stored as one **snapshot** row (every field but the history and the e-mails sent, with
its ``version``, the journal ``length`` and the ``head`` seal) and one **journal** row per write
(``position`` 1, 2, …): the history entries and e-mail records that write appended, the digest
(``etat``) of the snapshot it wrote, the key id (``cle``), the digest of the journal before it
(``precedent``), how many entries and e-mail records the journal holds up to it (``entries_total``,
``emails_total``) and a seal (``sceau``). Journal format 3:

* the row's text ``R[p]`` is the canonical JSON ``[position, version, entries, emails, etat, cle, precedent,
  entries_total, emails_total, sceau]`` (``entries``/``emails``: the stored text on SQLite, the stored JSON
  value on PostgreSQL); its sealed part ``S[p]`` is that text up to its seal;
* ``sceau[p] = seal(["segur_workflow.journal", 3, numero, sha256(S[p])])``: a row's seal covers every
  column of its row, ``precedent`` included;
* ``D[p] = sha256(R[p])`` is the digest of the journal up to row ``p`` (``D[0]`` = 64 zeros), and row
  ``p`` stores ``precedent = D[p-1]``: the head's seal covers the digest of the row before it, which
  covers the row before that, and so on down to the first row.

So a read needs the snapshot and the **head row only** (one statement): it checks the head's seal (one
HMAC), that the snapshot is the one the head sealed (``etat``), and gives the dossier a
:class:`~segur_workflow.history.History` that knows its length and the head row's entries; the rows
before it are read only when someone needs the entries they hold (:class:`_Prefix`), and are then
checked to end at the digest the head's seal vouches for, else :class:`~segur_workflow.errors.DossierAltere`.
``verify`` checks every row: its seal, its ``precedent``, its counts, the SHA-256 chain of every entry.

Checked chains are kept per repository (:class:`ChainCache`): what the next write chains on (its digest,
and the history it must extend, without reading it again), and the highest version seen (a rollback).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .. import _seal as sealing
from .. import serialization
from ..errors import DossierAltere, InvalidInput, SerializationError
from ..history import History, chain_hash, extends
from ..model import Dossier, EmailRecord, HistoryEntry
from ._row_checks import RowChecks
from ._rows import (
    FORMAT,
    WIDTH,
    Chain,
    Codec,
    Fetch,
    Snapshot,
    Written,
    continues,
    digest_of,
    dumps,
    int_or_none,
    message,
)

__all__ = ["FORMAT", "Chain", "ChainCache", "Codec", "Journal", "Snapshot", "Written", "message"]


class ChainCache:
    """The last checked chain of up to ``capacity`` dossiers (least recently used dropped first)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._chains: OrderedDict[str, Chain] = OrderedDict()
        #: the highest (version, head) seen per dossier, kept longer: a later read below it is a rollback
        self._seen: OrderedDict[str, tuple[int, str]] = OrderedDict()

    def get(self, numero: str) -> Chain | None:
        chain = self._chains.get(numero)
        if chain is not None:
            self._chains.move_to_end(numero)
        return chain

    def seen(self, numero: str) -> tuple[int, str] | None:
        return self._seen.get(numero)

    def put(self, chain: Chain) -> None:
        """Keep ``chain``, unless this process has since seen a later state of its dossier (a read that loaded
        before another thread's save and checked after it: the save's chain stays)."""
        seen = self._seen.get(chain.numero)
        if seen is not None and (chain.version, chain.head) != seen and chain.version <= seen[0]:
            return
        self._chains[chain.numero] = chain
        self._chains.move_to_end(chain.numero)
        while len(self._chains) > self.capacity:
            self._chains.popitem(last=False)
        self._seen[chain.numero] = (chain.version, chain.head)
        self._seen.move_to_end(chain.numero)
        while len(self._seen) > 16 * self.capacity:
            self._seen.popitem(last=False)

    def drop(self, numero: str) -> None:
        self._chains.pop(numero, None)


class _Part:
    """The loader of one of a :class:`_Prefix`'s two sequences; equal for the same journal prefix, so that
    :func:`~segur_workflow.history.extends` knows two histories read from it start alike."""

    __slots__ = ("index", "prefix")

    def __init__(self, prefix: _Prefix, index: int) -> None:
        self.prefix, self.index = prefix, index

    def __call__(self) -> Sequence[Any]:
        return self.prefix.load()[self.index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Part) and self.index == other.index and self.prefix.key == other.prefix.key

    def __hash__(self) -> int:
        return hash((self.prefix.key, self.index))


#: How many of the head row's entries (and e-mail records) a read builds: what a command reads (the last
#: entry, the last command's entry after the portal's automatic controls, the length) is among them. A
#: head row holding more (a dossier migrated from the previous layout: its whole history in its first
#: row) keeps the others as stored, built when they are needed.
TAIL = 8


class _Prefix:
    """What a dossier whose head was checked holds before the head row's last entries: the journal rows
    1 … ``rows`` and the head row's earlier entries (``rest``, as stored), read and checked on first use.

    The head's seal covers ``precedent``, the digest of those rows: once read, they must end at it
    (every row's ``precedent`` the digest of the rows before it), hold ``counts`` items in all, and their
    last entry must chain on to ``first`` (the first entry built at the read). Rows below a head never
    change (the journal is append-only): read later, on another connection, they are the rows the head
    was written on.
    """

    def __init__(self, journal: Journal, numero: str, rows: int, *, precedent: str, counts: tuple[int, int],
                 first: HistoryEntry | None, rest: tuple[list[Any], list[Any]], fetch: Fetch,
                 copied: HistoryEntry | None = None) -> None:
        self.journal, self.numero, self.rows, self.precedent = journal, numero, rows, precedent
        self.counts, self.first, self.rest, self.fetch = counts, first, rest, fetch
        #: the last entry the read took from the snapshot (the head row appended none): the rows' last one
        self.copied = copied
        self.key = (numero, rows, precedent, counts)
        self._loaded: tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]] | None = None
        self.entries, self.emails = _Part(self, 0), _Part(self, 1)

    def load(self) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]]:
        if self._loaded is None:
            rows = list(self.fetch(self.numero, self.rows)) if self.rows else []
            self._loaded = self.journal.prefix(self.numero, rows, self)
        return self._loaded


class Journal(RowChecks):
    """Builds the rows of a write and checks what a read brings back, under one sealer."""

    def __init__(self, sealer: sealing.Sealer, codec: Codec, *, capacity: int = 1024) -> None:
        self.sealer = sealer
        self.codec = codec
        self.cache = ChainCache(capacity)

    # -- writes ---------------------------------------------------------------------------------------------------
    def prepare(self, dossier: Dossier, base: Chain | None, *, version: int) -> Written:
        """The rows that store ``dossier`` at ``version`` on top of ``base`` (``None``: a new dossier).

        The journal only grows: ``dossier`` must carry the stored history and e-mails unchanged, with
        what it appends chained on the last stored entry. A dossier made from one this repository read
        (by :func:`~segur_workflow.engine.handle`) is checked without reading the earlier rows: its
        history is the read one with entries appended.
        """
        length = base.length if base is not None else 0
        old_history = base.history if base is not None else ()
        old_emails = base.emails if base is not None else ()
        if not extends(dossier.history, old_history) or not extends(dossier.emails_sent, old_emails):
            raise InvalidInput("dossier", "un dossier qui prolonge l'historique et les courriels enregistrés "
                               "(le journal ne fait que s'allonger)", dossier)
        new_entries = tuple(dossier.history[len(old_history):])
        new_emails = tuple(dossier.emails_sent[len(old_emails):])
        broken = continues(old_history[-1] if old_history else None, new_entries)
        last_dest = dossier.history[-1].dest if dossier.history else None
        if broken is not None or last_dest != dossier.status:
            raise InvalidInput("dossier", "un historique chaîné (empreintes SHA-256 intactes, dernier statut = statut "
                               "du dossier)", dossier)
        snapshot, body = serialization.snapshot_parts(dossier, base.body if base is not None else None)
        data, data_bytes = self.codec.encode(snapshot)
        entries, _ = self.codec.encode(serialization.entries_of(new_entries))
        emails, _ = self.codec.encode(serialization.emails_of(new_emails))
        etat = body.etat = sealing.digest(data_bytes)
        if base is not None and base.body is not None and base.body.etat == etat:
            # The very bytes read: a read of them gives that read's dossier. (Only the same bytes: every field as
            # read but written sorted, where the read's had another order, reads back in the sorted order.)
            body.template = base.body.template
        position = length + 1
        cle = self.sealer.current_id
        precedent = base.digest if base is not None else sealing.GENESIS
        totals = (len(dossier.history), len(dossier.emails_sent))
        row = dumps([position, version, self.codec.frame(entries), self.codec.frame(emails), etat, cle, precedent,
                      *totals])
        sealed = row[:-1] + b","
        sceau = self.sealer.seal(message(dossier.numero, digest_of(sealed)))
        digest = digest_of(sealed + b'"' + sceau.encode("ascii") + b'"]')
        chain = Chain(dossier.numero, version, position, sceau, etat, dossier.history, dossier.emails_sent, digest,
                      body)
        return Written(data, position, version, entries, emails, etat, cle, precedent, *totals, sceau, chain)

    # -- reads ----------------------------------------------------------------------------------------------------
    def _snapshot_columns(self, numero: str, snapshot: Snapshot, seen: tuple[int, str] | None
                          ) -> tuple[int, int, str]:
        version, length, head = int_or_none(snapshot.version), int_or_none(snapshot.length), snapshot.head
        if version is None or length is None or not isinstance(head, str):
            raise DossierAltere(numero, "colonnes de l'instantané illisibles (version, longueur, tête)",
                                field="dossiers")
        if seen is not None and (version < seen[0] or (version == seen[0] and head != seen[1])):
            raise DossierAltere(numero, f"retour en arrière : ce processus a déjà lu ou écrit la version {seen[0]}, "
                                f"la base rend la version {version}", field="version")
        return version, length, head

    def check(self, numero: str, snapshot: Snapshot, last_rows: Sequence[Sequence[Any]], fetch: Fetch, *,
              seen: tuple[int, str] | None) -> tuple[Chain, Dossier]:
        """The chain and dossier of ``snapshot`` and its journal's last rows, or ``DossierAltere``.

        ``seen``: the latest (version, head) this process knew of the dossier when the read began
        (``cache.seen``, taken before the rows were loaded): an older state is a rollback. Not the one known
        now: another thread may have saved a later state since this read loaded its rows.

        ``last_rows``: the rows from the last one that holds a history entry to the head (usually the head
        alone; a write that appended no entry leaves an empty row). One seal checked (the head's), the rows
        before it by their digests, the snapshot against the digest the head sealed; the rows before those
        are read by ``fetch`` only when the dossier's history or e-mails are read below the entries built
        here (:class:`_Prefix`), on every read again.
        """
        version, length, head = self._snapshot_columns(numero, snapshot, seen)
        where = f"journal[{length}]"
        rows = list(last_rows)
        if not rows or int_or_none(rows[-1][0] if len(rows[-1]) == WIDTH else None) != length:
            raise DossierAltere(numero, f"l'instantané annonce {length} ligne(s) de journal, la ligne {length} est "
                                "absente (journal tronqué, ou instantané d'un autre état)", field="length")
        first_position = length - len(rows) + 1
        for offset, row in enumerate(rows):
            self._row_columns(numero, row, first_position + offset)
        head_row = rows[-1]
        _position, row_version, _e, _m, etat, _cle, _p, n_entries, n_emails, sceau = head_row
        if row_version != version:
            raise DossierAltere(numero, f"l'instantané est à la version {version}, la tête du journal à la version "
                                f"{row_version} (retour en arrière ?)", field="version")
        if head != sceau:
            raise DossierAltere(numero, "la tête de l'instantané n'est pas le sceau de la dernière ligne du journal",
                                field="head")
        digest = self._row_seal(numero, head_row, where)
        for offset in range(len(rows) - 1):  # the rows since the last entry: each the next one's precedent
            try:
                linked = digest_of(dumps(list(rows[offset]))) == rows[offset + 1][6]
            except SerializationError:
                linked = False
            if not linked:
                self._rows_one_by_one(numero, rows, first=first_position)
                raise DossierAltere(numero, "la ligne ne correspond plus à l'empreinte que la suivante a scellée",
                                    field=f"journal[{first_position + offset}]")
        self._check_etat(numero, snapshot, etat)
        # The snapshot's bytes are those its seal covers: the same bytes as the last read or write of this dossier
        # here give the same fields, taken as they were built then (never a host's own objects); otherwise each
        # field is built again, unless its JSON (keys in their order) is exactly that of a field built then
        # (serialization.Body).
        cached = self.cache.get(numero)
        known = cached.body if cached is not None else None
        body = known if known is not None and known.serves(etat) else None
        parsed: Any = None
        if body is None:
            try:
                parsed = self.codec.parse(snapshot.data)
            except SerializationError as exc:
                raise DossierAltere(numero, f"instantané illisible ({exc.reason})", field="data") from None
            body = serialization.body_of(parsed, known)
            if body is not None:
                body.etat = etat
        # Never the entries an earlier read kept: rows edited behind this repository's back since are refused
        # when they are read, by this repository as by a fresh one.
        tail, records, rest_e, rest_m = self._row_items(numero, rows, where, keep=TAIL)
        copied = None  # the last entry, from the snapshot, when the head row appended none
        if not tail and body is not None and body.last:
            tail, copied = body.last, body.last[0]
            n_entries -= 1  # it is among the entries of the rows below: counted there
        elif not tail and body is None and isinstance(parsed, dict) and parsed.get(serialization.LAST_ENTRY):
            last = serialization.entries_fast(parsed[serialization.LAST_ENTRY], {})
            if last is None or len(last) != 1:
                raise DossierAltere(numero, "copie de la dernière entrée illisible", field="data.history_last")
            tail, copied = last, last[0]
            n_entries -= 1  # it is among the entries of the rows below: counted there
        precedent = rows[0][6]
        below = (n_entries - len(tail) - len(rest_e), n_emails - len(records) - len(rest_m))
        if below[0] < 0 or below[1] < 0 or (first_position == 1 and (below != (0, 0)
                                                                      or precedent != sealing.GENESIS)):
            raise DossierAltere(numero, "nombre d'entrées du journal incohérent", field=where)
        before = (n_entries - len(tail) + (copied is not None), n_emails - len(records))
        if before == (0, 0):
            history, emails = History(tail), History(records)
        else:
            prefix = _Prefix(self, numero, first_position - 1, precedent=precedent, counts=before,
                             first=tail[0] if tail else None, rest=(rest_e, rest_m), fetch=fetch, copied=copied)
            history = History(tail, before=before[0], loader=prefix.entries)
            emails = History(records, before=before[1], loader=prefix.emails)
        if body is not None:
            dossier = body.dossier(history, emails)
        else:
            try:
                dossier = serialization.dossier_of(parsed, history, emails)
            except SerializationError as exc:
                raise DossierAltere(numero, f"instantané illisible ({exc.reason})", field=exc.field) from None
        self._check_dossier(numero, dossier, history)
        chain = Chain(numero, version, length, head, etat, history, emails, digest, body)
        self.cache.put(chain)
        return chain, dossier

    def check_whole(self, numero: str, snapshot: Snapshot, rows: Sequence[Sequence[Any]]) -> tuple[Chain, Dossier]:
        """``verify``'s check: every row's seal, ``precedent`` and counts, and the SHA-256 chain of every entry."""
        version, length, head = self._snapshot_columns(numero, snapshot, self.cache.seen(numero))
        rows = list(rows)
        if len(rows) != length:
            raise DossierAltere(numero, f"l'instantané annonce {length} ligne(s) de journal, le journal en a "
                                f"{len(rows)} (journal tronqué, ou instantané d'un autre état)", field="length")
        digest = self._rows_one_by_one(numero, rows)
        last = rows[-1]
        if last[1] != version:
            raise DossierAltere(numero, f"l'instantané est à la version {version}, la tête du journal à la version "
                                f"{last[1]} (retour en arrière ?)", field="version")
        if head != last[-1]:
            raise DossierAltere(numero, "la tête de l'instantané n'est pas le sceau de la dernière ligne du journal",
                                field="head")
        self._check_etat(numero, snapshot, last[4])
        history, emails = self._structured(numero, rows, chained=True)
        parsed = self.codec.parse(snapshot.data)
        copy = parsed.get(serialization.LAST_ENTRY) if isinstance(parsed, dict) else None
        if copy is not None and copy != serialization.entries_of(history[-1:]):
            raise DossierAltere(numero, "copie de la dernière entrée différente de l'historique",
                                field="data.history_last")
        try:
            dossier = serialization.dossier_of(parsed, history, emails)
        except SerializationError as exc:
            raise DossierAltere(numero, f"instantané illisible ({exc.reason})", field=exc.field) from None
        self._check_dossier(numero, dossier, history)
        return Chain(numero, version, length, head, last[4], history, emails, digest), dossier

    def prefix(self, numero: str, rows: list[Sequence[Any]], part: _Prefix
               ) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]]:
        """What ``part`` holds: the entries and e-mail records of ``rows`` (1 … n), once they are shown to end
        at the ``precedent`` the head sealed, then those of the head row before its last ones."""
        digest = sealing.GENESIS
        for expected, row in enumerate(rows, 1):
            if len(row) != WIDTH or int_or_none(row[0]) != expected or row[6] != digest:
                digest = ""
                break
            try:
                digest = digest_of(dumps(list(row)))
            except SerializationError:
                digest = ""
                break
        if digest != part.precedent or len(rows) != part.rows:
            # Something below the head changed: the careful pass names the row (its own seal, its place).
            self._rows_one_by_one(numero, rows)
            raise DossierAltere(numero, "les lignes du journal ne sont plus celles que la tête a scellées "
                                "(ligne modifiée, ôtée ou ajoutée)", field=f"journal[{max(1, len(rows))}]")
        entries, records = self._structured(numero, rows, chained=False) if rows else ((), ())
        if part.rest != ([], []):
            more_entries, more_records = self._rest_items(numero, *part.rest, f"journal[{part.rows + 1}]")
            entries, records = (*entries, *more_entries), (*records, *more_records)
        if part.copied is not None:  # the read's last entry came from the snapshot: it must be the rows' last
            if not entries or entries[-1] != part.copied:
                raise DossierAltere(numero, "la dernière entrée du journal n'est pas celle que l'instantané a "
                                    "scellée", field=f"journal[{max(1, len(rows))}]")
            entries = entries[:-1]
        if (len(entries), len(records)) != part.counts:
            raise DossierAltere(numero, "le journal ne contient plus le nombre d'entrées que la tête a scellé",
                                field=f"journal[{max(1, len(rows))}]")
        first = part.first
        if part.copied is None and first is not None and entries and (first.source != entries[-1].dest
                                               or first.hash != chain_hash(entries[-1].hash, first)):
            raise DossierAltere(numero, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond plus",
                                field=f"journal[{part.rows + 1}].entries")
        return entries, records
