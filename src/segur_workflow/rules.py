"""Pure validators and the named rules that guard transitions.

Two levels:

* value validators ``check_*`` — input: values; output: ``tuple[Violation, ...]`` (empty = valid).
  They never raise for a bad *value*; a wrong *type* raises :class:`~segur_workflow.errors.InvalidInput`.
* :class:`Rule` — a named, described check over a :class:`RuleContext` (the dossier or account, the
  command, the corridor). The machine definitions name rules as guards; the engines run every guard
  of the transition and report all violations at once.

Every violation is built from :data:`CODES` (code, field and French message templates), so the
generated catalogue (:func:`catalogue_markdown`) is the list of what the code can say.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
from schwifty import IBAN
from schwifty import exceptions as iban_errors
from stdnum import bic as _bic
from stdnum.fr import siret as _siret

from . import observation
from .errors import DefinitionError, InvalidInput, Violation
from .model import SAS, Attachment, Corridor, Dossier
from .sniff import CONSTATS, TAILLE_DEPASSEE, decrire_tous
from .states import DEFINITIONS
from .vocabulary import LIBELLE_CONTACT_SUPPORT, Bloc, Controle, Phase, PieceKind

Violations = tuple[Violation, ...]
OK: Violations = ()

MAX_TEXT = 4000  # a comment or motif longer than this is refused (bounded storage and e-mails)
MAX_CONTACT = 500  # the support contact is "a short sentence"
MAX_FILENAME = 255  # characters and UTF-8 bytes: the usual file-system limit (ext4, NTFS)
MAX_PASSWORD = 128  # bounds the work of hashing
MIN_PASSWORD = 8
MAX_QUESTION = 200
MAX_IDENT = 64  # identifiers typed by people (SIRET, IBAN, BIC, ANS reference, login)


# -- the codes: one place for field and message -----------------------------------------------------
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
    CodeSpec("demande.doublon", "fournisseur.ans_id",
             "Une demande de financement existe déjà ({existante}) : "
             "un fournisseur SAS ne peut faire qu'une seule demande de financement."),
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


_v = violation


def _str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "une chaîne de caractères", value)
    return value


def _corridor(value: object) -> Corridor:
    if not isinstance(value, Corridor):
        raise InvalidInput("corridor", "un Corridor", value)
    return value


def _phase(value: object) -> Phase:
    try:
        return Phase(value)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidInput("phase", "une Phase (avance ou solde)", value) from None


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
    return _PORTAL_FILE.format(**_file_params(corridor))


def _file_params(corridor: Corridor) -> dict[str, str]:
    return {"types": _types_text(corridor), "taille": _format_taille(corridor.max_attachment_bytes)}


# -- attachments ---------------------------------------------------------------------------------------
#: Characters refused in a file name besides control and invisible characters: path separators,
#: the Windows drive/alternate-stream colon and the other characters Windows forbids.
_FORBIDDEN_NAME_CHARS = frozenset('/\\:*?"<>|')
#: Characters NFKC leaves alone that are drawn like a separator or a colon, and what they read as.
_LOOKALIKES = MappingProxyType({
    "\u2215": "/", "\u2044": "/", "\u29f8": "/", "\u2571": "/", "\u27cb": "/", "\u1735": "/",
    "\u2216": "\\", "\u29f5": "\\", "\u29f9": "\\", "\u2572": "\\", "\u27cd": "\\",
    "\u2236": ":", "\ua789": ":", "\u02d0": ":", "\u02f8": ":", "\u0589": ":", "\u05c3": ":", "\u16ec": ":",
    "\u1365": ":", "\u205a": ":", "\u2237": ":", "\u0703": ":", "\u0704": ":", "\u0903": ":",
    "\u3002": ".", "\uff61": ".", "\u2024": ".",
})
#: Names Windows gives to devices, whatever the extension (``CON.pdf`` opens the console); NFKC
#: turns the superscript digits Windows also accepts (``COM¹``) into plain ones first.
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
                      *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))})
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Inner name segments that read as a file extension (1 to 5 letters/digits with a letter): they are
# refused unless they are an allowed extension (``pv.exe.pdf``, ``pv.html.png``; ``pv.pdf.pdf`` passes).
_EXTENSION_LIKE = re.compile(r"[A-Za-z0-9]{0,4}[A-Za-z][A-Za-z0-9]{0,4}")
_EXTENSION_LIKE_MAX = 5
_MAX_CONSTATS = 3  # what a message names of the bad characters found (the first ones)


def normaliser_nom(filename: str) -> str:
    """The name as the rules judge it: Unicode NFKC (full-width letters, ligatures, compatibility
    dots and spaces become their plain forms), as file systems and later tools may turn it."""
    return unicodedata.normalize("NFKC", _str("filename", filename))


def _bad_char(ch: str) -> str | None:
    """What is wrong with one character of a file name, in French, or ``None``."""
    if ch in _FORBIDDEN_NAME_CHARS:
        return f"« {ch} »"
    if ch in _LOOKALIKES:
        return f"« {ch} », qui se lit comme « {_LOOKALIKES[ch]} »"
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return f"le caractère de contrôle ou invisible U+{ord(ch):04X}"
    return None


def _name_constats(name: str, normalised: str) -> list[str]:
    found: list[str] = []
    for text in (name, normalised):
        for ch in text:
            if (why := _bad_char(ch)) is not None and why not in found:
                found.append(why)
    # percent-encoding: a name that decodes (up to three times) into a separator, NUL or control
    for seq in dict.fromkeys(_PERCENT.findall(normalised)):
        decoded = seq
        for _ in range(3):
            decoded = urllib.parse.unquote(decoded)
        if decoded != seq and any(_bad_char(c) for c in unicodedata.normalize("NFKC", decoded)):
            found.append(f"« {seq} », qui se décode en un caractère interdit")
    if "%" in normalised and not found:  # a double encoding such as %252f
        decoded = normalised
        for _ in range(3):
            decoded = urllib.parse.unquote(decoded)
        if decoded != normalised and any(_bad_char(c) for c in unicodedata.normalize("NFKC", decoded)):
            found.append("un encodage « % » qui se décode en un caractère interdit")
    return found


def check_filename(filename: str, *, piece: str = "fichier", corridor: Corridor = SAS) -> Violations:
    """A file name as the portal may store and show it: bounded, printable, one extension, no path,
    no device name, judged after NFKC normalisation (:func:`normaliser_nom`)."""
    name = _str("filename", filename)
    corridor = _corridor(corridor)
    params = {"piece": piece, **_file_params(corridor)}
    # The length first, before any per-character work: a name of millions of characters costs nothing.
    if len(name) > MAX_FILENAME or len(name.encode("utf-8", "surrogatepass")) > MAX_FILENAME:
        return (_v("piece.nom_trop_long", max=MAX_FILENAME, **params),)
    normalised = unicodedata.normalize("NFKC", name)
    out: list[Violation] = []
    if constats := _name_constats(name, normalised):
        out.append(_v("piece.nom_caracteres", constat=", ".join(constats[:_MAX_CONSTATS]), **params))
    stem = normalised.rsplit(".", 1)[0] if "." in normalised else normalised
    if not stem.strip(" ."):
        out.append(_v("piece.nom_vide", **params))
    elif unicodedata.category(stem[-1]) == "Zs":  # "pv.exe .pdf", "pv.exe\u2000.pdf" after NFKC
        out.append(_v("piece.nom_espace", **params))
    device = normalised.split(".", 1)[0].rstrip(" ").upper()
    if device in WINDOWS_DEVICES:
        out.append(_v("piece.nom_reserve", nom=device, **params))
    for segment in normalised.split(".")[1:-1]:
        inner = segment.strip()
        if (len(inner) <= _EXTENSION_LIKE_MAX and _EXTENSION_LIKE.fullmatch(inner)
                and "." + inner.lower() not in corridor.allowed_types):
            out.append(_v("piece.double_extension", ext=inner, **params))
            break
    return tuple(out)


def _extension(name: str) -> str:
    name = unicodedata.normalize("NFKC", name)
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def check_attachment(kind: PieceKind, attachment: Attachment, corridor: Corridor = SAS) -> Violations:
    """The portal's file rule and more: a clean name, the right type by content *and* extension,
    not empty, at most the corridor's size, complete, no active or foreign content."""
    if not isinstance(attachment, Attachment):
        raise InvalidInput("attachment", "un Attachment", attachment)
    corridor = _corridor(corridor)
    try:
        piece = PieceKind(kind).value
    except ValueError:
        raise InvalidInput("kind", "un PieceKind", kind) from None
    params = {"piece": piece, **_file_params(corridor)}
    out = list(check_filename(attachment.filename, piece=piece, corridor=corridor))
    ext = _extension(attachment.filename)
    if attachment.size <= 0:
        out.append(_v("piece.vide", **params))
    if attachment.size > corridor.max_attachment_bytes:
        out.append(_v("piece.trop_grande", **params))
    expected = corridor.allowed_types.get(ext)
    if expected is None:
        out.append(_v("piece.type_interdit", **params))
    elif attachment.size > 0 and attachment.media_type != expected:
        out.append(_v("piece.contenu_incoherent", ext=ext, **params))
    elif attachment.size > 0 and not attachment.complet:
        out.append(_v("piece.incomplet", **params))
    if TAILLE_DEPASSEE in attachment.marqueurs and attachment.size <= corridor.max_attachment_bytes:
        # read up to a host's smaller limit only: never inspected, so never accepted
        out.append(_v("piece.trop_grande", **params))
    if found := [m for m in attachment.marqueurs if m != TAILLE_DEPASSEE]:
        out.append(_v("piece.contenu_suspect", constats=" ; ".join(decrire_tous(found)), **params))
    return tuple(out)


