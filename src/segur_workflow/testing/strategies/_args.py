"""What every strategy module shares: the memo of strategy objects and hypothesis-style argument checks."""

from __future__ import annotations

import enum
import functools
import string
import typing
from typing import Any

from hypothesis.errors import InvalidArgument

from ... import _checks as checks
from ...model import Corridor

__all__ = ["ALNUM", "DIGITS", "UPPER", "enum_member", "memo", "require", "require_bool", "require_corridor"]

_F = typing.TypeVar("_F", bound=typing.Callable[..., Any])


def memo(factory: _F) -> _F:
    """Return the same strategy object for the same arguments: hypothesis validates and caches
    per strategy object, so rebuilding strategies inside draws would dominate the run time.
    Unhashable arguments (a ``Corridor``, a ``Dossier``) are keyed by identity and kept alive."""
    cache: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def key_of(value: Any) -> Any:
        try:
            hash(value)
        except TypeError:
            return ("id", id(value))
        return value

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (tuple(key_of(a) for a in args), tuple(sorted((k, key_of(v)) for k, v in kwargs.items())))
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = (factory(*args, **kwargs), (args, kwargs))
        return hit[0]

    return typing.cast(_F, wrapper)


def require(ok: bool, call: str, expected: str, value: object) -> None:
    """Refuse a bad strategy argument as hypothesis does its own: with ``InvalidArgument``."""
    if not ok:
        raise InvalidArgument(f"{call} : {expected} attendu, reçu {value!r}")


def require_bool(call: str, **flags: object) -> None:
    for name, value in flags.items():
        require(isinstance(value, bool), f"{call}({name}=…)", "True ou False", value)


def require_corridor(call: str, corridor: object) -> None:
    require(isinstance(corridor, Corridor), f"{call}(corridor=…)", "un Corridor (ex. SAS)", corridor)


def enum_member(enum_cls: type[enum.Enum], call: str, value: object) -> Any:
    """``value`` as a member of ``enum_cls`` (the package's one conversion), or hypothesis' ``InvalidArgument``."""
    member = checks.enum_member(enum_cls, value)
    if member is None:
        raise InvalidArgument(f"{call} : une valeur parmi {checks.choices(enum_cls)} attendue, reçu {value!r}")
    return member


DIGITS = string.digits
UPPER = string.ascii_uppercase
ALNUM = DIGITS + UPPER

