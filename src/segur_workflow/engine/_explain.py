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
from ..vocabulary import Role
from ._binding import DOSSIER_BINDING, rule_context

__all__ = ["allowed_commands", "explain", "permission_violations", "status_violations"]


def permission_violations(dossier: Dossier, actor: Actor, trigger: str, corridor: Corridor) -> tuple[Violation, ...]:
    """Why ``actor`` may not fire ``trigger`` on ``dossier`` whatever its status: role, ownership and,
    when the corridor reserves instruction, the assignment. Empty: permitted."""
    roles, owner_only = DOSSIER.permissions.get(trigger, (frozenset(), False))
    if actor.role not in roles:
        return (rules.violation("permission.role", action=DOSSIER.labels.get(trigger, trigger),
                                roles=", ".join(sorted(r.label for r in roles)) or "personne"),)
    if owner_only and actor.role is Role.FOURNISSEUR and actor.id != dossier.fournisseur.ans_id:
        return (rules.violation("permission.proprietaire"),)
    if corridor.instruction_reservee and actor.role is Role.GESTIONNAIRE and trigger in DOSSIER.assigned_only:
        if dossier.gestionnaire is None:
            return (rules.violation("permission.non_affecte"),)
        if actor.id != dossier.gestionnaire:
            return (rules.violation("permission.affectation", gestionnaire=dossier.gestionnaire),)
    return ()


def status_violations(dossier: Dossier, trigger: str) -> tuple[Violation, ...]:
    """Why ``trigger`` cannot fire from the dossier's status (empty: it can)."""
    spec = DOSSIER.resolve(dossier.status, trigger)  # a StrEnum member is its value
    if spec is not None and not spec.creates:
        return ()
    if any(t.trigger == trigger and t.creates for t in DOSSIER.transitions):
        return (rules.violation("dossier.existant", numero=dossier.numero),)
    return (rules.violation("statut.interdit", action=DOSSIER.labels.get(trigger, trigger),
                            statut=dossier.status.label, phase=dossier.status.phase.label),)


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