# -- amounts -------------------------------------------------------------------------------------------
def check_montant(montant: Decimal, phase: Phase, corridor: Corridor = SAS) -> Violations:
    """The amount of a request: a ``Decimal`` (float and str are type errors) equal to the corridor's."""
    if not isinstance(montant, Decimal):
        raise InvalidInput("montant", "un montant decimal.Decimal", montant)
    phase = _phase(phase)
    expected = _corridor(corridor).montant(phase)
    if not montant.is_finite():
        return (_v("montant.invalide"),)
    if montant != expected:
        return (_v(f"montant.{phase.value}", attendu=_montant_text(expected)),)
    return OK


def _montant_text(value: Decimal) -> str:
    return f"{value:f}" if value == value.to_integral_value() else f"{value:.2f}"


# -- identifiers ---------------------------------------------------------------------------------------
_SPACES = re.compile(r"[ .]")


def check_siret(value: str) -> Violations:
    """A SIRET (14 digits, Luhn key; La Poste's establishments ``356000000…`` use their own rule,
    which python-stdnum applies). Spaces and dots between groups are tolerated."""
    v = _str("siret", value)
    compact = _SPACES.sub("", v)
    if len(v) > MAX_IDENT or len(compact) != 14 or not (compact.isascii() and compact.isdigit()):
        return (_v("siret.format"),)
    if not _siret.is_valid(compact):
        return (_v("siret.cle"),)
    return OK


