"""The dossier's machine: its binding (command classes and effects) and ``start``, ``handle``.

The engine itself is :meth:`segur_workflow.binding.Binding.fire`, the same for every machine; this module
says what the dossier's commands do to its data (the effects), its events and what its e-mails show.
Pure: no I/O, no clock. The input dossier is never changed; on any refusal a ``WorkflowError`` is
raised before anything is built, so nothing half-written can exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from . import observation, rules
from .binding import Bind, Binding, Change, Step, check_now, permission_problem, rebuild, time_order
from .commands import (
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
from .emails import Email
from .errors import (
    DuplicateFinancingRequest,
    InvalidInput,
    PermissionDenied,
    RuleViolations,
    TransitionNotAllowed,
    Violation,
)
from .model import (
    SAS,
    Actor,
    CoordonneesBancaires,
    Corridor,
    Demande,
    Dossier,
    HistoryEntry,
    Paiement,
)
from .seal import canonical, digest
from .states import DOSSIER, Status
from .vocabulary import Bloc, Controle, Phase, Role

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

PARIS = ZoneInfo("Europe/Paris")


# -- events -------------------------------------------------------------------------------------------
@attrs.frozen
class Event:
    """A domain event: something that happened to dossier ``numero`` at ``at``.

    ``event_id`` is stable and unique: ``numero/entry/index``, where ``entry`` is the position (from 1)
    of the history entry of the command that produced it and ``index`` its rank among that command's
    events. A host receiving events at least once deduplicates on it.
    """

    numero: str
    at: datetime
    event_id: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class DossierDepose(Event):
    phase: Phase
    montant: Decimal


@attrs.frozen
class StatutChange(Event):
    trigger: str
    source: Status | None
    dest: Status


@attrs.frozen
class BlocControle(Event):
    phase: Phase
    bloc: Bloc
    resultat: Controle


@attrs.frozen
class PaiementDeclenche(Event):
    phase: Phase
    montant: Decimal


@attrs.frozen
class DossierReaffecte(Event):
    """The dossier is now in ``gestionnaire``'s hands (``precedent``: whose it was, ``None``: nobody's)."""

    gestionnaire: str
    precedent: str | None


@attrs.frozen
class Outcome:
    """What an accepted command produced: the new dossier, the domain events, the e-mails to send."""

    dossier: Dossier
    events: tuple[Event, ...]
    emails: tuple[Email, ...]


# -- formatting for people -----------------------------------------------------------------------------
def format_date(value: datetime) -> str:
    """A date as the portal shows it: dd/mm/YYYY in Europe/Paris."""
    local = value.astimezone(PARIS)
    # strftime("%d/%m/%Y"), written out: strftime was most of an e-mail's context (docs/benchmarks.md)
    return f"{local.day:02d}/{local.month:02d}/{local.year}"


def format_montant(value: Decimal) -> str:
    """An amount as the portal shows it ("30000"): integral euros without decimals, else 2 decimals."""
    return f"{value:f}" if value == value.to_integral_value() else f"{value:.2f}"


# -- effects: what each trigger does to the dossier's data ---------------------------------------------------
#: The portal itself: the author of the automatic controls made at each deposit (``Role.SYSTEME``).
PORTAIL = Actor(Role.SYSTEME, "portail")


def controles_automatiques(demande: Demande, coordonnees: CoordonneesBancaires,
                           corridor: Corridor) -> tuple[tuple[Bloc, str], ...]:
    """The blocs the portal marks « Contrôle OK » by itself when ``demande`` is deposited, with what it
    checked; the pieces are always the gestionnaire's.

    The advance guide's consultation screen on the deposit day shows « Informations de la demande —
    Contrôle OK », « Coordonnées bancaires — Contrôle OK », « Pièces justificatives — A instruire »: the
    portal checks what it can (the fixed amount and the VAT rate; the bank details). The balance gets
    the same controls (its guide: the gestionnaire's instruction is about « la conformité de vos pièces
    justificatives »). An amount the corridor only holds as a placeholder (no known source) is not
    vouched for: « Informations de la demande » then stays « A instruire » for the gestionnaire.
    """
    phase = demande.phase
    out: list[tuple[Bloc, str]] = []
    infos = (demande.montant == corridor.montant(phase) and demande.taux_tva == corridor.taux_tva
             and not corridor.montant_provisoire(phase))
    texte = f"{phase.montant_label} ({format_montant(demande.montant)} €) et taux de TVA ({demande.taux_tva}) " \
            "conformes au couloir"
    if phase is Phase.SOLDE:
        infos = infos and demande.contact_support is not None and not rules.check_support_contact(
            demande.contact_support)
        texte += " ; contact de support renseigné"
    if infos:
        out.append((Bloc.INFORMATIONS, f"Contrôle automatique du portail : {texte}."))
    if not rules.check_coordonnees(coordonnees.iban, coordonnees.bic):
        out.append((Bloc.COORDONNEES_BANCAIRES,
                    "Contrôle automatique du portail : IBAN (clés de contrôle) et BIC valides, "
                    "de même pays."))
    return tuple(out)


def _deposit(numero: str, now: datetime, demande: Demande, coordonnees: CoordonneesBancaires,
             corridor: Corridor) -> tuple[Demande, Change]:
    """A deposited request with the portal's own controls: its blocs marked OK, one SYSTEME entry and one
    ``BlocControle`` event each, after the deposit's own."""
    automatiques = controles_automatiques(demande, coordonnees, corridor)
    controles = {**demande.controles, **{bloc: Controle.OK for bloc, _ in automatiques}}
    change = Change(
        details={"pieces": ",".join(sorted(p.value for p in demande.pieces)),
                 "montant": format_montant(demande.montant)},
        events=(DossierDepose(numero, now, demande.phase, demande.montant),
                *(BlocControle(numero, now, demande.phase, bloc, Controle.OK) for bloc, _ in automatiques)),
        entries=tuple((PORTAIL, ControlerBloc.TRIGGER, texte, {"bloc": bloc.value, "resultat": Controle.OK.value})
                      for bloc, texte in automatiques),
    )
    return attrs.evolve(demande, controles=controles), change


