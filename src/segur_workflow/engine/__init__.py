"""The dossier's machine: its binding (command classes and effects) and ``start``, ``handle``.

The engine itself is :meth:`segur_workflow.binding.Binding.fire`, the same for every machine; this module
says what the dossier's commands do to its data (the effects), its events and what its e-mails show.
Pure: no I/O, no clock. The input dossier is never changed; on any refusal a ``WorkflowError`` is
raised before anything is built, so nothing half-written can exist.

The package by job: the events and :class:`Outcome` (``_events``), the effects and the e-mails' context
(``_effects``), the binding (``_binding``), the desk's questions ``explain``/``allowed_commands``
(``_explain``); ``start`` and ``handle`` here. Import from the package.
"""

from __future__ import annotations

from datetime import datetime

from .. import observation
from .._format import PARIS, format_date, format_montant
from ..binding import check_now, permission_problem
from ..commands import Command, DeposerAvance
from ..errors import DuplicateFinancingRequest, InvalidInput, PermissionDenied, TransitionNotAllowed
from ..model import SAS, Corridor, Dossier
from ..states import DOSSIER
from ._binding import DOSSIER_BINDING
from ._effects import PORTAIL, RIB_DETAIL, controles_automatiques, email_context, rib_fingerprint
from ._events import BlocControle, DossierDepose, DossierReaffecte, Event, Outcome, PaiementDeclenche, StatutChange
from ._explain import allowed_commands, explain, permission_violations, status_violations

__all__ = [
    "DOSSIER_BINDING",
    "PARIS",
    "PORTAIL",
    "RIB_DETAIL",
    "BlocControle",
    "DossierDepose",
    "DossierReaffecte",
    "Event",
    "Outcome",
    "PaiementDeclenche",
    "StatutChange",
    "allowed_commands",
    "controles_automatiques",
    "email_context",
    "explain",
    "format_date",
    "format_montant",
    "handle",
    "permission_problem",
    "rib_fingerprint",
    "start",
]


def start(
    command: DeposerAvance,
    *,
    numero: str,
    now: datetime,
    corridor: Corridor = SAS,
    existing_request: str | None = None,
    gestionnaire: str | None = None,
) -> Outcome:
    """Create a dossier from a ``DeposerAvance``.

    ``numero`` is allocated by the host (the service does it without gaps); ``existing_request`` is
    the number of this provider's other funding request, if the host knows one: it is refused.
    ``gestionnaire`` is the gestionnaire the new dossier is assigned to (the service's assignment
    policy chooses it), recorded in the deposit's history entry; ``None``: not assigned.
    """
    now = check_now(now)
    if not isinstance(command, DeposerAvance):
        raise InvalidInput("command", "une commande DeposerAvance", command)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)
    if existing_request is not None and not isinstance(existing_request, str):
        raise InvalidInput("existing_request", "un numéro de dossier ou None", existing_request)
    if gestionnaire is not None and (not isinstance(gestionnaire, str) or not gestionnaire.strip()):
        raise InvalidInput("gestionnaire", "l'identifiant d'un gestionnaire ou None", gestionnaire)
    if existing_request and permission_problem(DOSSIER, command.actor, command.TRIGGER, None) is None:
        raise DuplicateFinancingRequest(command.fournisseur.ans_id, existing_request)
    return DOSSIER_BINDING.fire(None, command, now=now, corridor=corridor,
                                args={"numero": numero, "gestionnaire": gestionnaire})


def handle(dossier: Dossier, command: Command, *, now: datetime, corridor: Corridor = SAS) -> Outcome:
    """Apply ``command`` to ``dossier`` at ``now``; return the new dossier, events and e-mails.

    Checks, in order: types, permission (role, then ownership), status, then every guard rule (all
    violations together). Raises :class:`TransitionNotAllowed`, :class:`PermissionDenied`,
    :class:`RuleViolations` or :class:`InvalidInput`; ``dossier`` is never modified.
    """
    now = check_now(now)
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)
    if dossier.corridor != corridor.code:
        raise InvalidInput("corridor", f"le couloir {dossier.corridor} du dossier", corridor)
    trigger = getattr(type(command), "TRIGGER", None)
    if isinstance(command, Command) and trigger in DOSSIER.triggers:
        # the desk's checks before the engine's: the assignment when the corridor reserves instruction, and
        # the same reasons as explain() for a refused permission or status, reported to the observer
        refused = permission_violations(dossier, command.actor, trigger, corridor)
        if refused:
            observation.violations(DOSSIER, trigger, refused)
            raise PermissionDenied(command.actor.role.value, command.actor.id, trigger,
                                   " ".join(v.message for v in refused))
        wrong = status_violations(dossier, trigger)
        if wrong:
            observation.violations(DOSSIER, trigger, wrong)
            raise TransitionNotAllowed(dossier.status.value, trigger,
                                       frozenset(t for t in DOSSIER_BINDING.triggers_for(dossier, command.actor)
                                                 if not permission_violations(dossier, command.actor, t,
                                                                               corridor)))
    return DOSSIER_BINDING.fire(dossier, command, now=now, corridor=corridor)