_ANS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")


def check_reference_ans(value: str) -> Violations:
    """The ANS referencing number (``tndSAS0032``): 3 to 64 ASCII letters, digits, ``.``, ``_``, ``-``."""
    v = _str("ans_id", value)
    return OK if _ANS.fullmatch(v) else (_v("reference_ans.format"),)


#: IBAN countries whose BBAN is a French RIB (bank, branch, account, 2-digit key).
RIB_COUNTRIES = frozenset({"FR", "MC"})
#: BIC countries consistent with a French or Monegasque IBAN: France, its overseas departments and
#: collectivities (their banks have their own ISO country codes in their BIC but FR IBANs), Monaco.
FRENCH_ZONE = frozenset({"FR", "MC", "GP", "GF", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "TF"})


def _iban_compact(value: str) -> str:
    return value.replace(" ", "").upper()


def check_iban(value: str) -> Violations:
    """An IBAN, judged by schwifty with the national check of its BBAN (``validate_bban=True``): the
    country's structure and length (SWIFT IBAN registry), the ISO 7064 mod 97-10 check digits, and for
    FR and MC the French RIB key (``97 - (89·banque + 15·guichet + 3·compte) mod 97``, so ``00`` is never
    a key). Spaces and lower case are accepted (``fr76 3000 …``)."""
    v = _str("iban", value)
    compact = _iban_compact(v)
    if (len(v) > MAX_IDENT or not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum()
            or not compact[:2].isalpha() or not compact[2:4].isdigit()):
        return (_v("iban.format"),)
    try:
        # schwifty checks, in this order, the country, the characters, the length, the BBAN structure,
        # the check digits and last the national key: the first problem found is the one reported.
        IBAN(compact, validate_bban=True)
    except iban_errors.InvalidCountryCode:
        return (_v("iban.pays"),)
    except iban_errors.InvalidChecksumDigits:
        return (_v("iban.cle"),)
    except iban_errors.InvalidBBANChecksum:
        return (_v("iban.cle_rib") if compact[:2] in RIB_COUNTRIES else _v("iban.cle_nationale"),)
    except iban_errors.SchwiftyException:  # length, structure, bank/branch/account code
        return (_v("iban.format"),)
    return OK


def check_bic(value: str) -> Violations:
    """A BIC (ISO 9362): 4 letters (bank), 2 letters (ISO country), 2 (location), optionally 3 (branch)."""
    v = _str("bic", value)
    compact = v.replace(" ", "").upper()
    if len(v) > MAX_IDENT or not compact.isascii() or not _bic.is_valid(compact):
        return (_v("bic.format"),)
    return OK


def check_coordonnees(iban: str, bic: str) -> Violations:
    """IBAN, BIC, and their countries agree (the French zone counts as one, see :data:`FRENCH_ZONE`)."""
    out = check_iban(iban) + check_bic(bic)
    if out:
        return out
    pays_iban, pays_bic = _iban_compact(iban)[:2], bic.replace(" ", "").upper()[4:6]
    same = pays_iban == pays_bic or (pays_iban in RIB_COUNTRIES and pays_bic in FRENCH_ZONE)
    return OK if same else (_v("bic.pays_incoherent", pays_bic=pays_bic, pays_iban=pays_iban),)


def check_numero(numero: str, corridor: Corridor = SAS) -> Violations:
    """A dossier number: the corridor's prefix and six digits (``FINSAS009250``)."""
    v = _str("numero", numero)
    corridor = _corridor(corridor)
    rest = v[len(corridor.prefixe_numero):]
    if not (v.startswith(corridor.prefixe_numero) and len(rest) == 6 and rest.isascii() and rest.isdigit()):
        return (_v("numero.format", prefixe=corridor.prefixe_numero),)
    return OK


