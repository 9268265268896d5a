"""What each trigger of the dossier does to its data (the effects), and what its e-mails show.

Each effect is a function of the dossier before (``None`` on creation), the command and the
:class:`~segur_workflow.binding.Step`, returning the :class:`~segur_workflow.binding.Change`; the binding
(:mod:`._binding`) ties each to its command class.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from .. import rules
from .._format import format_date, format_montant
from .._seal import canonical, digest
from ..binding import Change, Step, rebuild, rebuilder
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
from ..errors import TransitionNotAllowed, Violation
from ..model import Actor, CoordonneesBancaires, Corridor, Demande, Dossier, Paiement
from ..vocabulary import Bloc, Controle, Phase, Role
from ._events import BlocControle, DossierDepose, DossierReaffecte, PaiementDeclenche

__all__ = [
    "PORTAIL", "RIB_DETAIL", "completer", "controler_bloc", "controles_automatiques", "decider",
    "demander_modification", "demander_piece", "deposer_avance", "deposer_solde", "email_context", "payment_problems",
    "reaffecter",
    "rejeter", "rib_fingerprint",
]


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


def deposer_avance(_d: None, c: DeposerAvance, step: Step) -> Change:
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


_rebuild_demande = rebuilder(Demande)


def controler_bloc(d: Dossier, c: ControlerBloc, step: Step) -> Change:
    demande = d.demande_courante
    controles = MappingProxyType({**demande.controles, c.bloc: c.resultat})
    bloc, resultat = c.bloc, c.resultat
    return Change(
        updates=_set_current(d, _rebuild_demande(demande, controles=controles)),
        # _value_: the member's value without the enum property's lookup (a visible share of this effect)
        details={"bloc": bloc._value_, "resultat": resultat._value_},
        events=(BlocControle(d.numero, step.now, demande.phase, c.bloc, c.resultat),),
        comment=c.commentaire,
    )


def payment_problems(d: Dossier, k: Corridor) -> tuple[Violation, ...]:
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


def decider(d: Dossier, _c: Decider, step: Step) -> Change:
    demande = d.demande_courante
    if demande.paiement is not None:  # unreachable through the definition; kept as a hard stop
        raise TransitionNotAllowed(d.status.value, step.spec.trigger, ())
    paiement = Paiement(montant=demande.montant, declenche_le=step.now)
    return Change(
        updates=_set_current(d, rebuild(demande, paiement=paiement)),
        details={"montant": format_montant(demande.montant)},
        events=(PaiementDeclenche(d.numero, step.now, demande.phase, demande.montant),),
    )


def rejeter(_d: Dossier, c: Rejeter, _step: Step) -> Change:
    return Change(comment=c.motif)


def deposer_solde(d: Dossier, c: DeposerSolde, step: Step) -> Change:
    solde = Demande(phase=Phase.SOLDE, pieces=c.pieces, montant=c.montant, taux_tva=step.corridor.taux_tva,
                    date_depot=step.now, contact_support=c.contact_support)
    solde, change = _deposit(d.numero, step.now, solde, d.coordonnees_bancaires, step.corridor)
    return attrs.evolve(change, updates={"solde": solde})


def demander_modification(_d: Dossier, c: DemanderModification, _step: Step) -> Change:
    return Change(updates={"demande_commentaire": c.commentaire}, comment=c.commentaire)


def demander_piece(_d: Dossier, c: DemanderPiece, _step: Step) -> Change:
    return Change(
        updates={"piece_demandee": c.piece, "demande_commentaire": c.commentaire},
        details={"piece": c.piece.value},
        comment=c.commentaire,
    )


def completer(d: Dossier, c: Completer, _step: Step) -> Change:
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


def reaffecter(d: Dossier, c: Reaffecter, step: Step) -> Change:
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
