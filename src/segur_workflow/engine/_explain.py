"""What the desk asks of a dossier before any command: :func:`explain` and :func:`allowed_commands`.

The permission and status reasons are also what :func:`~segur_workflow.engine.handle` refuses with.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .. import rules
from ..errors import InvalidInput, Violation
from ..model import SAS, Actor, Corridor, Dossier
from ..states import DOSSIER
from ._binding import DOSSIER_BINDING, permission_violations, rule_context, status_violations

__all__ = ["allowed_commands", "explain", "permission_violations", "status_violations"]


def check_reader(dossier: object, actor: object, corridor: object) -> None:
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", "un Actor", actor)
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)


def explain(dossier: Dossier, actor: Actor, corridor: Corridor = SAS) -> Mapping[str, tuple[Violation, ...]]:
    """For every trigger of the definition: ``()`` when ``actor`` may fire it on ``dossier`` now,
    otherwise the violations that say why not, in French.

    The reasons come in this order: permission (role, then ownership, then the assignment when the
    corridor reserves instruction), status, then every guard that looks at the dossier alone (every
    bloc OK before ``decider``…). Guards on what a command carries (a motif, valid pieces) cannot be
    judged in advance: a trigger with no reason can still be refused for its command's content.
    """
    check_reader(dossier, actor, corridor)
    ctx = rule_context(dossier, None, corridor)
    out: dict[str, tuple[Violation, ...]] = {}
    for trigger in DOSSIER.triggers:
        why = permission_violations(dossier, actor, trigger, corridor) + status_violations(dossier, trigger)
        route = DOSSIER_BINDING.routes.get((dossier.status.value, DOSSIER_BINDING.command_of(trigger)))
        if route is not None:
            why += rules.check_all(route.guards, ctx, scope="dossier")
        out[trigger] = why
    return MappingProxyType(out)


def allowed_commands(dossier: Dossier, actor: Actor, corridor: Corridor = SAS) -> frozenset[str]:
    """The triggers ``actor`` may fire on ``dossier`` now: those :func:`explain` gives no reason against.

    Guards that depend on what a command carries (a non-empty motif, valid pieces…) cannot be known
    in advance: a trigger listed here can still be refused for the content of its command.
    """
    return frozenset(trigger for trigger, why in explain(dossier, actor, corridor).items() if not why)