def _set_current(dossier: Dossier, demande: Demande) -> dict[str, Any]:
    return {"avance": demande} if demande.phase is Phase.AVANCE else {"solde": demande}


#: History detail of the deposit: the fingerprint of the bank details validated then (see _decider).
RIB_DETAIL = "coordonnees_bancaires"


def rib_fingerprint(dossier_or_rib: Dossier | Any) -> str:
    """SHA-256 of the bank details (IBAN, BIC, holder, bank), as recorded at deposit and re-checked before paying."""
    rib = dossier_or_rib.coordonnees_bancaires if isinstance(dossier_or_rib, Dossier) else dossier_or_rib
    return digest(canonical([rib.iban, rib.bic, rib.titulaire, rib.domiciliation]))


def _deposer_avance(_d: None, c: DeposerAvance, step: Step) -> Change:
    numero, now, corridor = step.args["numero"], step.now, step.corridor
    gestionnaire = step.args.get("gestionnaire")
    avance = Demande(phase=Phase.AVANCE, pieces=c.pieces, montant=c.montant, taux_tva=corridor.taux_tva,
                     date_depot=now)
    avance, change = _deposit(numero, now, avance, c.coordonnees_bancaires, corridor)
    dossier = Dossier(
        numero=numero, corridor=corridor.code, fournisseur=c.fournisseur,
        coordonnees_bancaires=c.coordonnees_bancaires, status=step.dest,
        avance=avance, solde=None, history=(), emails_sent=(), date_depot=now, date_changement_statut=now,
        gestionnaire=gestionnaire,
    )
    details = {**change.details, RIB_DETAIL: rib_fingerprint(c.coordonnees_bancaires)}
    if gestionnaire is not None:
        details["gestionnaire"] = gestionnaire
    return attrs.evolve(change, created=dossier, details=details)


def _controler_bloc(d: Dossier, c: ControlerBloc, step: Step) -> Change:
    demande = d.demande_courante
    controles = MappingProxyType({**demande.controles, c.bloc: c.resultat})
    return Change(
        updates=_set_current(d, rebuild(demande, controles=controles)),
        details={"bloc": c.bloc.value, "resultat": c.resultat.value},
        events=(BlocControle(d.numero, step.now, demande.phase, c.bloc, c.resultat),),
        comment=c.commentaire,
    )


def _payment_problems(d: Dossier, k: Corridor) -> tuple[Violation, ...]:
    """What a payment must not go out with: an amount that is not the corridor's, or bank details that are
    not those validated at deposit (whatever the dossier says now, e.g. an edited stored row)."""
    demande = d.demande_courante
    out: list[Violation] = []
    if demande.montant != k.montant(demande.phase):
        out.append(rules.violation("paiement.montant", phase=demande.phase.value,
                                   montant=format_montant(demande.montant), attendu=format_montant(
                                       k.montant(demande.phase))))
    deposited = d.history[0].details.get(RIB_DETAIL) if d.history else None
    if deposited is not None and deposited != rib_fingerprint(d):
        out.append(rules.violation("paiement.coordonnees_bancaires"))
    return tuple(out)


