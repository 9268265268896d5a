"""attrs validators shared by values and commands: a wrong *type* is an ``InvalidInput``."""

from __future__ import annotations

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


def require_str(name: str, *, optional: bool = False) -> Any:
    return typed(name, str, "une chaîne de caractères", optional=optional)
