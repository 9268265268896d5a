"""The domain's words: roles, pieces, blocs, control badges, phases.

Bottom layer: plain enums with the French labels the ASP portal shows.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """Who issues a command."""

    FOURNISSEUR = "fournisseur"
    GESTIONNAIRE = "gestionnaire"
    SYSTEME = "systeme"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.FOURNISSEUR: "Fournisseur SAS",
    Role.GESTIONNAIRE: "Gestionnaire",
    Role.SYSTEME: "Système",
}


class Phase(enum.StrEnum):
    """The two requests of one funding dossier."""

    AVANCE = "avance"
    SOLDE = "solde"

    @property
    def label(self) -> str:
        return "Ma demande d'avance" if self is Phase.AVANCE else "Ma demande de solde"

    @property
    def montant_label(self) -> str:
        """The amount field's label ("4 - Montant de l'avance" on the deposit form, straight apostrophe)."""
        return "Montant de l'avance" if self is Phase.AVANCE else "Montant du solde"


#: The balance form's support-contact field, as the balance guide names it.
LIBELLE_CONTACT_SUPPORT = (
    "Coordonnées de contact de support ou lien vers la plateforme de support à destination des Régulateurs "
    "et des Effecteurs"
)


class PieceKind(enum.StrEnum):
    """Attachments ("pièces justificatives"), titled as in the ASP forms."""

    PV_MISE_EN_SERVICE = "pv_mise_en_service"
    ATTESTATION_PROCURATION = "attestation_procuration"
    JUSTIFICATIF_TRANSMISSION = "justificatif_transmission"
    PV_VSR = "pv_vsr"

    @property
    def label(self) -> str:
        """The piece's title on the portal's form."""
        return _PIECE_TITLES[self]


_PIECE_TITLES = {
    PieceKind.PV_MISE_EN_SERVICE: "Procès-verbal de mise en service",
    PieceKind.ATTESTATION_PROCURATION: (
        "Attestation sur l'honneur de procuration de documents à la destination "
        "des Régulateurs et des Effecteurs"
    ),
    PieceKind.JUSTIFICATIF_TRANSMISSION: "Justificatif de transmission des données à la plateforme numérique SAS",
    PieceKind.PV_VSR: "Procès-verbal de vérification de service régulier",
}


class Bloc(enum.StrEnum):
    """The blocks of the consultation screen that a gestionnaire controls."""

    INFORMATIONS = "informations"
    COORDONNEES_BANCAIRES = "coordonnees_bancaires"
    PIECES_JUSTIFICATIVES = "pieces_justificatives"

    @property
    def label(self) -> str:
        return _BLOC_LABELS[self]


_BLOC_LABELS = {
    Bloc.INFORMATIONS: "Informations de la demande",
    Bloc.COORDONNEES_BANCAIRES: "Coordonnées bancaires",
    Bloc.PIECES_JUSTIFICATIVES: "Pièces justificatives",
}


class Controle(enum.StrEnum):
    """A bloc's badge on the consultation screen."""

    A_INSTRUIRE = "a_instruire"
    OK = "ok"
    KO = "ko"

    @property
    def label(self) -> str:
        return _CONTROLE_LABELS[self]


_CONTROLE_LABELS = {
    Controle.A_INSTRUIRE: "A instruire",
    Controle.OK: "Contrôle OK",
    Controle.KO: "Contrôle KO",
}
