"""Copying frozen values without re-running their checks: what the engine does with parts it checked already."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from types import MemberDescriptorType
from typing import Any, TypeVar

import attrs

__all__ = ["rebuild", "rebuilder"]

_set = object.__setattr__


@cache
def _rebuilder(cls: type) -> Callable[..., Any]:
    """A function copying an instance of attrs class ``cls`` with some fields changed, checks not re-run.

    Generated once per class, as attrs generates ``__init__``: one keyword-only parameter per field (the
    interpreter binds them, and refuses an unknown one, faster than a dictionary can be read), each slot
    written through its descriptor (a frozen class refuses ordinary assignment). A class with a post-init
    hook is copied with ``attrs.evolve``, so that the hook runs.
    """
    if hasattr(cls, "__attrs_post_init__"):
        return lambda value, /, **changes: attrs.evolve(value, **changes)
    names = tuple(a.name for a in attrs.fields(cls))
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_KEEP": _KEEP}
    params = ", ".join(f"{n}=_KEEP" for n in names)
    lines = [f"def rebuild(_value, /, *, {params}):", "    new = _new(_cls)"]
    for k, n in enumerate(names):
        slot = next((c.__dict__[n] for c in cls.__mro__ if n in c.__dict__), None)
        namespace[f"_s{k}"] = slot.__set__ if isinstance(slot, MemberDescriptorType) else partial(_set_field, n)
        lines.append(f"    _s{k}(new, _value.{n} if {n} is _KEEP else {n})")
    lines.append("    return new")
    exec(compile("\n".join(lines), f"<segur_workflow rebuild {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    built: Callable[..., Any] = namespace["rebuild"]
    return built


#: What a rebuilt field defaults to: the field is kept as it is.
_KEEP: Any = object()


def _set_field(name: str, obj: object, value: object) -> None:
    _set(obj, name, value)


_V = TypeVar("_V")


def rebuilder(cls: type[_V]) -> Callable[..., _V]:
    """:func:`rebuild` for values of class ``cls``, looked up once: ``rebuilder(Demande)(demande, controles=…)``
    (an effect calling it on every command saves the lookup)."""
    kind: Any = cls
    built: Callable[..., _V] = _rebuilder(kind)
    return built


def rebuild(value: _V, **changes: Any) -> _V:
    """``attrs.evolve(value, **changes)`` without re-running validators and converters.

    Only for values whose kept fields are valid already and whose changed fields the engine built
    from checked parts (a read-only mapping where the field converts to one): re-checking them was
    the largest share of ``handle()`` (see docs/benchmarks.md).
    """
    kind: Any = type(value)
    new: _V = _rebuilder(kind)(value, **changes)
    return new
