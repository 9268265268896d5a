"""attrs validators shared by values and commands: a wrong *type* is an ``InvalidInput``."""

from __future__ import annotations

import re
from typing import Any

import attrs

from .errors import InvalidInput


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


def require_str(name: str, *, optional: bool = False) -> Any:
    return typed(name, str, "une chaîne de caractères", optional=optional)


def require_identifier(name: str, *, optional: bool = False) -> Any:
    """A ``str`` that every encoder accepts, for identifiers and reference data (actor and command ids,
    provider and bank details): lone surrogates (from a ``surrogateescape`` decoding, say) would break
    the history hash, JSON and database writes much later. Free texts typed by people (motif,
    commentaire, contact, file names) are the rules' business instead: they report a violation."""
    is_str = require_str(name, optional=optional)

    def check(inst: object, attr: attrs.Attribute[Any], value: object) -> None:
        is_str(inst, attr, value)
        if isinstance(value, str) and not value.isascii() and _SURROGATE.search(value) is not None:
            raise InvalidInput(name, "un identifiant en texte valide (sans caractère de substitution isolé)", value)

    return check