# -- free texts and the support contact ---------------------------------------------------------------
def check_text(field: str, value: str | None, *, required: bool, code: str, max_len: int = MAX_TEXT) -> Violations:
    """A free text (comment, motif): required non-blank if asked, bounded in length.

    ``code`` is the prefix of the codes ``<code>.requis`` / ``<code>.trop_long`` (``commentaire``, ``motif``…).
    """
    if f"{code}.requis" not in CODES or f"{code}.trop_long" not in CODES:
        raise InvalidInput("code", "un préfixe de code connu (commentaire, motif, contact_support)", code)
    if value is not None:
        _str(field, value)
    if value is None or not value.strip():
        return (_v(f"{code}.requis"),) if required else OK
    if len(value) > max_len:
        return (_v(f"{code}.trop_long", max=max_len),)
    if f"{code}.caracteres" in CODES and any("\ud800" <= ch <= "\udfff" for ch in value):
        # lone surrogates are not text: no e-mail, JSON or database encoding accepts them
        return (_v(f"{code}.caracteres"),)
    return OK


_INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
# What browsers drop inside a URL scheme (tab, newline, other C0 controls) and invisible characters.
_SEP = f"[\\t\\n\\r\\x00-\\x1f{_INVISIBLE}]*"


def _scheme(word: str) -> str:
    return _SEP.join(re.escape(ch) for ch in word) + _SEP + ":"


_DANGEROUS = re.compile(
    r"(?<![a-z0-9+.\-])(?:" + "|".join(_scheme(w) for w in ("javascript", "vbscript", "livescript", "data", "file"))
    + ")"
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![0-9+])(?:(?:\+|00)33[ .\-]?(?:\(0\)[ .\-]?)?|0)[1-9](?:[ .\-]?[0-9]{2}){4}(?![0-9])")
_URL = re.compile(r"https?://[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?::[0-9]{1,5})?(?:[/?#]\S*)?",
                  re.IGNORECASE)


def _deobfuscate(text: str) -> str:
    """What a browser or a mail client could read: entities and %-escapes decoded, width-folded, lower case."""
    t = text
    for _ in range(3):  # double-encoded entities (``&amp;#106;``) are decoded too
        decoded = urllib.parse.unquote(html.unescape(t))
        if decoded == t:
            break
        t = decoded
    return unicodedata.normalize("NFKC", t).casefold()


def has_dangerous_link(text: str) -> bool:
    """``javascript:``, ``vbscript:``, ``data:``, ``file:`` however cased, escaped or split by tabs."""
    return _DANGEROUS.search(_deobfuscate(_str("text", text))) is not None


def check_support_contact(text: str) -> Violations:
    """The solde's support contact: an e-mail, a French phone number or an http(s) link, possibly in a
    short sentence (at most :data:`MAX_CONTACT` characters); never a script or data link."""
    v = _str("contact_support", text)
    if not v.strip():
        return (_v("contact_support.requis"),)
    out: list[Violation] = []
    too_long = len(v) > MAX_CONTACT
    if too_long:
        out.append(_v("contact_support.trop_long", max=MAX_CONTACT))
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} and ch not in "\t\n\r" for ch in v):
        out.append(_v("contact_support.caracteres"))
    if has_dangerous_link(v[: 4 * MAX_CONTACT]):
        out.append(_v("contact_support.lien_dangereux"))
    if not too_long and not (_EMAIL.search(v) or _PHONE.search(v) or _URL.search(v)):
        out.append(_v("contact_support.introuvable"))
    return tuple(out)


# -- the portal account ----------------------------------------------------------------------------------
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{2,63}")
_SPECIALS = frozenset(string.punctuation)


def check_identifiant(identifiant: str) -> Violations:
    """A portal login (``test.ecomplementaire``): 3 to 64 ASCII letters, digits, ``. _ - @``."""
    v = _str("identifiant", identifiant)
    return OK if _LOGIN.fullmatch(v) else (_v("identifiant.format"),)


def check_password(password: str, *, identifiant: str) -> Violations:
    """The portal's password policy, one violation per broken clause: at least 8 characters, 1 digit,
    1 special character, different from the login (ignoring case), no accented (non-ASCII) character."""
    pwd = _str("password", password)
    login = _str("identifiant", identifiant)
    out: list[Violation] = []
    if len(pwd) < MIN_PASSWORD:
        out.append(_v("mot_de_passe.trop_court"))
    if len(pwd) > MAX_PASSWORD:
        out.append(_v("mot_de_passe.trop_long", max=MAX_PASSWORD))
    if not any(ch in string.digits for ch in pwd):
        out.append(_v("mot_de_passe.chiffre"))
    if not any(ch in _SPECIALS for ch in pwd):
        out.append(_v("mot_de_passe.caractere_special"))
    if pwd.casefold() == login.strip().casefold():
        out.append(_v("mot_de_passe.identifiant"))
    if not pwd.isascii():
        out.append(_v("mot_de_passe.accents"))
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in pwd):
        out.append(_v("mot_de_passe.caracteres"))
    return tuple(out)


