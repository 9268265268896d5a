"""Pure validators and the named rules that guard transitions.

Two levels:

* value validators ``check_*`` — input: values; output: ``tuple[Violation, ...]`` (empty = valid).
  They never raise for a bad *value*; a wrong *type* raises :class:`~segur_workflow.errors.InvalidInput`.
* :class:`Rule` — a named, described check over a :class:`RuleContext` (the dossier, the command, the
  corridor). The machine definitions name rules as guards; the engine runs every guard of the
  transition and reports all violations at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs
from stdnum import bic as _bic
from stdnum import iban as _iban
from stdnum.fr import siret as _siret

from .errors import DefinitionError, InvalidInput, Violation
from .model import SAS, Attachment, Corridor, Dossier
from .states import DEFINITIONS
from .vocabulary import Bloc, Controle, Phase, PieceKind

Violations = tuple[Violation, ...]
OK: Violations = ()

MAX_TEXT = 4000  # a comment, motif or contact longer than this is refused (bounded storage and e-mails)


def _str(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "une chaîne de caractères", value)
    return value


# -- value validators ------------------------------------------------------------------------------
def check_attachment(kind: PieceKind, attachment: Attachment, corridor: Corridor = SAS) -> Violations:
    """The portal's file rule: .png/.jpg/.jpeg/.pdf, content matching the extension, at most 4 Mo."""
    if not isinstance(attachment, Attachment):
        raise InvalidInput("attachment", "un Attachment", attachment)
    field = f"pieces.{PieceKind(kind).value}"
    out: list[Violation] = []
    name = attachment.filename
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if attachment.size == 0:
        out.append(Violation("piece.vide", field, "Le fichier est vide."))
    if attachment.size > corridor.max_attachment_bytes:
        out.append(Violation("piece.trop_grande", field,
                             "Fichier de type .png, .jpg, .jpeg ou .pdf. Taille maximum : 4 Mo"))
    expected = corridor.allowed_types.get(ext)
    if expected is None:
        out.append(Violation("piece.type_interdit", field,
                             "Fichier de type .png, .jpg, .jpeg ou .pdf. Taille maximum : 4 Mo"))
    elif attachment.size and attachment.media_type != expected:
        out.append(Violation("piece.contenu_incoherent", field,
                             f"Le contenu du fichier ne correspond pas à son extension {ext}."))
    return tuple(out)


def check_siret(value: str) -> Violations:
    v = _str("siret", value)
    if not _siret.is_valid(v):
        return (Violation("siret.invalide", "siret", "Le numéro SIRET est invalide."),)
    return OK


def check_iban(value: str) -> Violations:
    v = _str("iban", value)
    if not _iban.is_valid(v):
        return (Violation("iban.invalide", "iban", "L'IBAN est invalide."),)
    return OK


def check_bic(value: str) -> Violations:
    v = _str("bic", value)
    if not _bic.is_valid(v):
        return (Violation("bic.invalide", "bic", "Le BIC est invalide."),)
    return OK


def check_text(field: str, value: str | None, *, required: bool, code: str) -> Violations:
    """A free text (comment, motif): required non-blank if asked, bounded in length."""
    if value is None or not value.strip():
        return (Violation(f"{code}.requis", field, "Ce champ est obligatoire."),) if required else OK
    if not _encodable(value):
        # lone surrogates are not text: they cannot be hashed into the history nor sent by e-mail
        return (Violation(f"{code}.caracteres", field, "Le texte contient des caractères invalides."),)
    if len(value) > MAX_TEXT:
        return (Violation(f"{code}.trop_long", field, f"Texte trop long (maximum {MAX_TEXT} caractères)."),)
    return OK


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_support_contact(text: str) -> Violations:
    v = _str("contact_support", text)
    return check_text("contact_support", v, required=True, code="contact_support")


def check_numero(numero: str, corridor: Corridor = SAS) -> Violations:
    """A dossier number: the corridor's prefix and six digits (``FINSAS009250``)."""
    v = _str("numero", numero)
    rest = v[len(corridor.prefixe_numero):]
    if not (v.startswith(corridor.prefixe_numero) and len(rest) == 6 and rest.isascii() and rest.isdigit()):
        return (Violation("numero.format", "numero",
                          f"Le numéro de dossier doit être « {corridor.prefixe_numero} » suivi de 6 chiffres."),)
    return OK


def check_password(password: str, *, identifiant: str) -> Violations:
    pwd = _str("password", password)
    _str("identifiant", identifiant)
    out: list[Violation] = []
    if len(pwd) < 8:
        out.append(Violation("mot_de_passe.trop_court", "mot_de_passe", "8 caractères minimum."))
    return tuple(out)


# -- rules over a command ----------------------------------------------------------------------------
@attrs.frozen
class RuleContext:
    """What a rule may look at: the command, the subject before it (``None`` on creation), the corridor."""

    command: Any
    corridor: Corridor = SAS
    dossier: Dossier | None = None
    existing_request: str | None = None
    subject: Any = None


