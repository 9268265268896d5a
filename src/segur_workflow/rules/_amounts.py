"""Amounts of a request: a ``Decimal`` equal to the corridor's (a float or a str is a type error)."""

from __future__ import annotations

from decimal import Decimal

from ..errors import InvalidInput
from ..model import SAS, Corridor
from ..vocabulary import Phase
from ._args import as_corridor, as_phase
from ._codes import OK, Violations, violation

__all__ = ["check_montant"]


def check_montant(montant: Decimal, phase: Phase, corridor: Corridor = SAS) -> Violations:
    """The amount of a request: a ``Decimal`` (float and str are type errors) equal to the corridor's."""
    if not isinstance(montant, Decimal):
        raise InvalidInput("montant", "un montant decimal.Decimal", montant)
    phase = as_phase(phase)
    expected = as_corridor(corridor).montant(phase)
    if not montant.is_finite():
        return (violation("montant.invalide"),)
    if montant != expected:
        return (violation(f"montant.{phase.value}", attendu=_montant_text(expected)),)
    return OK


def _montant_text(value: Decimal) -> str:
    return f"{value:f}" if value == value.to_integral_value() else f"{value:.2f}"

