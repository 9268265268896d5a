"""JSON text in and out: the reference writer (orjson where it writes the same text) and the careful reader."""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..errors import SerializationError

__all__ = ["_ENCODER", "_dumps", "loads"]

#: The reference writer: ``json.dumps`` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(data: Any) -> str:
    """``_ENCODER.encode(data)``, written by orjson when it can (about five times faster).

    orjson writes the same compact text (a test compares them); what it refuses and ``json``
    writes — integers beyond 64 bits, lone surrogates — goes to ``json`` as before.
    """
    try:
        return orjson.dumps(data).decode("utf-8")
    except orjson.JSONEncodeError:
        return _ENCODER.encode(data)


def loads(text: str | bytes) -> Any:
    """JSON text as plain values: orjson where it reads exactly what ``json`` reads, else ``json``.

    Never a ``RecursionError`` or a ``ValueError``: unreadable text is a ``SerializationError``.
    """
    if type(text) is str:
        # orjson reads about twice as fast as json. It reads the same values, save two kinds: what
        # it refuses (NaN, infinite numbers, escaped lone surrogates, nesting beyond 1024), and
        # integers beyond 64 bits, which it reads as floats. No field of a dossier accepts a float,
        # so a float read here goes to json below, for exactly the value it always gave.
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            if not _has_float(value):
                return value
    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        raise SerializationError("$", f"JSON illisible ({exc})") from None
    except RecursionError:
        raise SerializationError("$", "JSON trop profondément imbriqué") from None


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            return True
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False