@attrs.frozen
class Rule:
    """A named rule: ``check`` returns the violations of one command in one context.

    ``scope`` is ``"dossier"`` when the rule looks only at the dossier (not at what the command
    carries): ``allowed_commands`` evaluates those, since they decide whether a trigger is possible
    at all right now.
    """

    name: str
    description: str
    check: Callable[[RuleContext], Violations] = attrs.field(repr=False)
    codes: tuple[str, ...] = ()
    scope: str = "command"


def _pieces(ctx: RuleContext, phase: Phase) -> Violations:
    pieces: Mapping[PieceKind, Attachment] = ctx.command.pieces
    out: list[Violation] = []
    for kind in ctx.corridor.pieces(phase):
        if kind not in pieces:
            out.append(Violation("piece.manquante", f"pieces.{kind.value}", f"Pièce obligatoire : « {kind.label} »."))
        else:
            out.extend(check_attachment(kind, pieces[kind], ctx.corridor))
    for kind in pieces:
        if kind not in ctx.corridor.pieces(phase):
            out.append(Violation("piece.non_attendue", f"pieces.{kind.value}",
                                 f"La pièce « {kind.label} » n'est pas demandée pour cette phase."))
    return tuple(out)


def _montant(ctx: RuleContext, phase: Phase) -> Violations:
    expected: Decimal = ctx.corridor.montant(phase)
    montant: Decimal = ctx.command.montant
    # is_finite first: comparing a signalling NaN raises decimal.InvalidOperation
    if not montant.is_finite() or montant != expected:
        return (Violation(f"montant.{phase.value}", "montant",
                          f"Le montant de la demande de {phase.value} est fixé à {expected} € (non modifiable)."),)
    return OK


def _controles(ctx: RuleContext) -> Mapping[Bloc, Controle]:
    assert ctx.dossier is not None
    return ctx.dossier.demande_courante.controles


def _fournisseur_eligible(ctx: RuleContext) -> Violations:
    f = ctx.command.fournisseur
    out = []
    if not f.enrole:
        out.append(Violation("fournisseur.non_enrole", "fournisseur.enrole",
                             "Le fournisseur n'est pas enrôlé sur le portail."))
    if not f.reference:
        out.append(Violation("fournisseur.non_reference", "fournisseur.reference",
                             "Le fournisseur n'est pas référencé Ségur auprès de l'ANS."))
    if ctx.command.actor.id != f.ans_id:
        out.append(Violation("fournisseur.acteur", "actor.id",
                             "La demande doit être déposée par le fournisseur lui-même."))
    return tuple(out)


def _demande_unique(ctx: RuleContext) -> Violations:
    if ctx.existing_request:
        return (Violation("demande.doublon", "fournisseur.ans_id",
                          f"Une demande de financement existe déjà ({ctx.existing_request}) : "
                          "un fournisseur SAS ne peut faire qu'une seule demande de financement."),)
    return OK


def _identite(ctx: RuleContext) -> Violations:
    return check_siret(ctx.command.fournisseur.siret)


def _banque(ctx: RuleContext) -> Violations:
    cb = ctx.command.coordonnees_bancaires
    return check_iban(cb.iban) + check_bic(cb.bic)


def _blocs_ok(ctx: RuleContext) -> Violations:
    return tuple(
        Violation("bloc.non_ok", f"controles.{b.value}", f"Le bloc « {b.label} » n'est pas en « Contrôle OK ».")
        for b, c in _controles(ctx).items() if c is not Controle.OK
    )


def _bloc_ko(ctx: RuleContext) -> Violations:
    if Controle.KO not in _controles(ctx).values():
        return (Violation("bloc.aucun_ko", "controles",
                          "Une demande de modification suppose au moins un bloc en « Contrôle KO »."),)
    return OK


def _piece_du_couloir(ctx: RuleContext) -> Violations:
    if ctx.command.piece not in ctx.corridor.pieces(Phase.SOLDE) + ctx.corridor.pieces(Phase.AVANCE):
        return (Violation("piece.inconnue", "piece", "Cette pièce n'appartient pas au couloir."),)
    return OK


def _complement_non_vide(ctx: RuleContext) -> Violations:
    if not ctx.command.pieces and ctx.command.contact_support is None:
        return (Violation("complement.vide", "pieces", "Le complément n'apporte ni pièce ni contact."),)
    return OK


def _piece_demandee(ctx: RuleContext) -> Violations:
    assert ctx.dossier is not None
    wanted = ctx.dossier.piece_demandee
    if wanted is not None and wanted not in ctx.command.pieces:
        return (Violation("piece.demandee_manquante", f"pieces.{wanted.value}",
                          f"La pièce demandée « {wanted.label} » doit être jointe."),)
    return OK