def check_question_secrete(question: str, reponse: str) -> Violations:
    """The secret question and answer: both present, bounded."""
    q, r = _str("question", question), _str("reponse", reponse)
    out: list[Violation] = []
    if not q.strip():
        out.append(_v("question_secrete.requise"))
    elif len(q) > MAX_QUESTION:
        out.append(_v("question_secrete.trop_longue", max=MAX_QUESTION))
    if not r.strip():
        out.append(_v("reponse_secrete.requise"))
    elif len(r) > MAX_QUESTION:
        out.append(_v("reponse_secrete.trop_longue", max=MAX_QUESTION))
    return tuple(out)


# -- rules over a command ----------------------------------------------------------------------------
@attrs.frozen
class RuleContext:
    """What a rule may look at: the command, the subject before it (``None`` on creation), the corridor.

    ``dossier`` is the funding dossier (dossier machine); ``subject`` the account (account machine).
    """

    command: Any
    corridor: Corridor = SAS
    dossier: Dossier | None = None
    existing_request: str | None = None
    subject: Any = None


def _frozen_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Rule:
    """A named rule: ``check`` returns the violations of one command in one context.

    ``codes`` lists every violation code the rule can produce (the catalogue is built from them).
    ``scope`` is ``"dossier"`` when the rule looks only at the dossier (not at what the command
    carries): ``allowed_commands`` evaluates those, since they decide whether a trigger is possible
    at all right now.
    """

    name: str
    description: str
    check: Callable[[RuleContext], Violations] = attrs.field(repr=False)
    codes: tuple[str, ...] = ()
    scope: str = "command"
    #: Outcomes (``"ok"`` or one of ``codes``) no command sent through the public API can produce,
    #: each with the reason: ``pytest --segur-coverage`` lists them apart instead of as never exercised.
    unreachable: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)


_PIECE_CODES = ("piece.vide", "piece.trop_grande", "piece.type_interdit", "piece.contenu_incoherent",
                "piece.incomplet", "piece.contenu_suspect", "piece.nom_vide", "piece.nom_trop_long",
                "piece.nom_caracteres", "piece.nom_reserve", "piece.nom_espace", "piece.double_extension")


def _pieces(ctx: RuleContext, phase: Phase) -> Violations:
    pieces: Mapping[PieceKind, Attachment] = ctx.command.pieces
    wanted = ctx.corridor.pieces(phase)
    out: list[Violation] = []
    for kind in wanted:
        if kind not in pieces:
            out.append(_v("piece.manquante", piece=kind.value, titre=kind.label))
        else:
            out.extend(check_attachment(kind, pieces[kind], ctx.corridor))
    for kind in pieces:
        if kind not in wanted:
            out.append(_v("piece.non_attendue", piece=kind.value, titre=kind.label))
    return tuple(out)


def _montant(ctx: RuleContext, phase: Phase) -> Violations:
    return check_montant(ctx.command.montant, phase, ctx.corridor)


def _controles(ctx: RuleContext) -> Mapping[Bloc, Controle]:
    assert ctx.dossier is not None
    return ctx.dossier.demande_courante.controles


def _fournisseur_eligible(ctx: RuleContext) -> Violations:
    f = ctx.command.fournisseur
    out = []
    if not f.enrole:
        out.append(_v("fournisseur.non_enrole"))
    if not f.reference:
        out.append(_v("fournisseur.non_reference"))
    if ctx.command.actor.id != f.ans_id:
        out.append(_v("fournisseur.acteur"))
    return tuple(out)


def _demande_unique(ctx: RuleContext) -> Violations:
    if ctx.existing_request:
        return (_v("demande.doublon", existante=ctx.existing_request),)
    return OK


def _identite(ctx: RuleContext) -> Violations:
    f = ctx.command.fournisseur
    return check_siret(f.siret) + check_reference_ans(f.ans_id)


def _banque(ctx: RuleContext) -> Violations:
    cb = ctx.command.coordonnees_bancaires
    return check_coordonnees(cb.iban, cb.bic)


def _blocs_ok(ctx: RuleContext) -> Violations:
    return tuple(
        _v("bloc.non_ok", bloc=b.value, libelle=b.label) for b, c in _controles(ctx).items() if c is not Controle.OK
    )


def _bloc_ko(ctx: RuleContext) -> Violations:
    return OK if Controle.KO in _controles(ctx).values() else (_v("bloc.aucun_ko"),)


def _phase_courante(ctx: RuleContext) -> Phase:
    # a piece request and its complement belong to the phase under instruction (the balance, in SAS)
    return ctx.dossier.phase if ctx.dossier is not None else Phase.SOLDE


