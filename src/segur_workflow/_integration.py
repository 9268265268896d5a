"""Integration events as stored in the outbox: each engine event ↔ a JSON document.

The document names the event's class (``type``) and carries every field (dates in ISO 8601 with
their offset, amounts as decimal strings, enums by value), so that the event read back from the
outbox, or replayed to a retried command, is equal to the one the engine produced.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

import cattrs

from .engine import Event
from .errors import SerializationError

__all__ = ["event_from_json", "event_to_dict", "event_to_json", "event_types"]


def _subclasses(cls: type[Event]) -> list[type[Event]]:
    found: list[type[Event]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def event_types() -> dict[str, type[Event]]:
    """Every concrete event class, by name (the ``type`` of the stored document)."""
    return {cls.__name__: cls for cls in _subclasses(Event)}


@cache
def _converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, lambda v, _t: datetime.fromisoformat(v))
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, lambda v, _t: Decimal(v))
    return conv


def event_to_dict(event: Event) -> dict[str, Any]:
    """``{"type": class name, **fields}`` of ``event``, JSON-ready."""
    doc: dict[str, Any] = _converter().unstructure(event)
    return {"type": type(event).__name__, **doc}


def event_to_json(event: Event) -> str:
    return json.dumps(event_to_dict(event), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_from_json(text: str) -> Event:
    """The event stored as ``text``; ``SerializationError`` if it is not one."""
    try:
        doc = json.loads(text)
        cls = event_types()[doc.pop("type")]
        event: Event = _converter().structure(doc, cls)
    except (ValueError, TypeError, KeyError, AttributeError, cattrs.BaseValidationError) as exc:
        raise SerializationError("event", f"événement illisible ({type(exc).__name__})") from None
    return event
