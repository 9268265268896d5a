"""The dossier machine's binding: :data:`~segur_workflow.states.DOSSIER` tied to its command classes and effects."""

from __future__ import annotations

from .. import rules
from ..binding import Bind, Binding, Step, time_order
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
from ..model import Corridor, Dossier, HistoryEntry
from ..states import DOSSIER, Status
from ._effects import (
    completer,
    controler_bloc,
    decider,
    demander_modification,
    demander_piece,
    deposer_avance,
    deposer_solde,
    email_context,
    reaffecter,
    rejeter,
)
from ._events import Outcome, StatutChange

__all__ = ["DOSSIER_BINDING", "rule_context"]


def _checks(dossier: Dossier | None, command: Command, step: Step) -> tuple[Violation, ...]:
    # the number is the host's: checked with the command's guards, so that every problem is told at once
    if dossier is None:
        return rules.check_numero(step.args["numero"], step.corridor)
    return time_order(dossier, command, step)


def rule_context(dossier: Dossier | None, command: Command | None, corridor: Corridor) -> rules.RuleContext:
    return rules.RuleContext(command=command, corridor=corridor, dossier=dossier)


#: The dossier machine: :data:`~segur_workflow.states.DOSSIER` bound to its command classes and effects.
DOSSIER_BINDING: Binding[Dossier, Outcome] = Binding(
    definition=DOSSIER,
    status=Status,
    entries=(
        Bind(DeposerAvance, deposer_avance),
        Bind(ControlerBloc, controler_bloc),
        Bind(Decider, decider),
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
    checks=_checks,
    records_emails=True,
    entry_type=HistoryEntry,
)
