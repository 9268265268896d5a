"""The dossier machine's binding: :data:`~segur_workflow.states.DOSSIER` tied to its command classes and effects."""

from __future__ import annotations

from collections.abc import Callable

from .. import rules
from ..binding import Bind, Binding
from ..commands import (
    Command,
    Completer,
    ControlerBloc,
    Decider,
    DemanderModification,
    DemanderPiece,
    DeposerAvance,
    DeposerSolde,
    Reaffecter,
    Rejeter,
)
from ..errors import Violation
from ..model import Actor, Corridor, Dossier, HistoryEntry
from ..states import DOSSIER, Status
from ..vocabulary import Role
from ._effects import (
    completer,
    controler_bloc,
    decider,
    demander_modification,
    demander_piece,
    deposer_avance,
    deposer_solde,
    email_context,
    payment_problems,
    reaffecter,
    rejeter,
)
from ._events import Outcome, StatutChange

__all__ = [
    "DOSSIER_BINDING", "DOSSIER_EXISTANT", "NUMERO", "PAIEMENT", "PERMISSION", "STATUT", "permission_violations",
    "rule_context", "status_violations",
]


def rule_context(dossier: Dossier | None, command: Command | None, corridor: Corridor) -> rules.RuleContext:
    return rules.RuleContext(command=command, corridor=corridor, dossier=dossier, subject=dossier)


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


def _numero(ctx: rules.RuleContext) -> tuple[Violation, ...]:
    # the number is the host's: checked with the command's guards, so that every problem is told at once
    return rules.check_numero(ctx.args["numero"], ctx.corridor) if ctx.dossier is None else ()


def _refusal(check: Callable[[Dossier, Actor, str, Corridor], tuple[Violation, ...]]
             ) -> Callable[[rules.RuleContext], tuple[Violation, ...]]:
    # the reasons of explain() as a rule: the actor and the trigger come in the context's args
    return lambda ctx: () if ctx.dossier is None else check(ctx.dossier, ctx.args["actor"], ctx.args["trigger"],
                                                            ctx.corridor)


NUMERO = rules.Rule("numero_dossier", "Le numéro attribué par l'hôte suit le format du couloir.", _numero,
                    codes=("numero.format",))
PAIEMENT = rules.Rule("paiement_conforme", "Le paiement part avec le montant du couloir et les coordonnées "
                      "bancaires validées au dépôt.",
                      lambda ctx: () if ctx.dossier is None else payment_problems(ctx.dossier, ctx.corridor),
                      codes=("paiement.montant", "paiement.coordonnees_bancaires"))
PERMISSION = rules.Rule("permission", "Le rôle, le titulaire et, si le couloir le réserve, l'affectation "
                        "permettent l'action.", _refusal(permission_violations),
                        codes=("permission.role", "permission.proprietaire", "permission.affectation",
                               "permission.non_affecte"))
def _status(code: str) -> Callable[[rules.RuleContext], tuple[Violation, ...]]:
    return _refusal(lambda d, _a, trigger, _k: tuple(v for v in status_violations(d, trigger) if v.code == code))


STATUT = rules.Rule("statut", "Le statut du dossier permet l'action.", _status("statut.interdit"),
                    codes=("statut.interdit",))
DOSSIER_EXISTANT = rules.Rule("dossier_existant", "Une demande déposée ne se dépose pas une seconde fois.",
                              _status("dossier.existant"), codes=("dossier.existant",))


#: The dossier machine: :data:`~segur_workflow.states.DOSSIER` bound to its command classes and effects.
DOSSIER_BINDING: Binding[Dossier, Outcome] = Binding(
    definition=DOSSIER,
    status=Status,
    entries=(
        Bind(DeposerAvance, deposer_avance, checks=(NUMERO,), refusals=(DOSSIER_EXISTANT,)),
        Bind(ControlerBloc, controler_bloc),
        Bind(Decider, decider, checks=(PAIEMENT,)),
        Bind(Rejeter, rejeter),
        Bind(DeposerSolde, deposer_solde),
        Bind(DemanderModification, demander_modification),
        Bind(DemanderPiece, demander_piece),
        Bind(Completer, completer),
        Bind(Reaffecter, reaffecter),
    ),
    owner=lambda d: d.fournisseur.ans_id,
    key=lambda d: d.numero,
    recipient=lambda d: d.fournisseur.email,
    email_context=lambda d, command, step: email_context(d, command, step.now, step.corridor),
    status_event=StatutChange,
    outcome=Outcome,
    rule_context=rule_context,
    refusals=(PERMISSION, STATUT),
    records_emails=True,
    entry_type=HistoryEntry,
)
