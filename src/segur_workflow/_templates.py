"""The notifications the library sends: each template's subject and the variables it declares, and what
every variable means (the catalogue shows them; :mod:`segur_workflow.emails` renders them)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from .model import LIEN_PORTAIL, SAS
from .rules import POLITIQUE_MOT_DE_PASSE, POLITIQUE_MOT_DE_PASSE_ACCENTS
from .vocabulary import PieceKind

__all__ = ["TEMPLATES", "VARIABLES", "TemplateSpec", "Variable"]


@attrs.frozen
class Variable:
    """A value a template may show: its meaning (for the catalogue) and an example."""

    name: str
    description: str
    example: str


@attrs.frozen
class TemplateSpec:
    """One notification: its subject (a one-line Jinja template) and the variables it declares.

    ``variables`` is exactly what the text and the HTML bodies use (each of them uses all of it, so
    both carry the same information); the subject uses a subset.
    """

    name: str
    title: str
    subject: str
    variables: frozenset[str]
    description: str = ""


#: Every variable any template may declare. The engine's ``email_context`` provides them as text.
VARIABLES: Mapping[str, Variable] = MappingProxyType({
    v.name: v for v in (
        Variable("numero", "Numéro de la demande de financement.", "FINSAS009250"),
        Variable("programme", "Programme financé (du couloir).", SAS.programme),
        Variable("lien_assistance", "Lien vers le formulaire de l'assistance (du couloir).", SAS.lien_assistance),
        Variable("date_depot", "Date de dépôt de la demande (jj/mm/aaaa, heure de Paris).", "23/05/2023"),
        Variable("date", "Date de l'événement notifié (jj/mm/aaaa, heure de Paris).", "12/06/2023"),
        Variable("montant", "Montant payé, tel que le portail l'affiche (euros).", "30000"),
        Variable("motif", "Motif du rejet saisi par le gestionnaire (texte libre).",
                 "Le procès-verbal de mise en service n'est pas signé.\nMerci de vérifier les pièces déposées."),
        Variable("commentaire", "Commentaire du gestionnaire (texte libre).",
                 "Le PV de VSR est illisible.\nMerci de le déposer à nouveau, signé et daté."),
        Variable("piece", "Titre de la pièce justificative attendue.", PieceKind.PV_VSR.label),
        Variable("identifiant", "Identifiant du compte sur le portail privé.", "test.ecomplementaire"),
        Variable("mot_de_passe", "Mot de passe provisoire généré par l'hôte (à changer à la connexion).",
                 "Kp7;vX2m!q"),
        Variable("lien_portail", "Adresse du portail public (bouton « Se connecter »).", LIEN_PORTAIL),
        Variable("politique", "Règles de sécurité du mot de passe, telles que le portail les affiche.",
                 POLITIQUE_MOT_DE_PASSE + "\n" + POLITIQUE_MOT_DE_PASSE_ACCENTS),
    )
})

_COMPTE = frozenset({"lien_portail", "lien_assistance"})

_CORPS = frozenset({"numero", "programme", "lien_assistance"})

TEMPLATES: Mapping[str, TemplateSpec] = MappingProxyType({
    t.name: t for t in (
        TemplateSpec("accuse_reception_avance", "Accusé de réception de la demande d'avance",
                     "Demande de financement {{ numero }} : demande d'avance réceptionnée",
                     _CORPS | {"date_depot"},
                     "Reproduit le courriel de confirmation du guide « demande d'avance »."),
        # « validée » for the advance, « décidée » for the balance: each guide's own word (docs/decisions.md)
        TemplateSpec("avance_decidee", "Avance validée",
                     "Demande de financement {{ numero }} : demande d'avance validée",
                     _CORPS | {"date", "montant"},
                     "Demande d'avance conforme, validée : le paiement de l'avance est déclenché."),
        TemplateSpec("avance_rejetee", "Avance rejetée",
                     "Demande de financement {{ numero }} : demande d'avance rejetée",
                     _CORPS | {"date", "motif"},
                     "Demande d'avance non conforme : aucun paiement ; le motif du gestionnaire est cité."),
        TemplateSpec("accuse_reception_solde", "Accusé de réception de la demande de solde",
                     "Demande de financement {{ numero }} : demande de solde réceptionnée",
                     _CORPS | {"date_depot"},
                     "Confirmation du dépôt de la demande de solde, sur le modèle de celle de l'avance."),
        TemplateSpec("solde_a_modifier", "Solde à modifier",
                     "Demande de financement {{ numero }} : demande de solde à modifier",
                     _CORPS | {"date", "commentaire"},
                     "Le gestionnaire demande une modification ; son commentaire est cité."),
        TemplateSpec("solde_en_attente_piece", "Solde en attente de pièce justificative",
                     "Demande de financement {{ numero }} : demande de solde en attente de pièce justificative",
                     _CORPS | {"date", "piece", "commentaire"},
                     "Le gestionnaire attend une pièce précise ; son titre et le commentaire sont cités."),
        TemplateSpec("complement_recu", "Complément reçu",
                     "Demande de financement {{ numero }} : compléments de la demande de solde réceptionnés",
                     _CORPS | {"date"},
                     "Le fournisseur a complété sa demande de solde, qui repart en instruction."),
        TemplateSpec("solde_decidee", "Solde décidé",
                     "Demande de financement {{ numero }} : demande de solde décidée",
                     _CORPS | {"date", "montant"},
                     "Demande de solde conforme : le paiement du solde est déclenché."),
        TemplateSpec("solde_rejetee", "Solde rejeté",
                     "Demande de financement {{ numero }} : demande de solde rejetée",
                     _CORPS | {"date", "motif"},
                     "Demande de solde non conforme : le solde n'est pas payé ; le motif est cité."),
        # the portal account: "votre identifiant et votre mot de passe préalablement transmis par mail" (guides);
        # two mails, one with the login and one with the password, never both in one message
        TemplateSpec("compte_identifiant", "Identifiant du compte",
                     "Portail Ségur numérique : votre identifiant",
                     _COMPTE | {"identifiant"},
                     "Création du compte : l'identifiant ; le mot de passe part dans un courriel séparé."),
        TemplateSpec("compte_mot_de_passe", "Mot de passe provisoire du compte",
                     "Portail Ségur numérique : votre mot de passe provisoire",
                     _COMPTE | {"mot_de_passe", "politique"},
                     "Création du compte : le mot de passe provisoire, à changer à la première connexion."),
        TemplateSpec("compte_rappel_identifiant", "Rappel de l'identifiant",
                     "Portail Ségur numérique : rappel de votre identifiant",
                     _COMPTE | {"identifiant"},
                     "« J'ai oublié mon identifiant » : l'identifiant, à l'adresse du compte."),
        TemplateSpec("compte_nouveau_mot_de_passe", "Nouveau mot de passe provisoire",
                     "Portail Ségur numérique : votre nouveau mot de passe provisoire",
                     _COMPTE | {"mot_de_passe", "politique"},
                     "« J'ai oublié mon mot de passe » : un nouveau mot de passe provisoire, à changer à la "
                     "connexion ; la question secrète est conservée."),
    )
})
