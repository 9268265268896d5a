"""The sealed, append-only journal of the SQL adapters: what a row holds, how a chain is checked.

A dossier is stored as one **snapshot** row (every field but the history and the e-mails sent, with
its ``version``, the journal ``length`` and the ``head`` seal) and one **journal** row per write
(``position`` 1, 2, …): the history entries and e-mail records that write appended, the digest
(``etat``) of the snapshot it wrote, the key id (``cle``) and a seal (``sceau``).

The seal of row ``p`` covers **every column of every row up to it**, as stored: rows 1 … p-1 whole
(their seals included) and row ``p`` but its seal, written as one canonical JSON text, the journal
text ``J``::

    J = [[1, version, entries, emails, etat, cle, sceau], …, [p, version, entries, emails, etat, cle,
    sceau[p] = seal(["segur_workflow.journal", 2, numero, sha256(J)])

(``entries``/``emails``: the stored text on SQLite, the stored JSON value on PostgreSQL). So the
journal head's seal alone vouches for the whole journal: a read checks the snapshot against the head
(position = length, same version, same seal, the snapshot's digest) and **one** seal over the whole
journal text, one SHA-256 pass in C, instead of one seal per row. ``verify`` checks every row's seal.
A writer keeps the SHA-256 state of the text so far (:attr:`Chain.text`): the next row's seal costs
the same at the thousandth row as at the tenth.

Checked chains are kept per repository (:class:`ChainCache`); the driver says (``stamp``) whether
anyone else wrote since a chain was checked. If nobody did, a read only checks and structures the rows
written since; if anyone did, the whole journal is checked again (one seal) and structured again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import orjson

from .. import _seal as sealing
from .. import serialization
from ..errors import DossierAltere, InvalidInput, SerializationError
from ..history import GENESIS as HISTORY_GENESIS
from ..history import chain_hash
from ..model import Actor, Dossier, EmailRecord, HistoryEntry

__all__ = ["Chain", "ChainCache", "Codec", "Journal", "Snapshot", "Written", "message"]

#: ``encode(value) -> (column value, canonical bytes)``; ``content(column) -> canonical bytes`` (what the
#: snapshot's digest covers); ``parse(column) -> value``; ``frame(column value) -> what the journal text
#: holds for it`` (the column as a read returns it). Readers raise ``SerializationError`` on what they cannot read.
Encode = Callable[[Any], tuple[Any, bytes]]
Content = Callable[[Any], bytes]
Parse = Callable[[Any], Any]
Frame = Callable[[Any], Any]


def _same(column: Any) -> Any:
    return column


@attrs.frozen
class Codec:
    """How a driver writes and reads the JSON columns (``data``, ``entries``, ``emails``)."""

    encode: Encode
    content: Content
    parse: Parse
    frame: Frame = _same


@attrs.frozen
class Snapshot:
    """The columns of a snapshot row that the check reads."""

    version: Any
    length: Any
    head: Any
    data: Any


@attrs.frozen
class Chain:
    """A journal checked up to ``length`` rows: what the next write chains to, and what it holds."""

    numero: str
    version: int
    length: int
    head: str
    etat: str
    history: tuple[HistoryEntry, ...]
    emails: tuple[EmailRecord, ...]
    #: the driver's "nobody else wrote since" token, taken when the chain was checked
    stamp: object = None
    #: SHA-256 state over the journal text of rows 1 … length (never updated in place: copied first)
    text: Any = attrs.field(default=None, eq=False, repr=False)


@attrs.frozen
class Written:
    """What a write puts in the database: the snapshot's column, the journal row's values."""

    data: Any
    position: int
    version: int
    entries: Any
    emails: Any
    etat: str
    cle: str | None
    sceau: str
    chain: Chain


def message(numero: str, text_digest: str) -> bytes:
    """The bytes a journal row's seal covers: the dossier's number and the digest of the journal text."""
    return sealing.canonical(["segur_workflow.journal", 2, numero, text_digest])


def _dumps(value: Any) -> bytes:
    """Journal text (canonical JSON); ``SerializationError`` for what orjson cannot write."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        raise SerializationError("journal", "contenu impossible à écrire en JSON canonique") from None