def _pieces_completees(ctx: RuleContext) -> Violations:
    known = set(ctx.corridor.pieces(Phase.SOLDE)) | set(ctx.corridor.pieces(Phase.AVANCE))
    out: list[Violation] = []
    for kind, att in ctx.command.pieces.items():
        if kind not in known:
            out.append(Violation("piece.non_attendue", f"pieces.{kind.value}", "Pièce inconnue du couloir."))
        out.extend(check_attachment(kind, att, ctx.corridor))
    return tuple(out)


def _contact_complete(ctx: RuleContext) -> Violations:
    c = ctx.command.contact_support
    return OK if c is None else check_support_contact(c)


def _text(attr: str, field: str, *, required: bool, code: str) -> Callable[[RuleContext], Violations]:
    return lambda ctx: check_text(field, getattr(ctx.command, attr), required=required, code=code)


def _todo(_ctx: RuleContext) -> Violations:
    return OK


def _rules(*rules: Rule) -> Mapping[str, Rule]:
    return MappingProxyType({r.name: r for r in rules})


#: Every named rule, by name. Machine definitions refer to these names as guards.
RULES: Mapping[str, Rule] = _rules(
    Rule("fournisseur_eligible", "Le fournisseur est enrôlé, référencé par l'ANS et dépose pour lui-même.",
         _fournisseur_eligible),
    Rule("demande_unique", "Un fournisseur ne fait qu'une seule demande de financement.", _demande_unique),
    Rule("identite_fournisseur", "Le SIRET du fournisseur est valide.", _identite),
    Rule("coordonnees_bancaires", "IBAN et BIC valides.", _banque),
    Rule("pieces_avance", "Les pièces de l'avance sont jointes et conformes.", lambda c: _pieces(c, Phase.AVANCE)),
    Rule("montant_avance", "Le montant de l'avance est celui du couloir.", lambda c: _montant(c, Phase.AVANCE)),
    Rule("pieces_solde", "Les pièces du solde sont jointes et conformes.", lambda c: _pieces(c, Phase.SOLDE)),
    Rule("montant_solde", "Le montant du solde est celui du couloir.", lambda c: _montant(c, Phase.SOLDE)),
    Rule("contact_support", "Le contact de support est renseigné.",
         lambda c: check_support_contact(c.command.contact_support)),
    Rule("commentaire_borne", "Le commentaire éventuel est de longueur raisonnable.",
         _text("commentaire", "commentaire", required=False, code="commentaire")),
    Rule("commentaire_requis", "Un commentaire est obligatoire.",
         _text("commentaire", "commentaire", required=True, code="commentaire")),
    Rule("motif_requis", "Un motif de rejet est obligatoire.", _text("motif", "motif", required=True, code="motif")),
    Rule("blocs_tous_ok", "Tous les blocs sont en « Contrôle OK ».", _blocs_ok, scope="dossier"),
    Rule("bloc_ko", "Au moins un bloc est en « Contrôle KO ».", _bloc_ko, scope="dossier"),
    Rule("piece_du_couloir", "La pièce demandée appartient au couloir.", _piece_du_couloir),
    Rule("complement_non_vide", "Le complément apporte au moins une pièce ou un contact.", _complement_non_vide),
    Rule("piece_demandee_fournie", "La pièce demandée par le gestionnaire est jointe.", _piece_demandee),
    Rule("pieces_completees", "Les pièces apportées sont conformes.", _pieces_completees),
    Rule("contact_support_complete", "Le contact de support apporté est valide.", _contact_complete),
    Rule("identifiant_compte", "L'identifiant du compte est renseigné.", _todo),
    Rule("politique_mot_de_passe", "Le nouveau mot de passe respecte la politique du portail.", _todo),
    Rule("question_secrete", "La question et la réponse secrètes sont renseignées.", _todo),
    Rule("reponse_secrete", "La réponse secrète est exacte.", _todo),
)


def run(names: Iterable[str], ctx: RuleContext, *, scope: str | None = None) -> Violations:
    """Run every named rule (of ``scope``, if given) and gather all violations in declaration order."""
    out: list[Violation] = []
    for name in names:
        rule = RULES[name]
        if scope is None or rule.scope == scope:
            out.extend(rule.check(ctx))
    return tuple(out)


def _check_guards_known() -> None:
    for definition in DEFINITIONS.values():
        unknown = {g for t in definition.transitions for g in t.guards} - set(RULES)
        if unknown:
            raise DefinitionError(definition.name, [f"règle inconnue : {g}" for g in sorted(unknown)])


_check_guards_known()


def catalogue_markdown() -> str:
    """The rules catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    from .states import DEFINITIONS as _defs

    lines = ["# Catalogue des règles", "", "| règle | description | transitions |", "|---|---|---|"]
    for rule in RULES.values():
        used = sorted({f"{d.name}.{t.trigger}" for d in _defs.values() for t in d.transitions if rule.name in t.guards})
        lines.append(f"| `{rule.name}` | {rule.description} | {', '.join(used)} |")
    return "\n".join(lines) + "\n"