def _piece_hors_phase(kind: PieceKind, ctx: RuleContext) -> Violations:
    """Why ``kind`` cannot be asked for or brought in the current phase (empty: it can)."""
    phase = _phase_courante(ctx)
    if kind in ctx.corridor.pieces(phase):
        return OK
    others = [p for p in Phase if p is not phase and kind in ctx.corridor.pieces(p)]
    return (_v("piece.autre_phase", titre=kind.label),) if others else (_v("piece.inconnue"),)


def _piece_de_la_phase(ctx: RuleContext) -> Violations:
    return _piece_hors_phase(ctx.command.piece, ctx)


def _complement_non_vide(ctx: RuleContext) -> Violations:
    if not ctx.command.pieces and ctx.command.contact_support is None:
        return (_v("complement.vide"),)
    return OK


def _piece_demandee(ctx: RuleContext) -> Violations:
    assert ctx.dossier is not None
    wanted = ctx.dossier.piece_demandee
    if wanted is not None and wanted not in ctx.command.pieces:
        return (_v("piece.demandee_manquante", piece=wanted.value, titre=wanted.label),)
    return OK


def _pieces_completees(ctx: RuleContext) -> Violations:
    out: list[Violation] = []
    for kind, att in ctx.command.pieces.items():
        out.extend(_piece_hors_phase(kind, ctx))
        out.extend(check_attachment(kind, att, ctx.corridor))
    return tuple(out)


def _contact(ctx: RuleContext) -> Violations:
    return check_support_contact(ctx.command.contact_support)


def _contact_complete(ctx: RuleContext) -> Violations:
    c = ctx.command.contact_support
    return OK if c is None else check_support_contact(c)


def _gestionnaire_change(ctx: RuleContext) -> Violations:
    wanted = ctx.command.gestionnaire
    if not wanted.strip():
        return (_v("gestionnaire.requis"),)
    if ctx.dossier is not None and wanted == ctx.dossier.gestionnaire:
        return (_v("gestionnaire.inchange"),)
    return OK


def _text(attr: str, *, required: bool) -> Callable[[RuleContext], Violations]:
    def check(ctx: RuleContext) -> Violations:
        return check_text(attr, getattr(ctx.command, attr), required=required, code=attr)

    return check


# account rules: the subject is a compte.Compte; secrets are verified by compte's pure functions.
def _identifiant_compte(ctx: RuleContext) -> Violations:
    out = check_identifiant(ctx.command.identifiant)
    if not ctx.command.mot_de_passe_provisoire:
        out += (_v("mot_de_passe.requis"),)
    email = ctx.command.email
    if len(email) > MAX_CONTACT or not _EMAIL.fullmatch(email):
        out += (_v("compte.email"),)
    return out


def _email_du_compte(ctx: RuleContext) -> Violations:
    # the address typed on « J'ai oublié mon identifiant »: the login is only ever sent to the account's own
    given, known = ctx.command.email.strip().casefold(), ctx.subject.email.casefold()
    return OK if given == known else (_v("compte.email_inconnu"),)


def _mot_de_passe_exact(ctx: RuleContext) -> Violations:
    from .compte import verifier_secret  # the account module sits above the rules

    champ = "ancien_mot_de_passe" if hasattr(ctx.command, "ancien_mot_de_passe") else "mot_de_passe"
    given = getattr(ctx.command, champ)
    if len(given) > MAX_PASSWORD or not verifier_secret(given, ctx.subject.mot_de_passe):
        return (_v("mot_de_passe.incorrect", champ=champ),)
    return OK


def _politique(ctx: RuleContext) -> Violations:
    c = ctx.command
    out = check_password(c.nouveau_mot_de_passe, identifiant=ctx.subject.identifiant)
    if c.confirmation != c.nouveau_mot_de_passe:
        out += (_v("mot_de_passe.confirmation"),)
    if c.nouveau_mot_de_passe == c.ancien_mot_de_passe:
        out += (_v("mot_de_passe.inchange"),)
    return out


def _question_secrete(ctx: RuleContext) -> Violations:
    return check_question_secrete(ctx.command.question, ctx.command.reponse)


def _reponse_secrete(ctx: RuleContext) -> Violations:
    from .compte import normaliser_reponse, verifier_secret

    c, compte = ctx.command, ctx.subject
    out: Violations = OK
    if not c.mot_de_passe_provisoire:
        out += (_v("mot_de_passe.requis"),)
    if (compte.reponse_secrete is None or len(c.reponse) > MAX_QUESTION
            or not verifier_secret(normaliser_reponse(c.reponse), compte.reponse_secrete)):
        out += (_v("reponse_secrete.incorrecte"),)
    return out


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return MappingProxyType({r.name: r for r in rules})