def _opening() -> Any:
    return hashlib.sha256(b"[")


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


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _continues(previous: HistoryEntry | None, entries: Sequence[HistoryEntry]) -> int | None:
    """The index (in ``entries``) of the first entry that does not chain on ``previous``, or ``None``."""
    prev_hash = previous.hash if previous is not None else HISTORY_GENESIS
    prev_dest = previous.dest if previous is not None else None
    for i, entry in enumerate(entries):
        if entry.source != prev_dest or entry.hash != chain_hash(prev_hash, entry):
            return i
        prev_hash, prev_dest = entry.hash, entry.dest
    return None


def _sealed_part(text: bytes, sceau: object) -> int | None:
    """Where, in journal text ``text`` ending with the head row's ``"<sceau>"]``, the head's sealed part
    ends (before its seal); ``None`` when the text does not end so (the careful check says why)."""
    if type(sceau) is not str or not sceau.isascii() or not sceau.isalnum():
        return None
    tail = b'"' + sceau.encode("ascii") + b'"]'
    return len(text) - len(tail) if text.endswith(tail) else None


class Journal:
    """Builds the rows of a write and checks what a read brings back, under one sealer."""

    def __init__(self, sealer: sealing.Sealer, codec: Codec, *, capacity: int = 1024) -> None:
        self.sealer = sealer
        self.codec = codec
        self.cache = ChainCache(capacity)

    # -- writes ---------------------------------------------------------------------------------------------------
    def prepare(self, dossier: Dossier, base: Chain | None, *, version: int) -> Written:
        """The rows that store ``dossier`` at ``version`` on top of ``base`` (``None``: a new dossier).

        The journal only grows: ``dossier`` must carry the stored history and e-mails unchanged, with
        what it appends chained on the last stored entry.
        """
        length = base.length if base is not None else 0
        old_history = base.history if base is not None else ()
        old_emails = base.emails if base is not None else ()
        if dossier.history[: len(old_history)] != old_history or dossier.emails_sent[: len(old_emails)] != old_emails:
            raise InvalidInput("dossier", "un dossier qui prolonge l'historique et les courriels enregistrés "
                               "(le journal ne fait que s'allonger)", dossier)
        new_entries = dossier.history[len(old_history):]
        broken = _continues(old_history[-1] if old_history else None, new_entries)
        last_dest = dossier.history[-1].dest if dossier.history else None
        if broken is not None or last_dest != dossier.status:
            raise InvalidInput("dossier", "un historique chaîné (empreintes SHA-256 intactes, dernier statut = statut "
                               "du dossier)", dossier)
        if base is not None and base.text is None:
            raise InvalidInput("base", "une chaîne vérifiée avec le texte de son journal", base)
        data, data_bytes = self.codec.encode(serialization.snapshot_of(dossier))
        entries, _ = self.codec.encode(serialization.entries_of(new_entries))
        emails, _ = self.codec.encode(serialization.emails_of(dossier.emails_sent[len(old_emails):]))
        etat = sealing.digest(data_bytes)
        position = length + 1
        cle = self.sealer.current_id
        row = _dumps([position, version, self.codec.frame(entries), self.codec.frame(emails), etat, cle])
        text = base.text.copy() if base is not None else _opening()
        text.update((b"," if length else b"") + row[:-1] + b",")
        sceau = self.sealer.seal(message(dossier.numero, text.hexdigest()))
        text.update(b'"' + sceau.encode("ascii") + b'"]')
        chain = Chain(dossier.numero, version, position, sceau, etat, dossier.history, dossier.emails_sent,
                      base.stamp if base is not None else None, text)
        return Written(data, position, version, entries, emails, etat, cle, sceau, chain)

    # -- reads ----------------------------------------------------------------------------------------------------
    def check(self, numero: str, snapshot: Snapshot, rows: Sequence[Sequence[Any]], base: Chain | None, *,
              stamp: object = None, entries: bool = False) -> tuple[Chain, Dossier]:
        """The chain and dossier of ``snapshot`` and its journal ``rows``, or ``DossierAltere``.

        ``rows`` are ``(position, version, entries, emails, etat, cle, sceau)`` in position order: all of
        them, or from ``base.length`` on, ``base`` being a chain checked before and trusted when
        ``stamp`` is its stamp (nobody else wrote since).

        A read checks one seal, the head's, over the journal text of every row (see the module's
        documentation); only when it does not match is every row checked one by one, to say where.
        ``entries=True`` (``verify``) checks every row's seal and recomputes the SHA-256 chain of every
        history entry. A read does not: the seal covers the exact bytes of the entries, whose chain was
        checked when they were written (:meth:`prepare`), so an edit is refused by the seal already, and
        whoever can forge the seal (the key's holder, or anyone in the unkeyed mode) can recompute
        those public hashes as well.
        """
        def altered(reason: str, where: str) -> DossierAltere:
            return DossierAltere(numero, reason, field=where)

        seen = self.cache.seen(numero)
        version, length, head = _int(snapshot.version), _int(snapshot.length), snapshot.head
        if version is None or length is None or not isinstance(head, str):
            raise altered("colonnes de l'instantané illisibles (version, longueur, tête)", "dossiers")
        if seen is not None and (version < seen[0] or (version == seen[0] and head != seen[1])):
            raise altered(f"retour en arrière : ce processus a déjà lu ou écrit la version {seen[0]}, la base "
                          f"rend la version {version}", "version")
        rest = list(rows)
        trusted = base if base is not None and stamp is not None and base.stamp == stamp else None
        if trusted is not None:
            if not rest or rest[0][0] != trusted.length or rest[0][6] != trusted.head:
                raise altered("le journal ne contient plus la tête déjà vérifiée", f"journal[{trusted.length}]")
            rest = rest[1:]
        if rest:
            text = self._sealed(numero, rest, trusted, careful=entries)
            last = rest[-1]
            prev_version, etat, sceau = last[1], last[4], last[6]
        elif trusted is not None:
            text, prev_version, etat, sceau = trusted.text, trusted.version, trusted.etat, trusted.head
        else:
            raise altered(f"l'instantané annonce {length} ligne(s) de journal, le journal n'en a aucune", "length")
        count = (trusted.length if trusted is not None else 0) + len(rest)
        if count != length:
            raise altered(f"l'instantané annonce {length} ligne(s) de journal, le journal en a {count} "
                          "(journal tronqué, ou instantané d'un autre état)", "length")
        if prev_version != version:
            raise altered(f"l'instantané est à la version {version}, la tête du journal à la version {prev_version} "
                          "(retour en arrière ?)", "version")
        if head != sceau:
            raise altered("la tête de l'instantané n'est pas le sceau de la dernière ligne du journal", "head")
        try:
            data_bytes = self.codec.content(snapshot.data)
        except SerializationError as exc:
            raise altered(f"instantané illisible ({exc.reason})", "data") from None
        if sealing.digest(data_bytes) != etat:
            raise altered("l'instantané ne correspond plus à l'empreinte scellée au journal", "data")
        # What was structured before is reused: the trusted chain's rows, or, when another writer came
        # by, the rows of a chain checked earlier if the journal (checked whole just now) still holds its
        # head: the head's seal covers every row before it.
        if trusted is None and base is not None and not entries and 1 <= base.length <= len(rest) \
                and rest[base.length - 1][6] == base.head:
            trusted, rest = base, rest[base.length:]
        if trusted is not None:
            history, emails = self._structured(numero, rest, trusted.history, trusted.emails, trusted.length + 1,
                                               chained=entries)
        else:
            history, emails = self._structured(numero, rest, (), (), 1, chained=entries)
        try:
            dossier = serialization.dossier_of(self.codec.parse(snapshot.data), history, emails)
        except SerializationError as exc:
            raise altered(f"instantané illisible ({exc.reason})", exc.field) from None
        if dossier.numero != numero:
            raise altered(f"l'instantané est celui du dossier {dossier.numero[:64]!r}", "data.numero")
        if (history[-1].dest if history else None) != dossier.status:
            raise altered("le statut de l'instantané n'est pas celui où finit l'historique", "data.status")
        chain = Chain(numero, version, length, head, etat, history, emails, stamp, text)
        self.cache.put(chain)
        return chain, dossier

    def _sealed(self, numero: str, rows: list[Sequence[Any]], trusted: Chain | None, *, careful: bool) -> Any:
        """The SHA-256 state of the journal text once ``rows`` are added to ``trusted``'s (``None``: from the
        first row), after checking the head's seal over it; every row's seal with ``careful``."""
        if not careful and len(rows[-1]) == 7:
            try:
                whole = _dumps(rows)
            except SerializationError:
                whole = None
            if whole is not None:
                more = whole[:-1] if trusted is None else b"," + whole[1:-1]
                cut = _sealed_part(more, rows[-1][6])
                if cut is not None:
                    text = trusted.text.copy() if trusted is not None else hashlib.sha256()
                    text.update(more[:cut])
                    if self.sealer.problem(rows[-1][5], message(numero, text.hexdigest()), rows[-1][6]) is None:
                        text.update(more[cut:])
                        return text
        return self._sealed_row_by_row(numero, rows, trusted)

    def _sealed_row_by_row(self, numero: str, rows: list[Sequence[Any]], trusted: Chain | None) -> Any:
        """Every row's seal, in order: the first one that fails is where the journal was changed."""
        expected = trusted.length + 1 if trusted is not None else 1
        prev_version = trusted.version if trusted is not None else 0
        text = trusted.text.copy() if trusted is not None else _opening()
        for row in rows:
            where = f"journal[{expected}]"
            if len(row) != 7:
                raise DossierAltere(numero, "ligne du journal illisible", field=where)
            position, row_version, _, _, row_etat, cle, sceau = row
            if _int(position) != expected:
                raise DossierAltere(numero, f"ligne {expected} du journal absente ou déplacée (trouvé : {position!r})",
                                    field=where)
            if _int(row_version) is None or row_version <= prev_version:
                raise DossierAltere(numero, "version de la ligne illisible ou non croissante", field=where)
            if not isinstance(row_etat, str):
                raise DossierAltere(numero, "empreinte de l'instantané illisible", field=where)
            try:
                framed = _dumps(list(row))
            except SerializationError:
                raise DossierAltere(numero, "contenu illisible (JSON impossible à relire tel quel)",
                                    field=where) from None
            cut = _sealed_part(framed, sceau)
            if cut is None:
                raise DossierAltere(numero, "sceau absent ou illisible", field=where)
            text.update((b"," if expected > 1 else b"") + framed[:cut])
            problem = self.sealer.problem(cle, message(numero, text.hexdigest()), sceau)
            if problem is not None:
                raise DossierAltere(numero, problem, field=where)
            text.update(framed[cut:])
            prev_version = row_version
            expected += 1
        return text

    def _structured(self, numero: str, rows: list[Sequence[Any]], history: tuple[HistoryEntry, ...],
                    emails: tuple[EmailRecord, ...], first: int, *, chained: bool
                    ) -> tuple[tuple[HistoryEntry, ...], tuple[EmailRecord, ...]]:
        """``history`` and ``emails`` followed by what ``rows`` (positions ``first`` …) hold.

        Every row's entries are read in one pass of the fast readers (one list, one shared set of
        actors); only when they refuse is each row read again by the careful path, which names the field.
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
                    return (*history, *new_entries), (*emails, *new_records)
        actors: dict[tuple[str, str], Actor] = {}  # built once per read, shared by the entries
        new_history, new_emails = list(history), list(emails)
        for position, row in enumerate(rows, first):
            where = f"journal[{position}]"
            try:
                entries_ = serialization.structure_entries(self.codec.parse(row[2]), where=f"{where}.entries",
                                                           actors=actors)
                records_ = serialization.structure_emails(self.codec.parse(row[3]), where=f"{where}.emails")
            except SerializationError as exc:
                raise DossierAltere(numero, f"contenu illisible ({exc.reason})", field=exc.field) from None
            if chained:
                broken = _continues(new_history[-1] if new_history else None, entries_)
                if broken is not None:
                    raise DossierAltere(numero, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond "
                                        "plus", field=f"{where}.entries[{broken}]")
            new_history += entries_
            new_emails += records_
        return tuple(new_history), tuple(new_emails)
