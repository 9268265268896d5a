"""The parts a repository stores apart (adapters/_sql.py): the snapshot without the history, the journal
rows, and the fast readers of the journal rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs
import orjson

from ..errors import SerializationError
from ..model import Actor, Dossier, EmailRecord, HistoryEntry
from ..states import Status
from ._converter import _CONVERTER, _FAST, _structure
from ._upcast import SCHEMA_VERSION

__all__ = [
    "JOURNALED",
    "LAST_ENTRY",
    "Body",
    "body_of",
    "dossier_of",
    "emails_fast",
    "emails_of",
    "entries_fast",
    "entries_of",
    "snapshot_of",
    "snapshot_parts",
    "structure_emails",
    "structure_entries",
]

# -- the parts a repository stores apart (adapters/_sql.py) ------------------------------------------------------------
#: The fields a journal stores row by row; the snapshot row holds every other one.
JOURNALED = ("history", "emails_sent")
_BODY_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
    (f.name, _CONVERTER.get_unstructure_hook(f.type))
    for f in attrs.fields(attrs.resolve_types(Dossier)) if f.name not in JOURNALED
)
_ENTRY_HOOK = _CONVERTER.get_unstructure_hook(HistoryEntry)
_EMAIL_HOOK = _CONVERTER.get_unstructure_hook(EmailRecord)


#: The snapshot's copy of the last history entry (a list of at most one entry): what a read needs of the
#: history when the journal's head row appended none (a save of an unchanged dossier).
LAST_ENTRY = "history_last"


def snapshot_of(dossier: Dossier) -> dict[str, Any]:
    """Every field of ``dossier`` but the history and the e-mails sent, as plain JSON (with ``schema_version``),
    and a copy of the last history entry (:data:`LAST_ENTRY`)."""
    return snapshot_parts(dossier, None)[0]


_BODY_NAMES = tuple(name for name, _hook in _BODY_FIELDS)
_BODY_TYPES: tuple[Any, ...] = tuple(f.type for f in attrs.fields(Dossier) if f.name not in JOURNALED)
_SNAPSHOT_KEYS = frozenset({"schema_version", LAST_ENTRY, *_BODY_NAMES})


class Body:
    """The fields of one stored snapshot, each value beside its JSON form, and the copy of its last history entry:
    what the next write of the same dossier takes by identity instead of writing it out again, and the next read of
    the same bytes instead of building it again (adapters/_journal.py keeps one per dossier with its checked chain).

    ``built[i]``: value ``i`` was built from ``raws[i]`` by the converter (a read). Only such values are given to a
    later read of the same JSON: a value a host built and a repository wrote out is equal to what reading it back
    gives, not always alike in every detail (a ``ZoneInfo`` date comes back with a fixed UTC offset), and a read
    gives what reading the bytes gives. ``etat``: the digest of the snapshot's bytes, once they are written or
    checked; ``template``: what a read of those very bytes gives, with an empty history (built, and checked by
    its ``__init__``, once: by :func:`body_of`, or kept by a write of the bytes a read built it from).
    """

    __slots__ = ("built", "etat", "last", "last_built", "last_raw", "raws", "template", "texts", "values")

    def __init__(self, values: Sequence[Any], raws: Sequence[Any], built: Sequence[bool], *,
                 last: tuple[HistoryEntry, ...], last_raw: list[Any], last_built: bool,
                 texts: Sequence[bytes | None] | None = None) -> None:
        self.values, self.raws, self.built = tuple(values), tuple(raws), tuple(built)
        self.last, self.last_raw, self.last_built = last, last_raw, last_built
        self.texts: list[bytes | None] = list(texts) if texts is not None else [None] * len(self.values)
        self.etat: str | None = None
        self.template: Dossier | None = None

    def text(self, i: int) -> bytes | None:
        """The JSON of field ``i`` with its keys in their order (written out when first compared); ``None`` for
        what orjson cannot write (never compared equal)."""
        text = self.texts[i]
        if text is None:
            text = self.texts[i] = _exact(self.raws[i])
        return text

    def serves(self, etat: str) -> bool:
        """Whether a read of snapshot bytes of digest ``etat`` may take this whole body as it is."""
        return self.etat == etat and self.template is not None

    def dossier(self, history: Sequence[HistoryEntry], emails: Sequence[EmailRecord]) -> Dossier:
        assert self.template is not None  # only a read body (serves) is asked for its dossier
        return attrs.evolve(self.template, history=history, emails_sent=emails)

    def _same(self, i: int, raw: Any) -> bool:
        """Whether ``raw`` (this read's JSON of field ``i``) is exactly field ``i``'s JSON."""
        mine = self.raws[i]
        if type(raw) is not type(mine):
            return False
        if type(raw) is dict or type(raw) is list:
            # Keys in their order, not sorted: a mapping read from keys in another order iterates in that order.
            mine_text = self.text(i)
            return mine_text is not None and _exact(raw) == mine_text
        return bool(raw == mine)  # str, int, None: same type, same value


def _exact(value: Any) -> bytes | None:
    """``value``'s JSON as it is, keys in their order: equal only for values equal in every detail, that order
    included (``None`` for what orjson cannot write: integers beyond 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return None


def snapshot_parts(dossier: Dossier, known: Body | None) -> tuple[dict[str, Any], Body]:
    """:func:`snapshot_of` and its :class:`Body`; a field (or the last entry) that is the very object of ``known``
    (the body of the stored state this write follows) is not written out again: its JSON is ``known``'s."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    values: list[Any] = []
    raws: list[Any] = []
    built: list[bool] = []
    texts: list[bytes | None] = []
    for i, (name, hook) in enumerate(_BODY_FIELDS):
        value = getattr(dossier, name)
        if known is not None and known.values[i] is value:
            raw, was_built, text = known.raws[i], known.built[i], known.texts[i]
        else:
            raw, was_built, text = hook(value), False, None
        out[name] = raw
        values.append(value)
        raws.append(raw)
        built.append(was_built)
        texts.append(text)
    history = dossier.history
    last: tuple[HistoryEntry, ...] = (history[-1],) if history else ()
    if known is not None and len(known.last) == len(last) and all(
            a is b for a, b in zip(known.last, last, strict=True)):
        last_raw, last_built = known.last_raw, known.last_built
    else:
        last_raw, last_built = [_ENTRY_HOOK(e) for e in last], False
    out[LAST_ENTRY] = last_raw
    return out, Body(values, raws, built, last=last, last_raw=last_raw, last_built=last_built, texts=texts)


def body_of(snapshot: object, known: Body | None) -> Body | None:
    """The :class:`Body` of a snapshot this library wrote (:func:`snapshot_of`'s exact shape), each field
    built by the converter unless ``known`` holds one built from the same JSON; ``None`` for anything else,
    and for anything the converter or the dossier's checks refuse (then :func:`dossier_of` names the field)."""
    if type(snapshot) is not dict or snapshot.keys() != _SNAPSHOT_KEYS or snapshot["schema_version"] != SCHEMA_VERSION:
        return None
    values: list[Any] = []
    raws: list[Any] = []
    try:
        for i, name in enumerate(_BODY_NAMES):
            raw = snapshot[name]
            if known is not None and known.built[i] and known._same(i, raw):
                values.append(known.values[i])
            else:
                values.append(_FAST.structure(raw, _BODY_TYPES[i]))
            raws.append(raw)
        last_raw = snapshot[LAST_ENTRY]
        last: tuple[HistoryEntry, ...] | None = None
        if known is not None and known.last_built and type(last_raw) is list:
            last_text = _exact(last_raw)
            if last_text is not None and last_text == _exact(known.last_raw):
                last = known.last
        if last is None:
            last = entries_fast(last_raw, {})
            if last is None or len(last) > 1:
                return None
        template = Dossier(**dict(zip(_BODY_NAMES, values, strict=True)), history=(), emails_sent=())
    except Exception:  # the careful path says what is wrong, and where
        return None
    body = Body(values, raws, (True,) * len(values), last=last, last_raw=last_raw, last_built=True)
    body.template = template
    return body


def entries_of(entries: Sequence[HistoryEntry]) -> list[Any]:
    return [_ENTRY_HOOK(e) for e in entries]


def emails_of(records: Sequence[EmailRecord]) -> list[Any]:
    return [_EMAIL_HOOK(r) for r in records]


def structure_entries(raw: object, *, where: str, actors: dict[tuple[str, str], Actor] | None = None
                      ) -> tuple[HistoryEntry, ...]:
    """The history entries of one journal row. ``actors``: the actors already built by this read (a
    dossier has a handful; each is built and checked once, then shared by its entries)."""
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = entries_fast(raw, {} if actors is None else actors)
    if fast is not None:
        return fast
    return tuple(_structure(item, HistoryEntry, prefix=f"{where}[{i}]") for i, item in enumerate(raw))


def structure_emails(raw: object, *, where: str) -> tuple[EmailRecord, ...]:
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = emails_fast(raw)
    if fast is not None:
        return fast
    return tuple(_structure(item, EmailRecord, prefix=f"{where}[{i}]") for i, item in enumerate(raw))


# -- journal rows read straight into values --------------------------------------------------------------------
# A stored command reads back the history entries of every journal row it has not structured yet: on
# a first read, all of them. Through cattrs an entry costs tens of microseconds, most of a command at a
# thousand entries (docs/benchmarks.md). What this module writes has one shape, so these readers take
# that shape only, with the same checks as the converter's hooks (types, enum values, aware dates, no
# missing or extra key); anything else returns None and goes through the converter, which accepts or
# refuses it with the error naming the field. A property test holds both to the same values.
_ENTRY_KEYS = frozenset(a.name for a in attrs.fields(HistoryEntry))
_EMAIL_KEYS = frozenset(a.name for a in attrs.fields(EmailRecord))
_STATUSES: Mapping[str, Status] = Status._value2member_map_  # type: ignore[assignment]


#: The slots of a history entry, set directly by the fast reader: the checks are its own (those of the
#: converter's hooks), and ``attrs``' ``__init__`` would only repeat the one conversion (``details``
#: wrapped read-only) it does already. Guarded: an entry class that grew a validator or another
#: converter would be built through its ``__init__``.
_ENTRY_SLOTS = tuple(HistoryEntry.__dict__[a.name].__set__ for a in attrs.fields(HistoryEntry))
_PLAIN_ENTRY = (tuple(a.name for a in attrs.fields(HistoryEntry)) == (
    "at", "actor", "trigger", "source", "dest", "comment", "command_id", "details", "hash")
    and all(a.validator is None and (a.converter is None or a.name == "details") for a in attrs.fields(HistoryEntry)))


def entries_fast(raw: object, actors: dict[tuple[str, str], Actor]) -> tuple[HistoryEntry, ...] | None:
    """History entries read straight from journal JSON, or ``None`` for anything but their exact shape."""
    if type(raw) is not list:
        return None
    out: list[HistoryEntry] = []
    append, statuses, parse_moment, new = out.append, _STATUSES, datetime.fromisoformat, object.__new__
    s_at, s_actor, s_trigger, s_source, s_dest, s_comment, s_command, s_details, s_hash = _ENTRY_SLOTS
    for item in raw:
        if type(item) is not dict or len(item) != len(_ENTRY_KEYS):
            return None
        try:  # the exact keys: as many as expected, each one there
            at, actor, trigger, source = item["at"], item["actor"], item["trigger"], item["source"]
            dest, comment, command_id = item["dest"], item["comment"], item["command_id"]
            details, digest = item["details"], item["hash"]
        except KeyError:
            return None
        if (type(at) is not str or type(trigger) is not str or type(digest) is not str or type(details) is not dict
                or (comment is not None and type(comment) is not str)
                or (command_id is not None and type(command_id) is not str)
                or type(actor) is not dict or len(actor) != 2):
            return None
        for key, value in details.items():
            if type(key) is not str or type(value) is not str:
                return None
        try:
            who = actors[actor["role"], actor["id"]]
        except KeyError:  # the converter builds (and checks) each distinct actor once per read
            try:
                role, actor_id = actor["role"], actor["id"]
                if type(role) is not str or type(actor_id) is not str:
                    return None
                who = actors[role, actor_id] = _FAST.structure(actor, Actor)
            except Exception:  # the careful path gives the error
                return None
        except TypeError:  # an unhashable role or id
            return None
        destination = statuses.get(dest) if type(dest) is str else None
        origin = None if source is None else statuses.get(source) if type(source) is str else None
        if destination is None or (source is not None and origin is None):
            return None
        try:
            moment = parse_moment(at)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        # ``details`` is a dict of this read alone: wrapped as it is, not copied (what _frozen_map would do).
        if _PLAIN_ENTRY:
            entry = new(HistoryEntry)
            s_at(entry, moment)
            s_actor(entry, who)
            s_trigger(entry, trigger)
            s_source(entry, origin)
            s_dest(entry, destination)
            s_comment(entry, comment)
            s_command(entry, command_id)
            s_details(entry, MappingProxyType(details))
            s_hash(entry, digest)
        else:  # pragma: no cover - only if HistoryEntry changes
            entry = HistoryEntry(moment, who, trigger, origin, destination, comment, command_id,
                                 MappingProxyType(details), digest)
        append(entry)
    return tuple(out)


def emails_fast(raw: object) -> tuple[EmailRecord, ...] | None:
    if type(raw) is not list:
        return None
    out: list[EmailRecord] = []
    for item in raw:
        if type(item) is not dict or item.keys() != _EMAIL_KEYS:
            return None
        at, template, subject, to = item["at"], item["template"], item["subject"], item["to"]
        if type(at) is not str or type(template) is not str or type(subject) is not str or type(to) is not str:
            return None
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        out.append(EmailRecord(moment, template, subject, to))
    return tuple(out)


def dossier_of(snapshot: object, history: Sequence[HistoryEntry], emails: Sequence[EmailRecord]) -> Dossier:
    """The dossier of a snapshot (see :func:`snapshot_of`) with its history and e-mails read apart."""
    if not isinstance(snapshot, dict):
        raise SerializationError("data", f"objet attendu, {type(snapshot).__name__} reçu")
    if snapshot.get("schema_version") != SCHEMA_VERSION:
        raise SerializationError("data.schema_version", f"version {SCHEMA_VERSION} attendue")
    body = {k: v for k, v in snapshot.items() if k not in ("schema_version", LAST_ENTRY)}
    for name in JOURNALED:
        if name in body:
            raise SerializationError(f"data.{name}", "champ inattendu dans l'instantané (il est au journal)")
    dossier: Dossier = _structure({**body, "history": [], "emails_sent": []}, Dossier, prefix="data")
    return attrs.evolve(dossier, history=history, emails_sent=emails)