def _decider(d: Dossier, _c: Decider, step: Step) -> Change:
    demande = d.demande_courante
    if demande.paiement is not None:  # unreachable through the definition; kept as a hard stop
        raise TransitionNotAllowed(d.status.value, step.spec.trigger, ())
    problems = _payment_problems(d, step.corridor)
    if problems:
        observation.violations(DOSSIER, step.spec.trigger, problems)
        raise RuleViolations(problems, trigger=step.spec.trigger)
    paiement = Paiement(montant=demande.montant, declenche_le=step.now)
    return Change(
        updates=_set_current(d, rebuild(demande, paiement=paiement)),
        details={"montant": format_montant(demande.montant)},
        events=(PaiementDeclenche(d.numero, step.now, demande.phase, demande.montant),),
    )


def _rejeter(_d: Dossier, c: Rejeter, _step: Step) -> Change:
    return Change(comment=c.motif)


def _deposer_solde(d: Dossier, c: DeposerSolde, step: Step) -> Change:
    solde = Demande(phase=Phase.SOLDE, pieces=c.pieces, montant=c.montant, taux_tva=step.corridor.taux_tva,
                    date_depot=step.now, contact_support=c.contact_support)
    solde, change = _deposit(d.numero, step.now, solde, d.coordonnees_bancaires, step.corridor)
    return attrs.evolve(change, updates={"solde": solde})


def _demander_modification(_d: Dossier, c: DemanderModification, _step: Step) -> Change:
    return Change(updates={"demande_commentaire": c.commentaire}, comment=c.commentaire)


def _demander_piece(_d: Dossier, c: DemanderPiece, _step: Step) -> Change:
    return Change(
        updates={"piece_demandee": c.piece, "demande_commentaire": c.commentaire},
        details={"piece": c.piece.value},
        comment=c.commentaire,
    )


def _completer(d: Dossier, c: Completer, _step: Step) -> Change:
    solde = d.solde
    assert solde is not None
    # The gestionnaire must look again at what was KO and at every bloc the complement touched.
    touched = {Bloc.PIECES_JUSTIFICATIVES} if c.pieces else set()
    if c.contact_support is not None:
        touched.add(Bloc.INFORMATIONS)
    controles = {
        b: (Controle.A_INSTRUIRE if r is Controle.KO or b in touched else r) for b, r in solde.controles.items()
    }
    new_solde = attrs.evolve(
        solde,
        pieces={**solde.pieces, **c.pieces},
        contact_support=c.contact_support if c.contact_support is not None else solde.contact_support,
        controles=controles,
    )
    details = {"pieces": ",".join(sorted(p.value for p in c.pieces))}
    if c.contact_support is not None:
        details["contact_support"] = "modifié"
    return Change(updates={"solde": new_solde, "piece_demandee": None, "demande_commentaire": None},
                  details=details)


def _reaffecter(d: Dossier, c: Reaffecter, step: Step) -> Change:
    details = {"gestionnaire": c.gestionnaire}
    if d.gestionnaire is not None:
        details["precedent"] = d.gestionnaire
    return Change(updates={"gestionnaire": c.gestionnaire}, details=details, comment=c.commentaire,
                  events=(DossierReaffecte(d.numero, step.now, c.gestionnaire, d.gestionnaire),))


# -- e-mails ------------------------------------------------------------------------------------------------------
def email_context(dossier: Dossier, command: Command, now: datetime, corridor: Corridor) -> dict[str, object]:
    """Every variable a dossier template may use (:data:`segur_workflow.emails.VARIABLES`); each template
    picks the ones it declares."""
    demande = dossier.demande_courante
    piece = getattr(command, "piece", None)
    return {
        "numero": dossier.numero,
        "programme": corridor.programme,
        "lien_assistance": corridor.lien_assistance,
        "date": format_date(now),
        "date_depot": format_date(demande.date_depot),
        "montant": format_montant(demande.montant),
        "motif": getattr(command, "motif", None),
        "commentaire": getattr(command, "commentaire", None),
        "piece": piece.label if piece is not None else None,
    }


