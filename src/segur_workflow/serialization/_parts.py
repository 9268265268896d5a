"""The parts a repository stores apart (adapters/_sql.py): the snapshot without the history, the journal
rows, and the fast readers of the journal rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ..errors import SerializationError
from ..model import Actor, Dossier, EmailRecord, HistoryEntry
from ..states import Status
from ._converter import _CONVERTER, _FAST, _structure
from ._upcast import SCHEMA_VERSION

__all__ = [
    "JOURNALED",
    "_emails_fast",
    "_entries_fast",
    "dossier_of",
    "emails_of",
    "entries_of",
    "snapshot_of",
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


def snapshot_of(dossier: Dossier) -> dict[str, Any]:
    """Every field of ``dossier`` but the history and the e-mails sent, as plain JSON (with ``schema_version``)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for name, hook in _BODY_FIELDS:
        out[name] = hook(getattr(dossier, name))
    return out


def entries_of(entries: tuple[HistoryEntry, ...]) -> list[Any]:
    return [_ENTRY_HOOK(e) for e in entries]


def emails_of(records: tuple[EmailRecord, ...]) -> list[Any]:
    return [_EMAIL_HOOK(r) for r in records]


def structure_entries(raw: object, *, where: str, actors: dict[tuple[str, str], Actor] | None = None
                      ) -> tuple[HistoryEntry, ...]:
    """The history entries of one journal row. ``actors``: the actors already built by this read (a
    dossier has a handful; each is built and checked once, then shared by its entries)."""
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = _entries_fast(raw, {} if actors is None else actors)
    if fast is not None:
        return fast
    return tuple(_structure(item, HistoryEntry, prefix=f"{where}[{i}]") for i, item in enumerate(raw))


def structure_emails(raw: object, *, where: str) -> tuple[EmailRecord, ...]:
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = _emails_fast(raw)
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


def _optional_text(value: object) -> bool:
    return value is None or type(value) is str


def _entries_fast(raw: object, actors: dict[tuple[str, str], Actor]) -> tuple[HistoryEntry, ...] | None:
    if type(raw) is not list:
        return None
    out: list[HistoryEntry] = []
    for item in raw:
        if type(item) is not dict or item.keys() != _ENTRY_KEYS:
            return None
        at, actor, trigger, source, dest = item["at"], item["actor"], item["trigger"], item["source"], item["dest"]
        comment, command_id, details, digest = item["comment"], item["command_id"], item["details"], item["hash"]
        if (type(at) is not str or type(trigger) is not str or type(dest) is not str or type(digest) is not str
                or not _optional_text(source) or not _optional_text(comment) or not _optional_text(command_id)
                or type(details) is not dict or type(actor) is not dict):
            return None
        if not all(type(k) is str and type(v) is str for k, v in details.items()):
            return None
        role, actor_id = actor.get("role"), actor.get("id")
        if len(actor) != 2 or type(role) is not str or type(actor_id) is not str:
            return None
        who = actors.get((role, actor_id))
        if who is None:  # the converter builds (and checks) each distinct actor once per read
            try:
                who = actors[role, actor_id] = _FAST.structure(actor, Actor)
            except Exception:  # the careful path gives the error
                return None
        destination = _STATUSES.get(dest)
        origin = None if source is None else _STATUSES.get(source)
        if destination is None or (source is not None and origin is None):
            return None
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        # ``details`` is a dict of this read alone: wrapped as it is, not copied (what _frozen_map would do).
        out.append(HistoryEntry(moment, who, trigger, origin, destination, comment, command_id,
                                MappingProxyType(details), digest))
    return tuple(out)


def _emails_fast(raw: object) -> tuple[EmailRecord, ...] | None:
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


def dossier_of(snapshot: object, history: tuple[HistoryEntry, ...], emails: tuple[EmailRecord, ...]) -> Dossier:
    """The dossier of a snapshot (see :func:`snapshot_of`) with its history and e-mails read apart."""
    if not isinstance(snapshot, dict):
        raise SerializationError("data", f"objet attendu, {type(snapshot).__name__} reçu")
    if snapshot.get("schema_version") != SCHEMA_VERSION:
        raise SerializationError("data.schema_version", f"version {SCHEMA_VERSION} attendue")
    body = {k: v for k, v in snapshot.items() if k != "schema_version"}
    for name in JOURNALED:
        if name in body:
            raise SerializationError(f"data.{name}", "champ inattendu dans l'instantané (il est au journal)")
    dossier: Dossier = _structure({**body, "history": [], "emails_sent": []}, Dossier, prefix="data")
    return attrs.evolve(dossier, history=history, emails_sent=emails)
