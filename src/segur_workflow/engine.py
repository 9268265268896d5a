"""The engine: ``start`` and ``handle`` turn (dossier, command, now) into an :class:`Outcome`.

Pure: no I/O, no clock. The input dossier is never changed; on any refusal a ``WorkflowError`` is
raised before anything is built, so nothing half-written can exist.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache, partial
from types import MappingProxyType, MemberDescriptorType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import attrs

from . import observation, rules
from .commands import (
    COMMANDS,
    Command,
    Completer,
    ControlerBloc,
    DemanderModification,
    DemanderPiece,
    DeposerAvance,
    DeposerSolde,
    Reaffecter,
    Rejeter,
)
from .emails import Email, render
from .errors import (
    DefinitionError,
    DuplicateFinancingRequest,
    InvalidInput,
    PermissionDenied,
    RuleViolations,
    TransitionNotAllowed,
    Violation,
)
from .history import append, is_automatic
from .model import (
    SAS,
    Actor,
    CoordonneesBancaires,
    Corridor,
    Demande,
    Dossier,
    EmailRecord,
    HistoryEntry,
    Paiement,
)
from .seal import canonical, digest
from .states import DOSSIER, INITIAL, MachineDefinition, Status, TransitionSpec
from .vocabulary import Bloc, Controle, Phase, Role

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


# -- input checks ----------------------------------------------------------------------------------------
def _check_now(now: object) -> datetime:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInput("now", "une date avec fuseau horaire (datetime aware, ex. datetime.now(UTC))", now)
    return now


def _check_types(dossier: object, command: object, corridor: object) -> None:
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    if not isinstance(command, Command) or type(command) not in COMMANDS.values():
        raise InvalidInput("command", "une commande (DeposerSolde, Decider, …)", command)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)
    if dossier.corridor != corridor.code:
        raise InvalidInput("corridor", f"le couloir {dossier.corridor} du dossier", corridor)


# -- permissions -------------------------------------------------------------------------------------------
def permission_problem(
    definition: MachineDefinition, actor: Actor, trigger: str, owner_id: str | None
) -> str | None:
    """Why ``actor`` may not fire ``trigger`` of ``definition`` on a subject owned by ``owner_id``
    (``None``: nothing owned yet), or ``None`` when permitted. Shared by the dossier and account engines."""
    roles, owner_only = definition.permissions.get(trigger, (frozenset(), False))
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.label for r in roles)) or "personne"
        return f"réservée à : {allowed}"
    if (
        owner_id is not None
        and actor.role is Role.FOURNISSEUR
        and owner_only
        and actor.id != owner_id
    ):
        if definition is DOSSIER:
            return "ce dossier appartient à un autre fournisseur"
        return f"réservée au titulaire de ce {definition.name}"
    return None


def _permission_problem(dossier: Dossier | None, actor: Actor, trigger: str) -> str | None:
    return permission_problem(DOSSIER, actor, trigger, dossier.fournisseur.ans_id if dossier is not None else None)


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
    if any(t.trigger == trigger for t in DOSSIER.creating):
        return (rules.violation("dossier.existant", numero=dossier.numero),)
    return (rules.violation("statut.interdit", action=DOSSIER.labels.get(trigger, trigger),
                            statut=dossier.status.label, phase=dossier.status.phase.label),)


def _triggers_for(dossier: Dossier, actor: Actor, corridor: Corridor) -> frozenset[str]:
    """Triggers leaving the dossier's status that this actor's role, ownership and assignment permit."""
    return frozenset(
        t.trigger for t in DOSSIER.outgoing(dossier.status.value)
        if not _permission_violations(dossier, actor, t.trigger, corridor)
    )


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
    ctx = rules.RuleContext(command=None, corridor=corridor, dossier=dossier)
    out: dict[str, tuple[Violation, ...]] = {}
    for trigger in DOSSIER.triggers:
        why = _permission_violations(dossier, actor, trigger, corridor) + _status_violations(dossier, trigger)
        spec = DOSSIER.resolve(dossier.status.value, trigger)
        if spec is not None and not spec.creates:
            why += rules.run(spec.guards, ctx, scope="dossier")
        out[trigger] = why
    return MappingProxyType(out)


def allowed_commands(dossier: Dossier, actor: Actor, corridor: Corridor = SAS) -> frozenset[str]:
    """The triggers ``actor`` may fire on ``dossier`` now: those :func:`explain` gives no reason against.

    Guards that depend on what a command carries (a non-empty motif, valid pieces…) cannot be known
    in advance: a trigger listed here can still be refused for the content of its command.
    """
    return frozenset(trigger for trigger, why in explain(dossier, actor, corridor).items() if not why)


# -- building values --------------------------------------------------------------------------------------------
#: (status, trigger) -> (the transition, the status it reaches): one lookup gives the engine both. Keys are the
#: status names (a ``Status`` member is equal to its name); the creating transitions are under ``INITIAL``.
_ROUTES: Mapping[tuple[str, str], tuple[TransitionSpec, Status]] = MappingProxyType({
    (src, t.trigger): (t, Status(dst)) for src, t, dst in DOSSIER.edges()
})

_set = object.__setattr__


@cache
def _rebuilder(cls: type) -> Callable[[Any, dict[str, Any]], Any]:
    """A function copying an instance of attrs class ``cls`` with some fields changed, checks not re-run.

    Generated once per class, as attrs generates ``__init__``: one line per field, each slot written
    through its descriptor (a frozen class refuses ordinary assignment). A class with a post-init
    hook is copied with ``attrs.evolve``, so that the hook runs.
    """
    if hasattr(cls, "__attrs_post_init__"):
        return lambda value, changes: attrs.evolve(value, **changes)
    names = tuple(a.name for a in attrs.fields(cls))
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = ["def rebuild(value, changes):", "    new = _new(_cls)"]
    for k, n in enumerate(names):
        slot = next((c.__dict__[n] for c in cls.__mro__ if n in c.__dict__), None)
        namespace[f"_s{k}"] = slot.__set__ if isinstance(slot, MemberDescriptorType) else partial(_set_field, n)
        lines.append(f"    _s{k}(new, changes.pop({n!r}) if {n!r} in changes else value.{n})")
    lines += ["    if changes:", "        raise TypeError(f'{_cls.__name__} has no field {sorted(changes)}')",
              "    return new"]
    exec(compile("\n".join(lines), f"<segur_workflow rebuild {cls.__qualname__}>", "exec"), namespace)  # noqa: S102
    rebuild: Callable[[Any, dict[str, Any]], Any] = namespace["rebuild"]
    return rebuild


def _set_field(name: str, obj: object, value: object) -> None:
    _set(obj, name, value)


_V = TypeVar("_V")


def _rebuild(value: _V, **changes: Any) -> _V:
    """``attrs.evolve(value, **changes)`` without re-running validators and converters.

    Only for values whose kept fields are valid already and whose changed fields the engine built
    from checked parts (a read-only mapping where the field converts to one): re-checking them was
    the largest share of ``handle()`` (see docs/benchmarks.md).
    """
    cls: type = type(value)
    new: _V = _rebuilder(cls)(value, changes)
    return new


# -- effects: what each trigger does to the dossier's data ---------------------------------------------------
@attrs.frozen
class _Change:
    """What an effect decided: field updates, history details, extra events."""

    updates: Mapping[str, Any] = attrs.field(factory=dict)
    details: Mapping[str, str] = attrs.field(factory=dict)
    events: tuple[Event, ...] = ()
    comment: str | None = None
    #: the portal's own controls after a deposit: (bloc, what was checked), each one SYSTEME entry
    automatiques: tuple[tuple[Bloc, str], ...] = ()


Effect = Callable[[Dossier, Any, TransitionSpec, datetime, Corridor], _Change]

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


def append_automatiques(history: tuple[HistoryEntry, ...], automatiques: tuple[tuple[Bloc, str], ...], *,
                        now: datetime, dest: Status) -> tuple[HistoryEntry, ...]:
    """``history`` with the portal's controls appended after the deposit's own entry, at its instant."""
    for bloc, texte in automatiques:
        history = append(history, at=now, actor=PORTAIL, trigger="controler_bloc", source=dest, dest=dest,
                         comment=texte, command_id=None, details={"bloc": bloc.value, "resultat": Controle.OK.value})
    return history


def _avec_controles(demande: Demande, automatiques: tuple[tuple[Bloc, str], ...]) -> Demande:
    controles = {**demande.controles, **{bloc: Controle.OK for bloc, _ in automatiques}}
    return attrs.evolve(demande, controles=controles)


def _set_current(dossier: Dossier, demande: Demande) -> dict[str, Any]:
    return {"avance": demande} if demande.phase is Phase.AVANCE else {"solde": demande}


def _controler_bloc(d: Dossier, c: ControlerBloc, _t: TransitionSpec, _now: datetime, _k: Corridor) -> _Change:
    demande = d.demande_courante
    controles = MappingProxyType({**demande.controles, c.bloc: c.resultat})
    return _Change(
        updates=_set_current(d, _rebuild(demande, controles=controles)),
        details={"bloc": c.bloc.value, "resultat": c.resultat.value},
        events=(BlocControle(d.numero, _now, demande.phase, c.bloc, c.resultat),),
        comment=c.commentaire,
    )


#: History detail of the deposit: the fingerprint of the bank details validated then (see _decider).
RIB_DETAIL = "coordonnees_bancaires"


def rib_fingerprint(dossier_or_rib: Dossier | Any) -> str:
    """SHA-256 of the bank details (IBAN, BIC, holder, bank), as recorded at deposit and re-checked before paying."""
    rib = dossier_or_rib.coordonnees_bancaires if isinstance(dossier_or_rib, Dossier) else dossier_or_rib
    return digest(canonical([rib.iban, rib.bic, rib.titulaire, rib.domiciliation]))


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


def _decider(d: Dossier, _c: Command, _t: TransitionSpec, now: datetime, k: Corridor) -> _Change:
    demande = d.demande_courante
    if demande.paiement is not None:  # unreachable through the definition; kept as a hard stop
        raise TransitionNotAllowed(d.status.value, "decider", ())
    problems = _payment_problems(d, k)
    if problems:
        observation.violations(DOSSIER, "decider", problems)
        raise RuleViolations(problems, trigger="decider")
    paiement = Paiement(montant=demande.montant, declenche_le=now)
    return _Change(
        updates=_set_current(d, _rebuild(demande, paiement=paiement)),
        details={"montant": format_montant(demande.montant)},
        events=(PaiementDeclenche(d.numero, now, demande.phase, demande.montant),),
    )


def _rejeter(_d: Dossier, c: Rejeter, _t: TransitionSpec, _now: datetime, _k: Corridor) -> _Change:
    return _Change(comment=c.motif)


def _deposer_solde(d: Dossier, c: DeposerSolde, _t: TransitionSpec, now: datetime, k: Corridor) -> _Change:
    solde = Demande(phase=Phase.SOLDE, pieces=c.pieces, montant=c.montant, taux_tva=k.taux_tva,
                    date_depot=now, contact_support=c.contact_support)
    automatiques = controles_automatiques(solde, d.coordonnees_bancaires, k)
    return _Change(
        updates={"solde": _avec_controles(solde, automatiques)},
        details={"pieces": ",".join(sorted(p.value for p in c.pieces)), "montant": format_montant(c.montant)},
        events=(DossierDepose(d.numero, now, Phase.SOLDE, c.montant),),
        automatiques=automatiques,
    )


def _demander_modification(
    _d: Dossier, c: DemanderModification, _t: TransitionSpec, _now: datetime, _k: Corridor
) -> _Change:
    return _Change(updates={"demande_commentaire": c.commentaire}, comment=c.commentaire)


def _demander_piece(_d: Dossier, c: DemanderPiece, _t: TransitionSpec, _now: datetime, _k: Corridor) -> _Change:
    return _Change(
        updates={"piece_demandee": c.piece, "demande_commentaire": c.commentaire},
        details={"piece": c.piece.value},
        comment=c.commentaire,
    )


def _completer(d: Dossier, c: Completer, _t: TransitionSpec, _now: datetime, _k: Corridor) -> _Change:
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
    return _Change(updates={"solde": new_solde, "piece_demandee": None, "demande_commentaire": None},
                   details=details)


def _reaffecter(d: Dossier, c: Reaffecter, _t: TransitionSpec, now: datetime, _k: Corridor) -> _Change:
    details = {"gestionnaire": c.gestionnaire}
    if d.gestionnaire is not None:
        details["precedent"] = d.gestionnaire
    return _Change(updates={"gestionnaire": c.gestionnaire}, details=details, comment=c.commentaire,
                   events=(DossierReaffecte(d.numero, now, c.gestionnaire, d.gestionnaire),))


_EFFECTS: Mapping[str, Effect] = MappingProxyType({
    "controler_bloc": _controler_bloc,
    "decider": _decider,
    "rejeter": _rejeter,
    "deposer_solde": _deposer_solde,
    "demander_modification": _demander_modification,
    "demander_piece": _demander_piece,
    "completer": _completer,
    "reaffecter": _reaffecter,
})


def check_wiring(definition: MachineDefinition, commands: Mapping[str, type], effects: Mapping[str, object]) -> None:
    """Refuse an engine whose commands or effects do not cover every trigger of its definition.

    Creating transitions build their subject themselves and need no effect. Shared by both engines.
    """
    problems = [f"commande manquante : {t}" for t in definition.triggers if t not in commands]
    problems += [f"effet manquant : {t.trigger}" for t in definition.transitions
                 if not t.creates and t.trigger not in effects]
    if problems:
        raise DefinitionError(definition.name, problems)


check_wiring(DOSSIER, COMMANDS, _EFFECTS)


# -- e-mails ------------------------------------------------------------------------------------------------------
def email_context(dossier: Dossier, command: Command, now: datetime, corridor: Corridor) -> dict[str, object]:
    """Every variable a template may use; each template picks the ones it declares."""
    demande = dossier.demande_courante
    piece = getattr(command, "piece", None)
    return {
        "numero": dossier.numero,
        "programme": corridor.programme,
        "lien_assistance": corridor.lien_assistance,
        "date": format_date(now),
        "date_depot": format_date(demande.date_depot),
        "montant": format_montant(demande.montant),
        "phase": demande.phase.value,
        "raison_sociale": dossier.fournisseur.raison_sociale,
        "motif": getattr(command, "motif", None),
        "commentaire": getattr(command, "commentaire", None),
        "piece": piece.label if piece is not None else None,
    }


def _emails(spec: TransitionSpec, dossier: Dossier, command: Command, now: datetime,
            corridor: Corridor) -> tuple[Email, ...]:
    if spec.email is None:
        return ()
    ctx = email_context(dossier, command, now, corridor)
    return (render(spec.email, to=dossier.fournisseur.email, context=ctx),)


# -- the two entry points ------------------------------------------------------------------------------------------
def _finish(  # noqa: PLR0917 - internal helper, called twice
    before: Dossier | None, dossier: Dossier, spec: TransitionSpec, dest: Status, command: Command,
    now: datetime, corridor: Corridor, change: _Change,
) -> Outcome:
    """Apply the effect's updates, the new status and the sealed history entry in one step.

    The new dossier is built once, without re-running the validators of parts already checked (see
    :func:`_rebuild`), and the e-mails it sends are recorded on it before anyone else can see it.
    """
    source = before.status if before is not None else None
    history = append(
        before.history if before is not None else (),
        at=now, actor=command.actor, trigger=spec.trigger, source=source, dest=dest,
        comment=change.comment, command_id=command.command_id, details=change.details,
    )
    history = append_automatiques(history, change.automatiques, now=now, dest=dest)
    events: tuple[Event, ...] = (*change.events, *(BlocControle(dossier.numero, now, dest.phase, bloc, Controle.OK)
                                                   for bloc, _ in change.automatiques))
    changed = source is not dest
    after = _rebuild(
        dossier,
        **change.updates,
        status=dest,
        history=history,
        date_changement_statut=now if changed else dossier.date_changement_statut,
    )
    emails = _emails(spec, after, command, now, corridor)
    if emails:
        records = tuple(EmailRecord(at=now, template=e.template, subject=e.subject, to=e.to) for e in emails)
        # Frozen for everyone else; ``after`` is not shared yet (the e-mails are rendered from it).
        _set(after, "emails_sent", (*after.emails_sent, *records))
    if changed:
        events = (*events, StatutChange(after.numero, now, spec.trigger, source, dest))
    entry = len(history)
    for i, e in enumerate(events, 1):
        # The effect built these events for this command: no one else holds them yet (as for ``after``).
        _set(e, "event_id", f"{after.numero}/{entry}/{i}")
    # the previous transition is the previous command's, not the portal's controls that may follow it
    previous = before.history if before is not None else ()
    if previous and is_automatic(previous[-1]):  # only the first command after a deposit
        previous = tuple(e for e in previous if not is_automatic(e))
    observation.transition(DOSSIER, subject=after.numero, source=source, trigger=spec.trigger, target=dest,
                           history=previous)
    return Outcome(dossier=after, events=events, emails=emails)


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
    now = _check_now(now)
    if not isinstance(command, DeposerAvance):
        raise InvalidInput("command", "une commande DeposerAvance", command)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)
    if existing_request is not None and not isinstance(existing_request, str):
        raise InvalidInput("existing_request", "un numéro de dossier ou None", existing_request)
    if gestionnaire is not None and (not isinstance(gestionnaire, str) or not gestionnaire.strip()):
        raise InvalidInput("gestionnaire", "l'identifiant d'un gestionnaire ou None", gestionnaire)
    spec, dest = _ROUTES[(INITIAL, command.TRIGGER)]
    problem = _permission_problem(None, command.actor, spec.trigger)
    if problem is not None:
        raise PermissionDenied(command.actor.role.value, command.actor.id, spec.trigger, problem)
    if existing_request:
        raise DuplicateFinancingRequest(command.fournisseur.ans_id, existing_request)
    ctx = rules.RuleContext(command=command, corridor=corridor, existing_request=existing_request)
    violations = rules.check_numero(numero, corridor) + rules.run(spec.guards, ctx)
    if violations:
        observation.violations(DOSSIER, spec.trigger, violations)
        raise RuleViolations(violations, trigger=spec.trigger)
    avance = Demande(phase=Phase.AVANCE, pieces=command.pieces, montant=command.montant,
                     taux_tva=corridor.taux_tva, date_depot=now)
    automatiques = controles_automatiques(avance, command.coordonnees_bancaires, corridor)
    avance = _avec_controles(avance, automatiques)
    dossier = Dossier(
        numero=numero, corridor=corridor.code, fournisseur=command.fournisseur,
        coordonnees_bancaires=command.coordonnees_bancaires, status=dest,
        avance=avance, solde=None, history=(), emails_sent=(), date_depot=now, date_changement_statut=now,
        gestionnaire=gestionnaire,
    )
    details = {"pieces": ",".join(sorted(p.value for p in command.pieces)), "montant": format_montant(command.montant),
               RIB_DETAIL: rib_fingerprint(command.coordonnees_bancaires)}
    if gestionnaire is not None:
        details["gestionnaire"] = gestionnaire
    change = _Change(
        details=details,
        events=(DossierDepose(numero, now, Phase.AVANCE, command.montant),),
        automatiques=automatiques,
    )
    return _finish(None, dossier, spec, dest, command, now, corridor, change)


def handle(dossier: Dossier, command: Command, *, now: datetime, corridor: Corridor = SAS) -> Outcome:
    """Apply ``command`` to ``dossier`` at ``now``; return the new dossier, events and e-mails.

    Checks, in order: types, permission (role, then ownership), status, then every guard rule (all
    violations together). Raises :class:`TransitionNotAllowed`, :class:`PermissionDenied`,
    :class:`RuleViolations` or :class:`InvalidInput`; ``dossier`` is never modified.
    """
    now = _check_now(now)
    _check_types(dossier, command, corridor)
    trigger = command.TRIGGER
    refused = _permission_violations(dossier, command.actor, trigger, corridor)
    if refused:
        observation.violations(DOSSIER, trigger, refused)  # the same reasons explain() gives, seen by coverage
        raise PermissionDenied(command.actor.role.value, command.actor.id, trigger,
                               " ".join(v.message for v in refused))
    route = _ROUTES.get((dossier.status, trigger))
    if route is None or route[0].creates:
        observation.violations(DOSSIER, trigger, _status_violations(dossier, trigger))
        raise TransitionNotAllowed(dossier.status.value, trigger, _triggers_for(dossier, command.actor, corridor))
    spec, dest = route
    ctx = rules.RuleContext(command=command, corridor=corridor, dossier=dossier)
    violations = rules.run(spec.guards, ctx)
    last = dossier.history[-1].at if dossier.history else dossier.date_changement_statut
    if now < last:
        # History is ordered by time: a command dated before the last one is a clock or replay error.
        violations += (Violation("date.anterieure", "now",
                                 "La date de la commande précède la dernière opération du dossier."),)
    if violations:
        observation.violations(DOSSIER, trigger, violations)
        raise RuleViolations(violations, trigger=trigger)
    change = _EFFECTS[trigger](dossier, command, spec, now, corridor)
    return _finish(dossier, dossier, spec, dest, command, now, corridor, change)