#: Every named rule, by name. Machine definitions refer to these names as guards.
RULES: Mapping[str, Rule] = _rules(
    Rule("fournisseur_eligible", "Le fournisseur est enrôlé, référencé par l'ANS et dépose pour lui-même.",
         _fournisseur_eligible, ("fournisseur.non_enrole", "fournisseur.non_reference", "fournisseur.acteur")),
    Rule("demande_unique", "Un fournisseur ne fait qu'une seule demande de financement.", _demande_unique,
         ("demande.doublon",)),
    Rule("identite_fournisseur", "SIRET et N° unique de référencement ANS du fournisseur valides.", _identite,
         ("siret.format", "siret.cle", "reference_ans.format")),
    Rule("coordonnees_bancaires", "IBAN (ISO 13616, clé RIB), BIC (ISO 9362) valides et de même pays.", _banque,
         ("iban.format", "iban.pays", "iban.cle", "iban.cle_rib", "iban.cle_nationale", "bic.format",
          "bic.pays_incoherent")),
    Rule("pieces_avance", "Les pièces de l'avance sont jointes et conformes.", lambda c: _pieces(c, Phase.AVANCE),
         ("piece.manquante", "piece.non_attendue", *_PIECE_CODES)),
    Rule("montant_avance", "Le montant de l'avance est celui du couloir.", lambda c: _montant(c, Phase.AVANCE),
         ("montant.avance", "montant.invalide")),
    Rule("pieces_solde", "Les pièces du solde sont jointes et conformes.", lambda c: _pieces(c, Phase.SOLDE),
         ("piece.manquante", "piece.non_attendue", *_PIECE_CODES)),
    Rule("montant_solde", "Le montant du solde est celui du couloir.", lambda c: _montant(c, Phase.SOLDE),
         ("montant.solde", "montant.invalide")),
    Rule("contact_support", "Le contact de support est une adresse, un téléphone ou un lien http(s) sûr.", _contact,
         ("contact_support.requis", "contact_support.trop_long", "contact_support.caracteres",
          "contact_support.lien_dangereux", "contact_support.introuvable")),
    Rule("commentaire_borne", "Le commentaire éventuel est de longueur raisonnable.",
         _text("commentaire", required=False), ("commentaire.trop_long", "commentaire.caracteres")),
    Rule("commentaire_requis", "Un commentaire est obligatoire.", _text("commentaire", required=True),
         ("commentaire.requis", "commentaire.trop_long", "commentaire.caracteres")),
    Rule("motif_requis", "Un motif de rejet est obligatoire.", _text("motif", required=True),
         ("motif.requis", "motif.trop_long", "motif.caracteres")),
    Rule("blocs_tous_ok", "Tous les blocs sont en « Contrôle OK ».", _blocs_ok, ("bloc.non_ok",), scope="dossier"),
    Rule("bloc_ko", "Au moins un bloc est en « Contrôle KO ».", _bloc_ko, ("bloc.aucun_ko",), scope="dossier"),
    Rule("piece_de_la_phase", "La pièce demandée est une pièce de la demande en instruction (le solde).",
         _piece_de_la_phase, ("piece.autre_phase", "piece.inconnue")),
    Rule("complement_non_vide", "Le complément apporte au moins une pièce ou un contact.", _complement_non_vide,
         ("complement.vide",)),
    Rule("piece_demandee_fournie", "La pièce demandée par le gestionnaire est jointe.", _piece_demandee,
         ("piece.demandee_manquante",)),
    Rule("pieces_completees", "Les pièces apportées sont des pièces du solde, conformes.", _pieces_completees,
         ("piece.autre_phase", "piece.inconnue", *_PIECE_CODES)),
    Rule("contact_support_complete", "Le contact de support apporté, s'il y en a un, est valide.", _contact_complete,
         ("contact_support.requis", "contact_support.trop_long", "contact_support.caracteres",
          "contact_support.lien_dangereux", "contact_support.introuvable")),
    Rule("gestionnaire_change", "Le dossier est confié à un gestionnaire nommé, autre que l'actuel.",
         _gestionnaire_change, ("gestionnaire.requis", "gestionnaire.inchange")),
    Rule("identifiant_compte", "L'identifiant et l'adresse électronique du compte sont bien formés et un mot de "
         "passe provisoire est fourni.", _identifiant_compte, ("identifiant.format", "mot_de_passe.requis",
                                                              "compte.email")),
    Rule("email_du_compte", "L'adresse électronique saisie est celle du compte.", _email_du_compte,
         ("compte.email_inconnu",)),
    Rule("mot_de_passe_exact", "Le mot de passe saisi est celui du compte.", _mot_de_passe_exact,
         ("mot_de_passe.incorrect",)),
    Rule("politique_mot_de_passe", "Le nouveau mot de passe respecte la politique du portail : « "
         + POLITIQUE_MOT_DE_PASSE + " " + POLITIQUE_MOT_DE_PASSE_ACCENTS + " »", _politique,
         ("mot_de_passe.trop_court", "mot_de_passe.trop_long", "mot_de_passe.chiffre",
          "mot_de_passe.caractere_special", "mot_de_passe.identifiant", "mot_de_passe.accents",
          "mot_de_passe.caracteres", "mot_de_passe.confirmation", "mot_de_passe.inchange")),
    Rule("question_secrete", "La question et la réponse secrètes sont renseignées.", _question_secrete,
         ("question_secrete.requise", "question_secrete.trop_longue", "reponse_secrete.requise",
          "reponse_secrete.trop_longue")),
    Rule("reponse_secrete", "La réponse secrète est exacte et un mot de passe provisoire est fourni.",
         _reponse_secrete, ("reponse_secrete.incorrecte", "mot_de_passe.requis")),
)

