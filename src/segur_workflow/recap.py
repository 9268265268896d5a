"""The consultation screen ("écran de consultation") of a dossier, as values.

What the portal shows a provider: the summary, then one tab per request (avance, solde) with its
blocks and their badges, and the e-mails sent. Dates are dd/mm/YYYY in Europe/Paris.
"""

from __future__ import annotations

import attrs

from .engine import format_date, format_montant
from .model import SAS, Corridor, Demande, Dossier
from .states import Status
from .vocabulary import LIBELLE_CONTACT_SUPPORT, Bloc, Controle, Phase


@attrs.frozen
class Ligne:
    libelle: str
    valeur: str


@attrs.frozen
class BlocView:
    """One block of the screen: title, badge (``None`` when the block has no control), lines."""

    titre: str
    badge: Controle | None
    lignes: tuple[Ligne, ...]

    @property
    def badge_label(self) -> str | None:
        return self.badge.label if self.badge is not None else None


@attrs.frozen
class PhaseView:
    phase: Phase
    titre: str
    blocs: tuple[BlocView, ...]


@attrs.frozen
class Recapitulatif:
    ans_id: str
    siret: str
    raison_sociale: str
    adresse: str
    numero: str
    date_depot: str
    statut: str
    date_changement_statut: str
    phases: tuple[PhaseView, ...]
    courriels: BlocView
    #: while the request is « A modifier » or « En attente de pièce justificative »: the gestionnaire's
    #: comment (« Un commentaire du gestionnaire vous informe de ce qui est attendu », balance guide) and,
    #: for a piece request, the requested piece's title as on the form; ``None`` otherwise (dropped once
    #: the provider has completed the request)
    commentaire_gestionnaire: str | None = None
    piece_demandee: str | None = None

    def lignes(self) -> tuple[Ligne, ...]:
        """The summary lines, labelled as on the portal (then what the gestionnaire expects, if anything)."""
        lignes = [
            Ligne("N° unique de référencement (ANS)", self.ans_id),
            Ligne("SIRET", self.siret),
            Ligne("Dénomination sociale", self.raison_sociale),
            Ligne("Adresse", self.adresse),
            Ligne("Numéro de dossier", self.numero),
            Ligne("Date de dépôt", self.date_depot),
            Ligne("Statut de la demande", self.statut),
            Ligne("Date de changement de statut", self.date_changement_statut),
        ]
        if self.piece_demandee is not None:
            lignes.append(Ligne(LIBELLE_PIECE_DEMANDEE, self.piece_demandee))
        if self.commentaire_gestionnaire is not None:
            lignes.append(Ligne(LIBELLE_COMMENTAIRE, self.commentaire_gestionnaire))
        return tuple(lignes)


#: Labels of the lines shown while the provider has something to do (the guide's words).
LIBELLE_COMMENTAIRE = "Commentaire du gestionnaire"
LIBELLE_PIECE_DEMANDEE = "Pièce justificative attendue"


#: Shown under an amount the corridor holds as a placeholder (no known source): never shown as fact.
LIBELLE_SOURCE_MONTANT = "Source du montant"
TEXTE_MONTANT_EXEMPLE = ("montant d'exemple : les guides de l'ASP ne donnent pas ce montant, "
                         "le portail doit être configuré avec le montant réel")


def _phase_view(dossier: Dossier, demande: Demande, corridor: Corridor) -> PhaseView:
    c = demande.controles
    # The advance guide's bloc: « Informations de la demande : Taux de TVA, Montant de l'avance ». The
    # balance's own deposit date is shown in its bloc: the summary's « Date de dépôt » is the dossier's.
    infos = [Ligne("Taux de TVA", demande.taux_tva),
             Ligne(demande.phase.montant_label, format_montant(demande.montant))]
    if corridor.code == dossier.corridor and corridor.montant_provisoire(demande.phase):
        infos.append(Ligne(LIBELLE_SOURCE_MONTANT, TEXTE_MONTANT_EXEMPLE))
    if demande.phase is Phase.SOLDE:
        infos.append(Ligne("Date de dépôt", format_date(demande.date_depot)))
    if demande.contact_support is not None:
        infos.append(Ligne(LIBELLE_CONTACT_SUPPORT, demande.contact_support))
    if demande.paiement is not None:
        infos.append(Ligne("Paiement déclenché le", format_date(demande.paiement.declenche_le)))
    cb = dossier.coordonnees_bancaires
    banque = (Ligne("IBAN", cb.iban), Ligne("BIC", cb.bic), Ligne("Titulaire", cb.titulaire),
              Ligne("Domiciliation", cb.domiciliation))
    pieces = tuple(Ligne(kind.label, f"{att.filename} ({att.size} octets)") for kind, att in demande.pieces.items())
    return PhaseView(
        phase=demande.phase,
        titre=demande.phase.label,
        blocs=(
            BlocView(Bloc.INFORMATIONS.label, c[Bloc.INFORMATIONS], tuple(infos)),
            BlocView(Bloc.COORDONNEES_BANCAIRES.label, c[Bloc.COORDONNEES_BANCAIRES], banque),
            BlocView(Bloc.PIECES_JUSTIFICATIVES.label, c[Bloc.PIECES_JUSTIFICATIVES], pieces),
        ),
    )


def recapitulatif(dossier: Dossier, corridor: Corridor = SAS) -> Recapitulatif:
    """The consultation screen of ``dossier`` (``corridor``: the one it belongs to, for the amounts'
    status: an amount the corridor holds as a placeholder gets a « Source du montant » line)."""
    f = dossier.fournisseur
    # what the gestionnaire expects is shown while the provider has to act, and only then
    attente = dossier.status in (Status.SOLDE_A_MODIFIER, Status.SOLDE_EN_ATTENTE_PIECE)
    phases = tuple(_phase_view(dossier, d, corridor) for d in (dossier.avance, dossier.solde) if d is not None)
    courriels = BlocView(
        "Courriels automatiques envoyés",
        None,
        tuple(Ligne(format_date(e.at), e.subject) for e in dossier.emails_sent),
    )
    return Recapitulatif(
        ans_id=f.ans_id, siret=f.siret, raison_sociale=f.raison_sociale, adresse=f.adresse,
        numero=dossier.numero, date_depot=format_date(dossier.date_depot), statut=dossier.status.label,
        date_changement_statut=format_date(dossier.date_changement_statut), phases=phases, courriels=courriels,
        commentaire_gestionnaire=dossier.demande_commentaire if attente else None,
        piece_demandee=dossier.piece_demandee.label if attente and dossier.piece_demandee is not None else None,
    )
