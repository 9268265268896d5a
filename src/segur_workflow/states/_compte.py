"""The provider's account on the private portal: :class:`CompteStatus` and its definition :data:`COMPTE`."""

from __future__ import annotations

import enum

from ..vocabulary import Role
from ._spec import MachineDefinition, StateSpec, TransitionSpec

__all__ = ["COMPTE", "CompteStatus"]

_F = frozenset({Role.FOURNISSEUR})
_S = frozenset({Role.SYSTEME})


class CompteStatus(enum.StrEnum):
    """Status of a provider's account on the private portal (first login and resets)."""

    IDENTIFIANTS_TRANSMIS = "identifiants_transmis"
    MOT_DE_PASSE_A_CHANGER = "mot_de_passe_a_changer"
    QUESTION_SECRETE_A_DEFINIR = "question_secrete_a_definir"  # noqa: S105 - a status, not a secret
    ACTIF = "actif"
    MOT_DE_PASSE_REINITIALISE = "mot_de_passe_reinitialise"
    CLOTURE = "cloture"

    @property
    def label(self) -> str:
        return COMPTE.state(self.value).label


#: The provider's account on the private portal (first login, secret question, forgotten credentials).
COMPTE = MachineDefinition(
    name="compte",
    title="Compte du portail privé Ségur numérique",
    states=(
        StateSpec("identifiants_transmis", "Identifiants transmis par courriel", "connexion",
                  description="Identifiant et mot de passe provisoire envoyés par courriel (deux courriels)."),
        StateSpec("mot_de_passe_a_changer", "Changement du mot de passe requis", "connexion",
                  description="Première connexion faite : le mot de passe provisoire doit être changé."),
        StateSpec("question_secrete_a_definir", "Question secrète à définir", "connexion",
                  description="Mot de passe changé : la question/réponse secrète reste à définir."),
        StateSpec("actif", "Actif", None, description="Compte utilisable."),
        StateSpec("mot_de_passe_reinitialise", "Nouveau mot de passe transmis par courriel", "connexion",
                  description=("« J'ai oublié mon mot de passe » : un mot de passe provisoire a été envoyé ; "
                               "il doit être changé, la question secrète est conservée.")),
        StateSpec("cloture", "Clôturé", None, final=True, description="Compte fermé."),
    ),
    transitions=(
        TransitionSpec("creer_compte", (), "identifiants_transmis", _S,
                       label="Créer le compte", guards=("identifiant_compte",),
                       email="compte_identifiant", extra_emails=("compte_mot_de_passe",),
                       description=("Le portail crée le compte et transmet l'identifiant et le mot de passe "
                                    "provisoire par deux courriels.")),
        TransitionSpec("premiere_connexion", ("identifiants_transmis",), "mot_de_passe_a_changer", _F,
                       label="Se connecter la première fois",
                       guards=("mot_de_passe_exact",), owner_only=True,
                       description="Première connexion avec le mot de passe transmis."),
        TransitionSpec("changer_mot_de_passe", ("mot_de_passe_a_changer",), "question_secrete_a_definir", _F,
                       label="Changer le mot de passe provisoire",
                       guards=("mot_de_passe_exact", "politique_mot_de_passe"), owner_only=True,
                       description="Changement obligatoire du mot de passe provisoire."),
        TransitionSpec("changer_mot_de_passe", ("mot_de_passe_reinitialise",), "actif", _F,
                       label="Changer le mot de passe provisoire",
                       guards=("mot_de_passe_exact", "politique_mot_de_passe"), owner_only=True,
                       description=("Changement du mot de passe provisoire reçu après un oubli ; la question "
                                    "secrète, déjà définie, est conservée.")),
        TransitionSpec("definir_question_secrete", ("question_secrete_a_definir",), "actif", _F,
                       label="Définir la question secrète",
                       guards=("question_secrete",), owner_only=True,
                       description="Définition de la question/réponse secrète."),
        TransitionSpec("oublier_mot_de_passe", ("actif", "mot_de_passe_reinitialise"), "mot_de_passe_reinitialise",
                       _F, label="Mot de passe oublié", guards=("reponse_secrete",), owner_only=True,
                       email="compte_nouveau_mot_de_passe",
                       description=("« J'ai oublié mon mot de passe » : après la réponse secrète, un nouveau mot "
                                    "de passe provisoire est envoyé par courriel.")),
        TransitionSpec("oublier_identifiant",
                       ("identifiants_transmis", "mot_de_passe_a_changer", "question_secrete_a_definir", "actif",
                        "mot_de_passe_reinitialise"), None, _S, label="Identifiant oublié",
                       guards=("email_du_compte",), email="compte_rappel_identifiant",
                       description=("« J'ai oublié mon identifiant » : le portail envoie l'identifiant à "
                                    "l'adresse électronique du compte.")),
        TransitionSpec("cloturer_compte",
                       ("identifiants_transmis", "mot_de_passe_a_changer", "question_secrete_a_definir", "actif",
                        "mot_de_passe_reinitialise"),
                       "cloture", _S, label="Clôturer le compte", description="Le portail ferme le compte."),
    ),
)
