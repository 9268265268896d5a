"""The values of the sealed journal (journal format 3, see :mod:`._journal`): what a row holds, what a write
puts in the database, what a checked chain is, the bytes a row's seal covers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import orjson

from .. import _seal as sealing
from .. import serialization
from ..errors import SerializationError
from ..history import GENESIS as HISTORY_GENESIS
from ..history import chain_hash
from ..model import EmailRecord, HistoryEntry

__all__ = ["FORMAT", "WIDTH", "Chain", "Codec", "Fetch", "Snapshot", "Written", "continues", "digest_of", "dumps",
           "int_or_none", "message", "sealed_part"]

#: The journal format this module writes and reads (the version inside each row's sealed message).
FORMAT = 3
#: The number of columns of a journal row as :meth:`._journal.Journal.check` reads them (``JOURNAL_COLUMNS``).
WIDTH = 10

#: ``encode(value) -> (column value, canonical bytes)``; ``content(column) -> canonical bytes`` (what the
#: snapshot's digest covers); ``parse(column) -> value``; ``frame(column value) -> what the journal text
#: holds for it`` (the column as a read returns it). Readers raise ``SerializationError`` on what they cannot read.
Encode = Callable[[Any], tuple[Any, bytes]]
Content = Callable[[Any], bytes]
Parse = Callable[[Any], Any]
Frame = Callable[[Any], Any]
#: ``fetch(numero, upto)``: the journal rows 1 … ``upto`` of ``numero``, in position order (the repository's read).
Fetch = Callable[[str, int], Sequence[Sequence[Any]]]


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
    """A journal checked up to ``length`` rows: what the next write chains on, and what it holds."""

    numero: str
    version: int
    length: int
    head: str
    etat: str
    history: Sequence[HistoryEntry]
    emails: Sequence[EmailRecord]
    #: ``D[length]``: the digest of the journal up to its head row (the next row's ``precedent``)
    digest: str
    #: the snapshot's fields beside their JSON (``None``: a snapshot not of :func:`serialization.snapshot_of`'s
    #: exact shape), for the next read and write of this dossier (see :class:`serialization.Body`)
    body: serialization.Body | None = attrs.field(default=None, eq=False)


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
    precedent: str
    entries_total: int
    emails_total: int
    sceau: str
    chain: Chain

    def row(self, numero: str) -> tuple[Any, ...]:
        """The values of the journal INSERT (``_schema.JOURNAL_INSERT``)."""
        return (numero, self.position, self.version, self.entries, self.emails, self.etat, self.cle, self.precedent,
                self.entries_total, self.emails_total, self.sceau)


def message(numero: str, row_digest: str) -> bytes:
    """The bytes a journal row's seal covers: the dossier's number and the digest of the row's sealed part."""
    return sealing.canonical(["segur_workflow.journal", FORMAT, numero, row_digest])


def dumps(value: Any) -> bytes:
    """Journal text (canonical JSON); ``SerializationError`` for what orjson cannot write."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        raise SerializationError("journal", "contenu impossible à écrire en JSON canonique") from None


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def continues(previous: HistoryEntry | None, entries: Sequence[HistoryEntry]) -> int | None:
    """The index (in ``entries``) of the first entry that does not chain on ``previous``, or ``None``."""
    prev_hash = previous.hash if previous is not None else HISTORY_GENESIS
    prev_dest = previous.dest if previous is not None else None
    for i, entry in enumerate(entries):
        if entry.source != prev_dest or entry.hash != chain_hash(prev_hash, entry):
            return i
        prev_hash, prev_dest = entry.hash, entry.dest
    return None


def sealed_part(text: bytes, sceau: object) -> int | None:
    """Where, in row text ``text`` ending with ``"<sceau>"]``, the sealed part ends (before its seal); ``None``
    when the text does not end so."""
    if type(sceau) is not str or not sceau.isascii() or not sceau.isalnum():
        return None
    tail = b'"' + sceau.encode("ascii") + b'"]'
    return len(text) - len(tail) if text.endswith(tail) else None
