"""The violation codes: one place for each code's field and French message (the catalogue lists them)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ..errors import Violation
from ..model import SAS, Corridor
from ..vocabulary import LIBELLE_CONTACT_SUPPORT

__all__ = [
    "CODES",
    "OK",
    "POLITIQUE_MOT_DE_PASSE",
    "POLITIQUE_MOT_DE_PASSE_ACCENTS",
    "CodeSpec",
    "Violations",
    "file_params",
    "file_rule_text",
    "violation",
]

Violations = tuple[Violation, ...]
OK: Violations = ()


@attrs.frozen
class CodeSpec:
    """A violation code with its field and message templates (``{name}`` placeholders)."""

    code: str
    field: str
    message: str


#: The portal's password policy, word for word as the "Changement du mot de passe" screen shows it
#: (advance guide): the sentence, then the line on accents. Each clause is also a violation below.
POLITIQUE_MOT_DE_PASSE = (
    "Le mot de passe doit être différent de l'identifiant et comporter 8 caractères minimum dont 1 chiffre "
    "et 1 caractère spécial minimum (exemples: .,;?!:%#)."
)
POLITIQUE_MOT_DE_PASSE_ACCENTS = "Les caractères accentués ne sont pas autorisés."

#: The portal's line under each upload field, filled from the corridor (``file_rule_text``).
_PORTAL_FILE = "Fichier de type {types}. Taille maximum : {taille}"


_SPECS: tuple[CodeSpec, ...] = (
    # pieces
    CodeSpec("piece.manquante", "pieces.{piece}", "Pièce obligatoire : « {titre} »."),
    CodeSpec("piece.non_attendue", "pieces.{piece}", "La pièce « {titre} » n'est pas demandée pour cette phase."),
    CodeSpec("piece.inconnue", "piece", "Cette pièce n'appartient pas au couloir."),
    CodeSpec("piece.autre_phase", "piece",
             "La pièce « {titre} » appartient à la demande d'avance : pendant l'instruction de la demande de "
             "solde, seules les pièces de la demande de solde peuvent être demandées ou jointes."),
    CodeSpec("piece.demandee_manquante", "pieces.{piece}", "La pièce demandée « {titre} » doit être jointe."),
    CodeSpec("piece.vide", "pieces.{piece}", "Le fichier est vide."),
    CodeSpec("piece.trop_grande", "pieces.{piece}", _PORTAL_FILE),
    CodeSpec("piece.type_interdit", "pieces.{piece}", _PORTAL_FILE),
    CodeSpec("piece.contenu_incoherent", "pieces.{piece}",
             "Le contenu du fichier ne correspond pas à son extension « {ext} ». " + _PORTAL_FILE),
    CodeSpec("piece.incomplet", "pieces.{piece}",
             "Le fichier est tronqué ou contient des données après sa fin : déposez le fichier d'origine."),
    CodeSpec("piece.contenu_suspect", "pieces.{piece}",
             "Le fichier est refusé : {constats}. Déposez un document PDF ou une image simple, "
             "sans contenu actif ni données ajoutées."),
    CodeSpec("piece.nom_vide", "pieces.{piece}", "Le nom du fichier est vide ou réduit à son extension."),
    CodeSpec("piece.nom_trop_long", "pieces.{piece}", "Le nom du fichier est trop long ({max} caractères maximum)."),
    CodeSpec("piece.nom_caracteres", "pieces.{piece}",
             "Le nom du fichier contient des caractères interdits : {constat} (sont refusés les chemins, "
             'les caractères de contrôle ou invisibles et : * ? " < > |).'),
    CodeSpec("piece.nom_reserve", "pieces.{piece}",
             "Le nom « {nom} » est réservé par Windows (CON, PRN, AUX, NUL, COM1 à COM9, LPT1 à LPT9), "
             "quelle que soit l'extension : renommez le fichier."),
    CodeSpec("piece.nom_espace", "pieces.{piece}",
             "Le nom du fichier contient un espace juste avant l'extension : renommez-le sans espace "
             "avant le point."),
    CodeSpec("piece.double_extension", "pieces.{piece}",
             "Le nom du fichier contient une double extension (« .{ext} ») : renommez-le avec une seule "
             "extension. " + _PORTAL_FILE),
    # amounts
    CodeSpec("montant.avance", "montant", "Le montant de l'avance est fixé à {attendu} € (non modifiable)."),
    CodeSpec("montant.solde", "montant", "Le montant du solde est fixé à {attendu} € (non modifiable)."),
    CodeSpec("montant.invalide", "montant", "Le montant doit être un nombre décimal fini."),
    # identifiers
    CodeSpec("siret.format", "fournisseur.siret", "Le SIRET doit comporter 14 chiffres."),
    CodeSpec("siret.cle", "fournisseur.siret", "Le numéro SIRET est invalide (clé de contrôle)."),
    CodeSpec("reference_ans.format", "fournisseur.ans_id",
             "Le N° unique de référencement (ANS) est invalide : 3 à 64 lettres, chiffres, « . », « _ » ou « - »."),
    CodeSpec("iban.format", "coordonnees_bancaires.iban",
             "L'IBAN est mal formé : 2 lettres de pays, 2 chiffres de contrôle puis le numéro de compte."),
    CodeSpec("iban.pays", "coordonnees_bancaires.iban",
             "Le code pays de l'IBAN est inconnu ou ce pays n'utilise pas l'IBAN (ISO 13616)."),
    CodeSpec("iban.cle", "coordonnees_bancaires.iban", "L'IBAN est invalide (clé de contrôle)."),
    CodeSpec("iban.cle_rib", "coordonnees_bancaires.iban", "La clé RIB contenue dans l'IBAN est invalide."),
    CodeSpec("iban.cle_nationale", "coordonnees_bancaires.iban",
             "La clé de contrôle nationale contenue dans l'IBAN est invalide."),
    CodeSpec("bic.format", "coordonnees_bancaires.bic", "Le BIC est invalide (8 ou 11 caractères, norme ISO 9362)."),
    CodeSpec("bic.pays_incoherent", "coordonnees_bancaires.bic",
             "Le pays du BIC ({pays_bic}) ne correspond pas à celui de l'IBAN ({pays_iban})."),
    CodeSpec("numero.format", "numero", "Le numéro de dossier doit être « {prefixe} » suivi de 6 chiffres."),
    # provider and request
    CodeSpec("fournisseur.non_enrole", "fournisseur.enrole", "Le fournisseur n'est pas enrôlé sur le portail."),
    CodeSpec("fournisseur.non_reference", "fournisseur.reference",
             "Le fournisseur n'est pas référencé Ségur auprès de l'ANS."),
    CodeSpec("fournisseur.acteur", "actor.id", "La demande doit être déposée par le fournisseur lui-même."),
    # support contact
    CodeSpec("contact_support.requis", "contact_support", f"Le champ « {LIBELLE_CONTACT_SUPPORT} » est obligatoire."),
    CodeSpec("contact_support.trop_long", "contact_support", "Texte trop long ({max} caractères maximum)."),
    CodeSpec("contact_support.caracteres", "contact_support",
             "Le contact contient des caractères de contrôle ou invisibles."),
    CodeSpec("contact_support.lien_dangereux", "contact_support",
             "Les liens « javascript: », « vbscript: », « data: » ou « file: » ne sont pas autorisés."),
    CodeSpec("contact_support.introuvable", "contact_support",
             "Indiquez une adresse électronique, un numéro de téléphone ou un lien http(s) vers le support."),
    # free texts
    CodeSpec("commentaire.requis", "commentaire", "Ce champ est obligatoire."),
    CodeSpec("commentaire.trop_long", "commentaire", "Texte trop long ({max} caractères maximum)."),
    CodeSpec("commentaire.caracteres", "commentaire", "Le texte contient des caractères invalides."),
    CodeSpec("motif.requis", "motif", "Ce champ est obligatoire."),
    CodeSpec("motif.trop_long", "motif", "Texte trop long ({max} caractères maximum)."),
    CodeSpec("motif.caracteres", "motif", "Le texte contient des caractères invalides."),
    # instruction
    CodeSpec("bloc.non_ok", "controles.{bloc}", "Le bloc « {libelle} » n'est pas en « Contrôle OK »."),
    CodeSpec("bloc.aucun_ko", "controles",
             "Une demande de modification suppose au moins un bloc en « Contrôle KO »."),
    CodeSpec("complement.vide", "pieces", "Le complément n'apporte ni pièce ni contact."),
    # portal account
    CodeSpec("identifiant.format", "identifiant",
             "L'identifiant doit comporter 3 à 64 lettres, chiffres, « . », « _ », « - » ou « @ »."),
    CodeSpec("mot_de_passe.requis", "mot_de_passe_provisoire", "Ce champ est obligatoire."),
    CodeSpec("compte.email", "email", "L'adresse électronique du compte est invalide."),
    CodeSpec("compte.email_inconnu", "email", "Cette adresse électronique n'est pas celle du compte."),
    CodeSpec("mot_de_passe.incorrect", "{champ}", "Identifiant ou mot de passe incorrect."),
    CodeSpec("mot_de_passe.trop_court", "nouveau_mot_de_passe", "Le mot de passe doit comporter 8 caractères minimum."),
    CodeSpec("mot_de_passe.trop_long", "nouveau_mot_de_passe", "{max} caractères maximum."),
    CodeSpec("mot_de_passe.chiffre", "nouveau_mot_de_passe", "Le mot de passe doit comporter 1 chiffre minimum."),
    CodeSpec("mot_de_passe.caractere_special", "nouveau_mot_de_passe",
             "Le mot de passe doit comporter 1 caractère spécial minimum (exemples: .,;?!:%#)."),
    CodeSpec("mot_de_passe.identifiant", "nouveau_mot_de_passe",
             "Le mot de passe doit être différent de l'identifiant."),
    CodeSpec("mot_de_passe.accents", "nouveau_mot_de_passe", POLITIQUE_MOT_DE_PASSE_ACCENTS),
    CodeSpec("mot_de_passe.caracteres", "nouveau_mot_de_passe",
             "Le mot de passe contient des caractères de contrôle ou invisibles."),
    CodeSpec("mot_de_passe.confirmation", "confirmation",
             "La confirmation ne correspond pas au nouveau mot de passe."),
    CodeSpec("mot_de_passe.inchange", "nouveau_mot_de_passe",
             "Le nouveau mot de passe doit être différent de l'ancien."),
    CodeSpec("question_secrete.requise", "question", "Ce champ est obligatoire."),
    CodeSpec("question_secrete.trop_longue", "question", "Texte trop long ({max} caractères maximum)."),
    CodeSpec("reponse_secrete.requise", "reponse", "Ce champ est obligatoire."),
    CodeSpec("reponse_secrete.trop_longue", "reponse", "Texte trop long ({max} caractères maximum)."),
    CodeSpec("reponse_secrete.incorrecte", "reponse", "La réponse à la question secrète est incorrecte."),
    # raised by the engines themselves (dossier and account)
    CodeSpec("date.anterieure", "now", "La date de la commande précède la dernière opération du dossier."),
    CodeSpec("paiement.montant", "{phase}.montant",
             "Paiement refusé : le montant enregistré ({montant} €) n'est pas celui du couloir ({attendu} €)."),
    CodeSpec("paiement.coordonnees_bancaires", "coordonnees_bancaires",
             "Paiement refusé : les coordonnées bancaires ne sont plus celles validées au dépôt."),
    # assignment
    CodeSpec("gestionnaire.requis", "gestionnaire", "Indiquez le gestionnaire à qui confier le dossier."),
    CodeSpec("gestionnaire.inchange", "gestionnaire", "Le dossier est déjà confié à ce gestionnaire."),
    # why a command is not possible now (explain; the engine raises PermissionDenied / TransitionNotAllowed)
    CodeSpec("permission.role", "actor.role", "Action « {action} » réservée à : {roles}."),
    CodeSpec("permission.proprietaire", "actor.id", "Ce dossier appartient à un autre fournisseur."),
    CodeSpec("permission.affectation", "actor.id",
             "L'instruction de ce dossier est réservée au gestionnaire à qui il est confié ({gestionnaire})."),
    CodeSpec("permission.non_affecte", "gestionnaire",
             "Ce dossier n'est confié à aucun gestionnaire : il doit d'abord être affecté (« Réaffecter »)."),
    CodeSpec("statut.interdit", "status",
             "Action « {action} » impossible quand la demande est « {statut} » ({phase})."),
    CodeSpec("dossier.existant", "numero",
             "Le dossier {numero} est déjà déposé : un fournisseur ne fait qu'une seule demande de financement."),
)

#: Every violation code the library can produce, with its field and message templates.
CODES: Mapping[str, CodeSpec] = MappingProxyType({s.code: s for s in _SPECS})


def violation(code: str, **params: object) -> Violation:
    """The :class:`Violation` of ``code``, its field and message filled with ``params``."""
    spec = CODES[code]
    return Violation(code, spec.field.format(**params), spec.message.format(**params))



def _format_taille(size: int) -> str:
    """A byte limit as the portal writes it: ``4 Mo`` (1 Mo = 1024 × 1024 octets)."""
    mo, rest = divmod(size, 1024 * 1024)
    if not rest:
        return f"{mo} Mo"
    if size % 1024 == 0:
        return f"{size // 1024} Ko"
    return f"{size} octets"


def _types_text(corridor: Corridor) -> str:
    exts = list(corridor.allowed_types)
    return exts[0] if len(exts) == 1 else ", ".join(exts[:-1]) + " ou " + exts[-1]


def file_rule_text(corridor: Corridor = SAS) -> str:
    """The portal's line under each upload field: ``Fichier de type … Taille maximum : 4 Mo``."""
    return _PORTAL_FILE.format(**file_params(corridor))


def file_params(corridor: Corridor) -> dict[str, str]:
    """The placeholders of the portal's file line (``{types}``, ``{taille}``) for ``corridor``."""
    return {"types": _types_text(corridor), "taille": _format_taille(corridor.max_attachment_bytes)}