#: Codes checked by the dossier engine outside the named rules, with the triggers where they apply.
ENGINE_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "numero.format": ("dossier.deposer_avance",),
    "date.anterieure": ("compte.*", "dossier.*"),
    "paiement.montant": ("dossier.decider",),
    "paiement.coordonnees_bancaires": ("dossier.decider",),
    "permission.role": ("dossier.*",),
    "permission.proprietaire": ("dossier.*",),
    "permission.affectation": ("dossier.*",),
    "permission.non_affecte": ("dossier.*",),
    "statut.interdit": ("dossier.*",),
    "dossier.existant": ("dossier.deposer_avance",),
})


def run(names: Iterable[str], ctx: RuleContext, *, scope: str | None = None) -> Violations:
    """Run every named rule (of ``scope``, if given) and gather all violations in declaration order.

    A full run (no ``scope``: an engine judging a command) reports each rule's outcome to the
    observer of :mod:`segur_workflow.observation`, when one is installed."""
    observer = observation.current() if scope is None else None
    out: list[Violation] = []
    for name in names:
        rule = RULES[name]
        if scope is None or rule.scope == scope:
            found = rule.check(ctx)
            if observer is not None:
                observer.rule(name, tuple(dict.fromkeys(v.code for v in found)))
            out.extend(found)
    return tuple(out)


def _check_guards_known() -> None:
    problems = [f"code inconnu {c} (règle {r.name})" for r in RULES.values() for c in r.codes if c not in CODES]
    problems += [f"issue inatteignable inconnue {c} (règle {r.name})" for r in RULES.values()
                 for c in r.unreachable if c != "ok" and c not in r.codes]
    problems += [f"code inconnu {c}" for c in ENGINE_CODES if c not in CODES]
    for definition in DEFINITIONS.values():
        unknown = {g for t in definition.transitions for g in t.guards} - set(RULES)
        problems += [f"{definition.name} : règle inconnue : {g}" for g in sorted(unknown)]
    if problems:
        raise DefinitionError("rules", problems)


_check_guards_known()


# -- the generated catalogue ------------------------------------------------------------------------
class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"‹{key}›"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def catalogue_markdown() -> str:
    """The rules catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    shown = _Placeholders(_file_params(SAS))

    def used_in(rule: Rule) -> list[str]:
        return sorted({f"{d.name}.{t.trigger}" for d in DEFINITIONS.values() for t in d.transitions
                       if rule.name in t.guards})

    lines = [
        "# Catalogue des règles",
        "",
        "<!-- Généré par segur_workflow.rules.catalogue_markdown() : ne pas modifier à la main. -->",
        "",
        "## Règles",
        "",
        "| règle | description | transitions | codes |",
        "|---|---|---|---|",
    ]
    for rule in RULES.values():
        codes = ", ".join(f"`{c}`" for c in rule.codes)
        lines.append(f"| `{rule.name}` | {_md(rule.description)} | {', '.join(used_in(rule))} | {codes} |")
    lines += [
        "",
        "## Codes",
        "",
        "Messages du couloir SAS ; ‹…› : valeur propre au cas (pièce, montant…).",
        "",
        "| code | champ | message | règles | transitions |",
        "|---|---|---|---|---|",
    ]
    for spec in CODES.values():
        owners = [r for r in RULES.values() if spec.code in r.codes]
        names = ", ".join(f"`{r.name}`" for r in owners) or "(moteur)"
        where = sorted({t for r in owners for t in used_in(r)} | set(ENGINE_CODES.get(spec.code, ())))
        field = spec.field.format_map(shown)
        message = spec.message.format_map(shown)
        lines.append(f"| `{spec.code}` | `{field}` | {_md(message)} | {names} | {', '.join(where)} |")
    lines += [
        "",
        "## Constats sur le contenu des pièces",
        "",
        "Ce que l'inspection d'un fichier peut relever (`Attachment.marqueurs`) et la phrase qui le dit dans",
        "le message de `piece.contenu_suspect` (`taille.depassee` donne `piece.trop_grande`).",
        "",
        "| constat | message |",
        "|---|---|",
    ]
    lines += [f"| `{key}` | {_md(text)} |" for key, text in CONSTATS.items()]
    return "\n".join(lines) + "\n"
