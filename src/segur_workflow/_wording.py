"""How an error says identifiers to people: a status, a trigger, a role, by their labels, never their ids.

The labels of statuses and triggers are the definitions' (``states``), and the definitions raise
``DefinitionError``: ``errors`` cannot import them. They are given instead: ``states`` fills
:data:`WORDING` when it loads, and every import of ``errors`` loads the package, hence ``states``. So an
error built from identifiers only (by a host, or unpickled in another process) still speaks in the
portal's words, and the import graph has no cycle.
"""

from __future__ import annotations

from typing import Protocol

from ._slot import Slot
from .vocabulary import Role

__all__ = ["WORDING", "Wording", "role_words", "status_words", "trigger_words"]


class Wording(Protocol):
    """How a machine's identifiers are said to people: a status (« En cours » (Ma demande d'avance)) and a
    trigger (« Rejeter la demande »); ``None`` for an identifier it does not know."""

    def status(self, status: str) -> str | None: ...

    def trigger(self, trigger: str) -> str | None: ...


class _Unworded:
    """Before the definitions give their words (never, once the package is imported)."""

    def status(self, status: str) -> str | None:
        return None

    def trigger(self, trigger: str) -> str | None:
        return None


#: The words of the package's machines, given by ``states`` when it loads.
WORDING: Slot[Wording] = Slot("errors.wording", _Unworded())


def status_words(status: str | None) -> str:
    """The status in people's words: its portal label (and the request it belongs to), never its id."""
    if status is None:
        return "avant la création du dossier ou du compte"
    words = WORDING.get().status(status)
    return "au statut actuel" if words is None else f"au statut {words}"


def trigger_words(trigger: str) -> str:
    """A trigger as the portal says it (« Rejeter la demande »), from the definitions."""
    words = WORDING.get().trigger(trigger)
    return trigger.replace("_", " ").capitalize() if words is None else words


def role_words(role: str) -> str:
    return Role(role).label if role in Role.__members__.values() else role
