"""Tamper-evident history: each entry's SHA-256 covers its canonical form and the previous hash."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .model import Dossier, HistoryEntry

#: The hash the first entry chains to.
GENESIS = "0" * 64


def canonical(entry: HistoryEntry) -> str:
    """The entry without its hash, as sorted-key JSON: the bytes the chain signs."""
    return json.dumps(
        {
            "at": entry.at.isoformat(),
            "actor": [entry.actor.role.value, entry.actor.id],
            "trigger": entry.trigger,
            "source": entry.source.value if entry.source is not None else None,
            "dest": entry.dest.value,
            "comment": entry.comment,
            "command_id": entry.command_id,
            "details": dict(sorted(entry.details.items())),
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def chain_hash(previous: str, entry: HistoryEntry) -> str:
    # surrogatepass: identifiers are any str (an actor id, a command id); hashing must never fail
    return hashlib.sha256((previous + "\n" + canonical(entry)).encode("utf-8", "surrogatepass")).hexdigest()


def seal(previous: str, entry: HistoryEntry) -> HistoryEntry:
    """``entry`` with its chained hash set."""
    return attrs.evolve(entry, hash=chain_hash(previous, entry))


def history_problems(dossier: Dossier) -> tuple[int, ...]:
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


def verify_history(dossier: Dossier) -> bool:
    """``True`` when no entry was edited, removed or reordered since it was written."""
    return not history_problems(dossier)
