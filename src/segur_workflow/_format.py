"""How dates and amounts are shown to people (e-mails, the consultation screen, the CLI): one place."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "format_date", "format_montant"]

#: The portal's time zone: every date shown to people is a Paris date.
PARIS = ZoneInfo("Europe/Paris")


def format_date(value: datetime) -> str:
    """A date as the portal shows it: dd/mm/YYYY in Europe/Paris."""
    local = value.astimezone(PARIS)
    # strftime("%d/%m/%Y"), written out: strftime was most of an e-mail's context (docs/benchmarks.md)
    return f"{local.day:02d}/{local.month:02d}/{local.year}"


def format_montant(value: Decimal) -> str:
    """An amount as the portal shows it ("30000"): integral euros without decimals, else 2 decimals."""
    return f"{value:f}" if value == value.to_integral_value() else f"{value:.2f}"
