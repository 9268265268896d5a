"""Type checks of the validators' arguments: a wrong *type* is an ``InvalidInput``, never a violation."""

from __future__ import annotations

from .._checks import ensure_str
from ..errors import InvalidInput
from ..model import Corridor
from ..vocabulary import Phase

__all__ = ["as_corridor", "as_phase", "ensure_str"]


def as_corridor(value: object) -> Corridor:
    if not isinstance(value, Corridor):
        raise InvalidInput("corridor", "un Corridor", value)
    return value


def as_phase(value: object) -> Phase:
    try:
        return Phase(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidInput("phase", "une Phase (avance ou solde)", value) from None
