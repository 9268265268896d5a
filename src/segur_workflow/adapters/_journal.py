"""The sealed, append-only journal of the SQL adapters: what a row holds, how a chain is checked.

A dossier is stored as one **snapshot** row (every field but the history and the e-mails sent, with
its ``version``, the journal ``length`` and the ``head`` seal) and one **journal** row per write
(``position`` 1, 2, …): the history entries and e-mail records that write appended, the digest
(``etat``) of the snapshot it wrote, and a seal chained to the previous row's (see :mod:`..seal`)::

    sceau[p] = seal(["segur_workflow.journal", 1, numero, p, version, sceau[p-1],
                     sha256(entries), sha256(emails), etat])

A read checks the snapshot against the journal head (position = length, same version, same seal,
the snapshot's digest), and every journal row it has not checked before; ``verify`` checks them all.
Checked chains are kept per repository (:class:`ChainCache`), so a read costs the same at the
thousandth entry as at the tenth: only the rows written since are read and structured again. The
driver says (``stamp``) whether anyone else wrote since a chain was checked; if so, the whole chain
is checked again (digests only), and only the rows it has not structured before are structured.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from .. import _seal as sealing
from .. import serialization
from ..errors import DossierAltere, InvalidInput, SerializationError
from ..history import GENESIS as HISTORY_GENESIS
from ..history import chain_hash
from ..model import Actor, Dossier, EmailRecord, HistoryEntry

__all__ = ["Chain", "ChainCache", "Codec", "Journal", "Snapshot", "Written"]

#: ``encode(value) -> (column value, canonical bytes)``; ``content(column) -> canonical bytes`` (what the
#: digest covers); ``parse(column) -> value``. Both readers raise ``SerializationError`` on what they cannot read.
Encode = Callable[[Any], tuple[Any, bytes]]
Content = Callable[[Any], bytes]
Parse = Callable[[Any], Any]


@attrs.frozen
class Codec:
    """How a driver writes and reads the JSON columns (``data``, ``entries``, ``emails``).

    The digest is taken from ``content`` alone, so a row whose structured form is already known (or
    that ``verify`` only digests) is never parsed.
    """

    encode: Encode
    content: Content
    parse: Parse


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


def message(numero: str, position: int, version: int, previous: str, entries: str, emails: str,  # noqa: PLR0917
            etat: str) -> bytes:
    """The bytes a journal row's seal covers (canonical JSON: nothing can be shifted between fields)."""
    return sealing.canonical(["segur_workflow.journal", 1, numero, position, version, previous, entries, emails,
                              etat])


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
        data, data_bytes = self.codec.encode(serialization.snapshot_of(dossier))
        entries, entries_bytes = self.codec.encode(serialization.entries_of(new_entries))
        emails, emails_bytes = self.codec.encode(serialization.emails_of(dossier.emails_sent[len(old_emails):]))
        etat = sealing.digest(data_bytes)
        position = length + 1
        previous = base.head if base is not None else sealing.GENESIS
        sceau = self.sealer.seal(message(dossier.numero, position, version, previous, sealing.digest(entries_bytes),
                                         sealing.digest(emails_bytes), etat))
        chain = Chain(dossier.numero, version, position, sceau, etat, dossier.history, dossier.emails_sent,
                      base.stamp if base is not None else None)
        return Written(data, position, version, entries, emails, etat, self.sealer.current_id, sceau, chain)

    # -- reads ----------------------------------------------------------------------------------------------------
    def check(self, numero: str, snapshot: Snapshot, rows: Sequence[Sequence[Any]], base: Chain | None, *,
              stamp: object = None, structure: bool = True, entries: bool = False) -> tuple[Chain, Dossier | None]:
        """The chain and dossier of ``snapshot`` and its journal ``rows``, or ``DossierAltere``.

        ``rows`` are ``(position, version, entries, emails, etat, cle, sceau)`` in position order: all of
        them (``base`` is ``None``), or from ``base.length`` on, ``base`` being a chain checked before
        and trusted (nobody else wrote since). With ``structure=False`` nothing is structured (the
        digests only, for ``verify`` of a large database's chains: the dossier is ``None``).

        ``entries=True`` (``verify``) also recomputes the SHA-256 chain of every history entry. A read
        does not: each row's seal covers the exact bytes of its entries, whose chain was checked when
        they were written (:meth:`prepare`), so an edit is refused by the seal already, and whoever can
        forge the seal (the key's holder, or anyone in the unkeyed mode) can recompute those public
        hashes as well. Skipping them keeps a first read of a long history cheap.
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
        previous, prev_version = sealing.GENESIS, 0
        history: tuple[HistoryEntry, ...] = ()
        emails: tuple[EmailRecord, ...] = ()
        etat: str | None = None
        rest = list(rows)
        actors: dict[tuple[str, str], Actor] = {}  # built once per read, shared by the entries
        reuse = base  # a chain checked earlier: its rows are reused where the new check meets its head
        if base is not None and stamp is not None and base.stamp == stamp:
            if not rest or rest[0][0] != base.length or rest[0][6] != base.head:
                raise altered("le journal ne contient plus la tête déjà vérifiée", f"journal[{base.length}]")
            previous, prev_version, etat = base.head, base.version, base.etat
            history, emails = base.history, base.emails
            rest = rest[1:]
            expected = base.length + 1
        else:
            expected = 1
        for row in rest:
            position, row_version, raw_entries, raw_emails, row_etat, cle, sceau = row
            where = f"journal[{expected}]"
            if _int(position) != expected:
                raise altered(f"ligne {expected} du journal absente ou déplacée (trouvé : {position!r})", where)
            if _int(row_version) is None or row_version <= prev_version:
                raise altered("version de la ligne illisible ou non croissante", where)
            if not isinstance(row_etat, str):
                raise altered("empreinte de l'instantané illisible", where)
            try:
                entries_bytes, emails_bytes = self.codec.content(raw_entries), self.codec.content(raw_emails)
            except SerializationError as exc:
                raise altered(f"contenu illisible ({exc.reason})", where) from None
            problem = self.sealer.problem(
                cle, message(numero, expected, row_version, previous, sealing.digest(entries_bytes),
                             sealing.digest(emails_bytes), row_etat), sceau)
            if problem is not None:
                raise altered(problem, where)
            if reuse is not None and expected <= reuse.length:
                if expected == reuse.length:  # the same head as checked before: the same rows before it
                    if sceau != reuse.head:
                        raise altered("le journal diffère de celui déjà vérifié par ce processus", where)
                    history, emails = reuse.history, reuse.emails
            elif structure:
                try:
                    new_entries = serialization.structure_entries(self.codec.parse(raw_entries),
                                                                  where=f"{where}.entries", actors=actors)
                    new_emails = serialization.structure_emails(self.codec.parse(raw_emails), where=f"{where}.emails")
                except SerializationError as exc:
                    raise altered(f"contenu illisible ({exc.reason})", exc.field) from None
                broken = _continues(history[-1] if history else None, new_entries) if entries else None
                if broken is not None:
                    raise altered("historique altéré : la chaîne d'empreintes SHA-256 ne correspond plus",
                                  f"{where}.entries[{broken}]")
                history = (*history, *new_entries)
                emails = (*emails, *new_emails)
            previous, prev_version, etat = sceau, row_version, row_etat
            expected += 1
        if expected - 1 != length:
            raise altered(f"l'instantané annonce {length} ligne(s) de journal, le journal en a {expected - 1} "
                          "(journal tronqué, ou instantané d'un autre état)", "length")
        if length == 0 or prev_version != version:
            raise altered(f"l'instantané est à la version {version}, la tête du journal à la version {prev_version} "
                          "(retour en arrière ?)", "version")
        if head != previous:
            raise altered("la tête de l'instantané n'est pas le sceau de la dernière ligne du journal", "head")
        try:
            data_bytes = self.codec.content(snapshot.data)
        except SerializationError as exc:
            raise altered(f"instantané illisible ({exc.reason})", "data") from None
        if sealing.digest(data_bytes) != etat:
            raise altered("l'instantané ne correspond plus à l'empreinte scellée au journal", "data")
        dossier = None
        if structure:
            try:
                dossier = serialization.dossier_of(self.codec.parse(snapshot.data), history, emails)
            except SerializationError as exc:
                raise altered(f"instantané illisible ({exc.reason})", exc.field) from None
            if dossier.numero != numero:
                raise altered(f"l'instantané est celui du dossier {dossier.numero[:64]!r}", "data.numero")
            if (history[-1].dest if history else None) != dossier.status:
                raise altered("le statut de l'instantané n'est pas celui où finit l'historique", "data.status")
        chain = Chain(numero, version, length, head, etat, history, emails, stamp)
        if structure:
            self.cache.put(chain)
        return chain, dossier
