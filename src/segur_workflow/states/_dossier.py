"""The funding dossier of the SAS corridor: :class:`Status` and its definition :data:`DOSSIER` (DESIGN.md's table)."""

from __future__ import annotations

import enum

from ..vocabulary import Phase, Role
from ._spec import MachineDefinition, StateSpec, TransitionSpec

__all__ = ["DOSSIER", "Status"]

_F = frozenset({Role.FOURNISSEUR})
_G = frozenset({Role.GESTIONNAIRE})
_S = frozenset({Role.SYSTEME})
_A, _SO = Phase.AVANCE.value, Phase.SOLDE.value


class Status(enum.StrEnum):
    """Status of a funding dossier. Values are part of the public contract."""

    AVANCE_EN_INSTRUCTION = "avance_en_instruction"
    AVANCE_DECIDEE = "avance_decidee"
    AVANCE_REJETEE = "avance_rejetee"
    SOLDE_EN_INSTRUCTION = "solde_en_instruction"
    SOLDE_A_MODIFIER = "solde_a_modifier"
    SOLDE_EN_ATTENTE_PIECE = "solde_en_attente_piece"
    SOLDE_DECIDEE = "solde_decidee"
    SOLDE_REJETEE = "solde_rejetee"

    @property
    def label(self) -> str:
        """The status as the portal shows it ("Statut de la demande")."""
        return DOSSIER.state(self.value).label

    @property
    def phase(self) -> Phase:
        return Phase.AVANCE if self.value.startswith("avance") else Phase.SOLDE

    @property
    def final(self) -> bool:
        return DOSSIER.state(self.value).final


_DOSSIER_STATES = (
    StateSpec("avance_en_instruction", "En cours", _A,
              description="Demande d'avance déposée, en attente d'instruction par un gestionnaire."),
    StateSpec("avance_decidee", "Validée", _A,
              description=("Avance décidée : le paiement de l'avance est déclenché ; "
                           "la demande de solde est ouverte.")),
    StateSpec("avance_rejetee", "Rejetée", _A, final=True,
              description="Demande d'avance non conforme, rejetée : aucun paiement."),
    StateSpec("solde_en_instruction", "En cours", _SO,
              description="Demande de solde déposée (ou complétée), en instruction."),
    StateSpec("solde_a_modifier", "A modifier", _SO,
              description="Le gestionnaire demande une modification ; le fournisseur complète sa demande."),
    StateSpec("solde_en_attente_piece", "En attente de pièce justificative", _SO,
              description="Le gestionnaire attend une pièce justificative précise."),
    StateSpec("solde_decidee", "Décidée", _SO, final=True,
              description="Solde décidé : la demande est conforme, le paiement du solde est déclenché."),
    StateSpec("solde_rejetee", "Rejetée", _SO, final=True,
              description="Demande de solde non conforme, rejetée : le solde n'est pas payé."),
)

#: The funding dossier of the SAS corridor (DESIGN.md's table).
DOSSIER = MachineDefinition(
    name="dossier",
    title="Demande de financement Ségur numérique — couloir SAS",
    owner_refusal="ce dossier appartient à un autre fournisseur",
    states=_DOSSIER_STATES,
    transitions=(
        TransitionSpec(
            "deposer_avance", (), "avance_en_instruction", _F,
            label="Déposer la demande d'avance",
            guards=("fournisseur_eligible", "pieces_avance", "montant_avance",
                    "coordonnees_bancaires", "identite_fournisseur"),
            owner_only=True, email="accuse_reception_avance",
            description="Le fournisseur dépose sa demande d'avance (3 pièces, montant fixé par le couloir).",
            recit="Demande d'avance déposée",
        ),
        TransitionSpec(
            "controler_bloc", ("avance_en_instruction", "solde_en_instruction"), None, _G,
            label="Contrôler un bloc",
            guards=("commentaire_borne",), assigned_only=True,
            description="Le gestionnaire contrôle un bloc : OK, KO ou à instruire.",
            recit="Bloc contrôlé",
        ),
        TransitionSpec(
            "decider", ("avance_en_instruction",), "avance_decidee", _G,
            label="Décider — paiement déclenché",
            guards=("blocs_tous_ok",), email="avance_decidee", assigned_only=True,
            description="Le gestionnaire valide l'avance ; le paiement de l'avance est déclenché.",
            recit="Avance validée, paiement déclenché",
        ),
        TransitionSpec(
            "rejeter", ("avance_en_instruction",), "avance_rejetee", _G,
            label="Rejeter la demande",
            guards=("motif_requis",), email="avance_rejetee", assigned_only=True,
            description="Le gestionnaire rejette la demande d'avance (motif obligatoire).",
            recit="Demande d'avance rejetée",
        ),
        TransitionSpec(
            "deposer_solde", ("avance_decidee",), "solde_en_instruction", _F,
            label="Déposer la demande de solde",
            guards=("pieces_solde", "contact_support", "montant_solde"),
            owner_only=True, email="accuse_reception_solde",
            description="Le fournisseur dépose sa demande de solde (PV de VSR, contact support).",
            recit="Demande de solde déposée",
        ),
        TransitionSpec(
            "demander_modification", ("solde_en_instruction",), "solde_a_modifier", _G,
            label="Demander une modification",
            guards=("commentaire_requis", "bloc_ko"), email="solde_a_modifier", assigned_only=True,
            description="Le gestionnaire demande une modification (commentaire, au moins un bloc KO).",
            recit="Modification demandée",
        ),
        TransitionSpec(
            "demander_piece", ("solde_en_instruction",), "solde_en_attente_piece", _G,
            label="Demander une pièce justificative",
            guards=("commentaire_requis", "piece_de_la_phase"), email="solde_en_attente_piece", assigned_only=True,
            description="Le gestionnaire demande une pièce justificative précise (commentaire obligatoire).",
            recit="Pièce justificative demandée",
        ),
        TransitionSpec(
            "completer", ("solde_a_modifier", "solde_en_attente_piece"), "solde_en_instruction", _F,
            label="Compléter la demande",
            guards=("complement_non_vide", "piece_demandee_fournie", "pieces_completees",
                    "contact_support_complete"),
            owner_only=True, email="complement_recu",
            description="Le fournisseur complète sa demande ; elle repart en instruction.",
            recit="Demande complétée",
        ),
        TransitionSpec(
            "decider", ("solde_en_instruction",), "solde_decidee", _G,
            label="Décider — paiement déclenché",
            guards=("blocs_tous_ok",), email="solde_decidee", assigned_only=True,
            description="Le gestionnaire valide le solde ; le paiement du solde est déclenché.",
            recit="Solde validé, paiement déclenché",
        ),
        TransitionSpec(
            "rejeter", ("solde_en_instruction",), "solde_rejetee", _G,
            label="Rejeter la demande",
            guards=("motif_requis",), email="solde_rejetee", assigned_only=True,
            description="Le gestionnaire rejette la demande de solde (motif obligatoire).",
            recit="Demande de solde rejetée",
        ),
        TransitionSpec(
            "reaffecter", tuple(s.name for s in _DOSSIER_STATES if not s.final), None, _G | _S,
            label="Réaffecter à un gestionnaire",
            guards=("gestionnaire_change", "commentaire_borne"),
            description="Le dossier est confié à un autre gestionnaire (par un gestionnaire ou par le portail).",
            recit="Dossier réaffecté",
        ),
    ),
)
