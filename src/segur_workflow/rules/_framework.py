"""The rule framework: a :class:`Rule` is a named, described check over a :class:`RuleContext`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from ..model import SAS, Corridor, Dossier
from ._codes import Violations

__all__ = ["Rule", "RuleContext"]


@attrs.frozen
class RuleContext:
    """What a rule may look at: the command, the subject before it (``None`` on creation), the corridor.

    ``subject`` is what the machine acts on (the account, a host's subject; the dossier too on the dossier
    machine, where ``dossier`` names it). The engine's own checks (:attr:`~segur_workflow.binding.Bind.checks`)
    also see the instant ``now`` and what the caller passed for a creation (``args``: ``start``'s ``numero``).
    """

    command: Any
    corridor: Corridor = SAS
    dossier: Dossier | None = None
    subject: Any = None
    now: datetime | None = None
    args: Mapping[str, Any] = MappingProxyType({})


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