# -- the binding and the entry points ---------------------------------------------------------------------------
def _checks(dossier: Dossier | None, command: Command, step: Step) -> tuple[Violation, ...]:
    # the number is the host's: checked with the command's guards, so that every problem is told at once
    if dossier is None:
        return rules.check_numero(step.args["numero"], step.corridor)
    return time_order(dossier, command, step)


def _rule_context(dossier: Dossier | None, command: Command | None, corridor: Corridor) -> rules.RuleContext:
    return rules.RuleContext(command=command, corridor=corridor, dossier=dossier)


#: The dossier machine: :data:`~segur_workflow.states.DOSSIER` bound to its command classes and effects.
DOSSIER_BINDING: Binding[Dossier, Outcome] = Binding(
    definition=DOSSIER,
    status=Status,
    entries=(
        Bind(DeposerAvance, _deposer_avance),
        Bind(ControlerBloc, _controler_bloc),
        Bind(Decider, _decider),
        Bind(Rejeter, _rejeter),
        Bind(DeposerSolde, _deposer_solde),
        Bind(DemanderModification, _demander_modification),
        Bind(DemanderPiece, _demander_piece),
        Bind(Completer, _completer),
        Bind(Reaffecter, _reaffecter),
    ),
    owner=lambda d: d.fournisseur.ans_id,
    key=lambda d: d.numero,
    recipient=lambda d: d.fournisseur.email,
    email_context=lambda d, command, step: email_context(d, command, step.now, step.corridor),
    status_event=StatutChange,
    outcome=Outcome,
    rule_context=_rule_context,
    checks=_checks,
    records_emails=True,
    entry_type=HistoryEntry,
)


def _permission_violations(dossier: Dossier, actor: Actor, trigger: str, corridor: Corridor) -> tuple[Violation, ...]:
    """Why ``actor`` may not fire ``trigger`` on ``dossier`` whatever its status: role, ownership and,
    when the corridor reserves instruction, the assignment. Empty: permitted."""
    roles, owner_only = DOSSIER.permissions.get(trigger, (frozenset(), False))
    action = DOSSIER.labels.get(trigger, trigger)
    if actor.role not in roles:
        return (rules.violation("permission.role", action=action,
                                roles=", ".join(sorted(r.label for r in roles)) or "personne"),)
    if owner_only and actor.role is Role.FOURNISSEUR and actor.id != dossier.fournisseur.ans_id:
        return (rules.violation("permission.proprietaire"),)
    if corridor.instruction_reservee and actor.role is Role.GESTIONNAIRE and trigger in DOSSIER.assigned_only:
        if dossier.gestionnaire is None:
            return (rules.violation("permission.non_affecte"),)
        if actor.id != dossier.gestionnaire:
            return (rules.violation("permission.affectation", gestionnaire=dossier.gestionnaire),)
    return ()


def _status_violations(dossier: Dossier, trigger: str) -> tuple[Violation, ...]:
    """Why ``trigger`` cannot fire from the dossier's status (empty: it can)."""
    spec = DOSSIER.resolve(dossier.status.value, trigger)
    if spec is not None and not spec.creates:
        return ()
    if any(t.trigger == trigger and t.creates for t in DOSSIER.transitions):
        return (rules.violation("dossier.existant", numero=dossier.numero),)
    return (rules.violation("statut.interdit", action=DOSSIER.labels.get(trigger, trigger),
                            statut=dossier.status.label, phase=dossier.status.phase.label),)


def _check_reader(dossier: object, actor: object, corridor: object) -> None:
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
    _check_reader(dossier, actor, corridor)
    ctx = _rule_context(dossier, None, corridor)
    out: dict[str, tuple[Violation, ...]] = {}
    for trigger in DOSSIER.triggers:
        why = _permission_violations(dossier, actor, trigger, corridor) + _status_violations(dossier, trigger)
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
        refused = _permission_violations(dossier, command.actor, trigger, corridor)
        if refused:
            observation.violations(DOSSIER, trigger, refused)
            raise PermissionDenied(command.actor.role.value, command.actor.id, trigger,
                                   " ".join(v.message for v in refused))
        wrong = _status_violations(dossier, trigger)
        if wrong:
            observation.violations(DOSSIER, trigger, wrong)
            raise TransitionNotAllowed(dossier.status.value, trigger,
                                       frozenset(t for t in DOSSIER_BINDING.triggers_for(dossier, command.actor)
                                                 if not _permission_violations(dossier, command.actor, t,
                                                                               corridor)))
    return DOSSIER_BINDING.fire(dossier, command, now=now, corridor=corridor)
