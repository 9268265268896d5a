"""How dates, amounts and untrusted text are shown to people (e-mails, the consultation screen, the CLI,
the exports): one place."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "format_date", "format_montant", "visible"]

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


#: Characters that hide or rewrite text when shown (controls such as ANSI escapes, format characters such as
#: bidirectional overrides, lone surrogates that no encoder accepts).
_HIDDEN = frozenset({"Cc", "Cf", "Cs"})


def visible(text: str, *, line_breaks: str | None = None) -> str:
    """``text`` from a dossier, shown as it is: every control, format or surrogate character as ``\\xNN``
    (made visible, never dropped: a reader sees that something was there). ``line_breaks``, when given,
    replaces tabs and line breaks instead (a terminal line: ``" "``)."""
    if text.isprintable():
        return text
    return "".join(
        line_breaks if line_breaks is not None and ch in "\n\r\t"
        else (f"\\x{ord(ch):02x}" if unicodedata.category(ch) in _HIDDEN else ch)
        for ch in text
    )
