"""Tamper-evident history: each entry's SHA-256 covers its canonical form and the previous hash."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from json.encoder import encode_basestring as _json_str  # the JSON string encoder, no ASCII escaping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

__all__ = [
    "GENESIS",
    "append",
    "canonical",
    "chain_hash",
    "command_entry",
    "history_problems",
    "is_automatic",
    "link",
    "seal",
    "verify_history",
]

if TYPE_CHECKING:
    from .model import Dossier, HistoryEntry

#: The hash the first entry chains to.
GENESIS = "0" * 64
#: What an entry without details carries (read-only, as every entry's details).
_NO_DETAILS: Mapping[str, str] = MappingProxyType({})



def canonical(entry: HistoryEntry) -> str:
    """The entry without its hash, as sorted-key JSON: the bytes the chain signs.

    Exactly ``json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` of the
    fields below (a test holds it to that), written out by hand with the JSON string encoder: the
    generic encoder was the largest single share of a command's cost (see docs/benchmarks.md).
    Keys in sorted order: actor, at, command_id, comment, dest, details, source, trigger. One
    f-string, the optional fields inline and a list (not a generator) for the details: each function
    call is a visible share of a history entry.
    """
    details = entry.details
    body = ",".join([f"{_json_str(k)}:{_json_str(v)}" for k, v in sorted(details.items())]) if details else ""
    actor, command_id, comment, source = entry.actor, entry.command_id, entry.comment, entry.source
    # isoformat() is ASCII digits and "-:+T.": nothing to escape.
    return (
        f'{{"actor":[{_json_str(actor.role)},{_json_str(actor.id)}],"at":"{entry.at.isoformat()}",'
        f'"command_id":{"null" if command_id is None else _json_str(command_id)},'
        f'"comment":{"null" if comment is None else _json_str(comment)},'
        f'"dest":{_json_str(entry.dest)},"details":{{{body}}},'
        f'"source":{"null" if source is None else _json_str(source)},"trigger":{_json_str(entry.trigger)}}}'
    )


def chain_hash(previous: str, entry: HistoryEntry) -> str:
    # surrogatepass: identifiers are any str (an actor id, a command id); hashing must never fail
    return hashlib.sha256((previous + "\n" + canonical(entry)).encode("utf-8", "surrogatepass")).hexdigest()


def seal(previous: str, entry: HistoryEntry) -> HistoryEntry:
    """``entry`` with its chained hash set."""
    return attrs.evolve(entry, hash=chain_hash(previous, entry))


@cache
def _entry_class() -> type[HistoryEntry]:
    # model is imported lazily (history stays importable on its own); the import statement itself,
    # run on every append, was a visible share of it.
    from .model import HistoryEntry

    return HistoryEntry


def append(
    history: tuple[Any, ...], *, at: Any, actor: Any, trigger: str, source: Any, dest: Any,
    comment: str | None = None, command_id: str | None = None, details: Mapping[str, str] = _NO_DETAILS,
    entry_type: type[Any] | None = None,
) -> tuple[Any, ...]:
    """``history`` with one new entry (built from the fields given) chained to its last one.

    ``entry_type`` is the machine's entry class (a dossier's :class:`~.model.HistoryEntry` by default);
    every machine's history is chained the same way. The entry is built once, its fields passed by
    position (packing them into keywords twice was a visible share of a command), and its hash set
    before anyone else can see it: ``seal`` builds it twice (an ``attrs.evolve``), a measurable share
    of each command (see docs/benchmarks.md).
    """
    return link(history, entry_type or _entry_class(), at, actor, trigger, source, dest, comment, command_id, details)


def link(history: tuple[Any, ...], entry_type: type[Any], at: Any, actor: Any, trigger: str,  # noqa: PLR0917
         source: Any, dest: Any, comment: str | None, command_id: str | None, details: Mapping[str, str],
         ) -> tuple[Any, ...]:
    """:func:`append` with every field given by position: what the engine calls on every command (binding ten
    keywords was a visible share of a history entry)."""
    entry = entry_type(at, actor, trigger, source, dest, comment, command_id, details)
    # Frozen for everyone else; this object is not shared yet, as in an attrs __attrs_post_init__.
    object.__setattr__(entry, "hash", chain_hash(history[-1].hash if history else GENESIS, entry))
    return (*history, entry)


def is_automatic(entry: HistoryEntry) -> bool:
    """Whether ``entry`` is one of the portal's own controls after a deposit (``Role.SYSTEME``), not a command."""
    return entry.actor.role == "systeme" and entry.trigger == "controler_bloc"


def command_entry(dossier: Dossier) -> HistoryEntry | None:
    """The entry of the last command applied to ``dossier`` (``None``: no history).

    Usually the last entry; after a deposit, the portal's automatic controls follow the deposit's own
    entry at the same instant, and it is the deposit's entry (its trigger, actor and ``command_id``)
    that records the command.
    """
    for entry in reversed(dossier.history):
        if not is_automatic(entry):
            return entry
    return None


def history_problems(dossier: Dossier | Any) -> tuple[int, ...]:
    """Indexes of the entries that break the chain (empty: the history is intact).

    Besides each hash, the statuses must follow on (an entry starts where the previous one ended)
    and the last entry must end at the dossier's status, which catches a removed tail; the index
    ``len(history)`` stands for that last check.
    """
    previous = GENESIS
    bad: list[int] = []
    last_dest = None
    for i, entry in enumerate(dossier.history):
        if entry.hash != chain_hash(previous, entry) or entry.source != last_dest:
            bad.append(i)
        previous = entry.hash
        last_dest = entry.dest
    if last_dest != dossier.status:
        bad.append(len(dossier.history))
    return tuple(bad)


def verify_history(dossier: Dossier | Any) -> bool:
    """``True`` when no entry was edited, removed or reordered since it was written."""
    return not history_problems(dossier)
