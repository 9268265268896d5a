"""How frozen values holding read-only mappings travel through ``pickle``, ``copy`` and ``multiprocessing``.

A value's mappings are ``MappingProxyType`` (so that a frozen value stays frozen all the way down), which
pickle refuses: a dossier, an outcome or a deposit command could then neither be deep-copied nor sent to
another process. :func:`travels` gives such a class the state methods that carry each read-only mapping as
a plain dict and make it read-only again on arrival.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, TypeVar

import attrs

__all__ = ["travels"]

_T = TypeVar("_T")

#: The state key listing the fields that were read-only mappings (no field of an attrs class can be named so).
_READONLY = "__readonly_maps__"


def travels(cls: type[_T]) -> type[_T]:
    """``cls`` (an ``attrs`` class), its read-only mapping fields carried by pickle and copy as dicts."""
    names = tuple(a.name for a in attrs.fields(cls))  # type: ignore[arg-type]  # an attrs class: fields() checks it

    def __getstate__(self: Any) -> dict[str, Any]:
        state: dict[str, Any] = {}
        readonly = []
        for name in names:
            value = getattr(self, name)
            if type(value) is MappingProxyType:
                value = dict(value)
                readonly.append(name)
            state[name] = value
        state[_READONLY] = tuple(readonly)
        return state

    def __setstate__(self: Any, state: dict[str, Any]) -> None:
        readonly = state.get(_READONLY, ())
        for name in names:
            if name in state:
                value = state[name]
                object.__setattr__(self, name, MappingProxyType(value) if name in readonly else value)

    setattr(cls, "__getstate__", __getstate__)  # noqa: B010 - replaces the state methods attrs wrote
    setattr(cls, "__setstate__", __setstate__)  # noqa: B010
    return cls
