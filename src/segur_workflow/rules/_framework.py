"""The rule framework: a :class:`Rule` is a named, described check over a :class:`RuleContext`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ..model import SAS, Corridor, Dossier
from ._codes import Violations

__all__ = ["Rule", "RuleContext"]


@attrs.frozen
class RuleContext:
    """What a rule may look at: the command, the subject before it (``None`` on creation), the corridor.

    ``dossier`` is the funding dossier (dossier machine); ``subject`` the account (account machine).
    """

    command: Any
    corridor: Corridor = SAS
    dossier: Dossier | None = None
    subject: Any = None


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Rule:
    """A named rule: ``check`` returns the violations of one command in one context.

    ``codes`` lists every violation code the rule can produce (the catalogue is built from them).
    ``scope`` is ``"dossier"`` when the rule looks only at the dossier (not at what the command
    carries): ``allowed_commands`` evaluates those, since they decide whether a trigger is possible
    at all right now.
    """

    name: str
    description: str
    check: Callable[[RuleContext], Violations] = attrs.field(repr=False)
    codes: tuple[str, ...] = ()
    scope: str = "command"
    #: Outcomes (``"ok"`` or one of ``codes``) no command sent through the public API can produce,
    #: each with the reason: ``pytest --segur-coverage`` lists them apart instead of as never exercised.
    unreachable: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)

