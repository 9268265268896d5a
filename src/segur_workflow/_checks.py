"""attrs validators shared by values and commands: a wrong *type* is an ``InvalidInput``.

They are the boundary: what storage cannot hold or would misread is refused when a value is built,
never found later by a driver. Identifiers and names refuse every control character (C0, DEL, C1)
and the bidirectional controls that make a name read differently from what it is; free texts keep
``\n``, ``\t`` and ``\r`` (a browser's line breaks) and refuse the other controls (NUL, escapes…).
E-mail addresses are checked by email-validator: one bare address, no display name, no list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal, TypeVar, overload

import attrs
import email_validator

from .errors import InvalidInput

__all__ = [
    "SQL_INT_MAX",
    "choices",
    "email_problem",
    "ensure_str",
    "enum_member",
    "has_surrogate",
    "identifier_problem",
    "require_bool",
    "require_count",
    "require_email",
    "require_identifier",
    "require_str",
    "require_text",
    "text_problem",
    "to_enum",
    "typed",
]


def typed(name: str, cls: type | tuple[type, ...], expected: str, *, optional: bool = False) -> Any:
    """An attrs validator refusing anything but ``cls`` (and ``None`` when ``optional``)."""

    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        if not isinstance(value, cls):
            raise InvalidInput(name, expected, value)

    return check


#: A lone surrogate (U+D800–U+DFFF): one regex search instead of a Python loop over each character,
#: which was the largest single share of loading a dossier (docs/benchmarks.md).
_SURROGATE = re.compile("[\ud800-\udfff]")


#: Every control character: C0 (NUL included), DEL and C1.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: Controls a free text may not hold: the same but tab, line feed and carriage return (a browser's CRLF).
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Bidirectional controls (ALM, LRM, RLM, embeddings, overrides, isolates): U+202E then "gpj.exe" reads "exe.jpg".
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


_STR = "une chaîne de caractères"


@overload
def ensure_str(name: str, value: object) -> str: ...
@overload
def ensure_str(name: str, value: object, *, optional: Literal[True]) -> str | None: ...


def ensure_str(name: str, value: object, *, optional: bool = False) -> str | None:
    """``value`` itself when it is a ``str`` (or ``None``, when ``optional``); otherwise the ``InvalidInput``
    of a wrong type. The one "is it a str" check of the package."""
    if isinstance(value, str) or (optional and value is None):
        return value
    raise InvalidInput(name, f"{_STR} ou None" if optional else _STR, value)


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone surrogate: not text, no encoder (UTF-8, JSON, a driver) takes it."""
    return not value.isascii() and _SURROGATE.search(value) is not None


def require_str(name: str, *, optional: bool = False) -> Any:
    return typed(name, str, _STR, optional=optional)


def _require(name: str, problem_of: Callable[[str], str | None], *, optional: bool) -> Any:
    """An attrs validator: a ``str`` (or ``None`` when ``optional``) for which ``problem_of`` finds nothing."""
    is_str = require_str(name, optional=optional)

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        is_str(inst, attr, value)
        if isinstance(value, str):
            problem = problem_of(value)
            if problem is not None:
                raise InvalidInput(name, problem, value)

    return check


def identifier_problem(value: str) -> str | None:
    """Why ``value`` cannot be an identifier or a name (``None``: it can)."""
    if _CONTROL.search(value) is not None:
        return "un texte sans caractère de contrôle (NUL, tabulation, saut de ligne…)"
    if has_surrogate(value):
        return "un texte valide (sans caractère de substitution isolé)"
    if not value.isascii() and _BIDI.search(value) is not None:
        return "un texte sans caractère de contrôle bidirectionnel"
    return None


def require_identifier(name: str, *, optional: bool = False) -> Any:
    """A ``str`` that every encoder accepts and every reader reads the same, for identifiers and names
    (actor ids, provider and bank details): no control character, no lone surrogate (they would break
    the history hash, JSON and database writes much later), no bidirectional control."""
    return _require(name, identifier_problem, optional=optional)


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be a free text (``None``: it can).

    A lone surrogate is left to the rules, which report it with the command's other problems
    (``motif.caracteres``…)."""
    if _TEXT_CONTROL.search(value) is not None:
        return "un texte sans caractère de contrôle (seuls la tabulation et les sauts de ligne sont admis)"
    return None


def require_text(name: str, *, optional: bool = False) -> Any:
    """A free text typed by people (motif, commentaire, contact): ``\n`` and ``\t`` kept, other controls
    refused. Blank or too long is the rules' business (a violation reported with the others)."""
    return _require(name, text_problem, optional=optional)


def require_bool(name: str) -> Any:
    """Strictly ``True`` or ``False``: ``"false"`` or ``0`` would pass an ``if`` the wrong way."""
    return typed(name, bool, "un booléen (True ou False)")


@lru_cache(maxsize=4096)
def email_problem(value: str) -> str | None:
    """Why ``value`` is not one e-mail address as an SMTP envelope takes it (``None``: it is).

    email-validator (syntax only, no DNS): one bare address, no display name (``Nom <a@b>``), no
    list (``a@x, b@y``), no quoted local part nor IP literal.
    """
    if identifier_problem(value) is not None:
        return "une adresse sans caractère de contrôle"
    try:
        email_validator.validate_email(value, check_deliverability=False, allow_display_name=False,
                                       allow_quoted_local=False, allow_domain_literal=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


def require_email(name: str) -> Any:
    """An attrs validator: one valid e-mail address (see :func:`email_problem`)."""
    return _require(name, _not_one_address, optional=False)


def _not_one_address(value: str) -> str | None:
    if email_problem(value) is None:
        return None
    return "une seule adresse électronique valide (ex. contact@fournisseur.fr)"


#: The range of a 64-bit SQL integer: a count or size beyond it cannot be stored.
SQL_INT_MAX = 2**63 - 1


def require_count(name: str) -> Any:
    """An ``int`` (not a ``bool``) from 0 to the SQL maximum."""

    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SQL_INT_MAX:
            raise InvalidInput(name, f"un entier entre 0 et {SQL_INT_MAX}", value)

    return check


E = TypeVar("E", bound=enum.Enum)


def choices(cls: type[enum.Enum]) -> str:
    """The values of ``cls``, as a message lists them: « a, b, c »."""
    return ", ".join(str(m.value) for m in cls)


def enum_member(cls: type[E], value: object) -> E | None:
    """The member of ``cls`` that ``value`` is or whose value it is; ``None`` when there is none."""
    try:
        return cls(value)
    except (ValueError, TypeError):  # TypeError: an unhashable value
        return None


def to_enum(name: str, cls: type[E], what: str = "une valeur") -> Callable[[object], E]:
    """A converter: ``value`` as a member of ``cls``, or the ``InvalidInput`` of ``name`` listing the choices."""

    def convert(value: object) -> E:
        member = enum_member(cls, value)
        if member is None:
            raise InvalidInput(name, f"{what} parmi {choices(cls)}", value)
        return member

    return convert
