"""The guards of the dossier machine (deposits, instruction, complements), over a :class:`RuleContext`."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import Violation
from ..model import Attachment
from ..vocabulary import Bloc, Controle, Phase, PieceKind
from ._amounts import check_montant
from ._codes import OK, Violations, violation
from ._files import FILE_CODES, check_attachment
from ._framework import Rule, RuleContext
from ._identifiers import check_coordonnees, check_reference_ans, check_siret
from ._text_contact import check_support_contact, check_text

__all__ = ["DOSSIER_RULES"]


def _pieces(ctx: RuleContext, phase: Phase) -> Violations:
    pieces: Mapping[PieceKind, Attachment] = ctx.command.pieces
    wanted = ctx.corridor.pieces(phase)
    out: list[Violation] = []
    for kind in wanted:
        if kind not in pieces:
            out.append(violation("piece.manquante", piece=kind.value, titre=kind.label))
        else:
            out.extend(check_attachment(kind, pieces[kind], ctx.corridor))
    for kind in pieces:
        if kind not in wanted:
            out.append(violation("piece.non_attendue", piece=kind.value, titre=kind.label))
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
        out.append(violation("fournisseur.non_enrole"))
    if not f.reference:
        out.append(violation("fournisseur.non_reference"))
    if ctx.command.actor.id != f.ans_id:
        out.append(violation("fournisseur.acteur"))
    return tuple(out)


def _identite(ctx: RuleContext) -> Violations:
    f = ctx.command.fournisseur
    return check_siret(f.siret) + check_reference_ans(f.ans_id)


def _banque(ctx: RuleContext) -> Violations:
    cb = ctx.command.coordonnees_bancaires
    return check_coordonnees(cb.iban, cb.bic)


def _blocs_ok(ctx: RuleContext) -> Violations:
    return tuple(violation("bloc.non_ok", bloc=b.value, libelle=b.label)
                 for b, c in _controles(ctx).items() if c is not Controle.OK)


def _bloc_ko(ctx: RuleContext) -> Violations:
    return OK if Controle.KO in _controles(ctx).values() else (violation("bloc.aucun_ko"),)


def _phase_courante(ctx: RuleContext) -> Phase:
    # a piece request and its complement belong to the phase under instruction (the balance, in SAS)
    return ctx.dossier.phase if ctx.dossier is not None else Phase.SOLDE


def _piece_hors_phase(kind: PieceKind, ctx: RuleContext) -> Violations:
    """Why ``kind`` cannot be asked for or brought in the current phase (empty: it can)."""
    phase = _phase_courante(ctx)
    if kind in ctx.corridor.pieces(phase):
        return OK
    others = [p for p in Phase if p is not phase and kind in ctx.corridor.pieces(p)]
    return (violation("piece.autre_phase", titre=kind.label),) if others else (violation("piece.inconnue"),)


def _piece_de_la_phase(ctx: RuleContext) -> Violations:
    return _piece_hors_phase(ctx.command.piece, ctx)


def _complement_non_vide(ctx: RuleContext) -> Violations:
    if not ctx.command.pieces and ctx.command.contact_support is None:
        return (violation("complement.vide"),)
    return OK


def _piece_demandee(ctx: RuleContext) -> Violations:
    assert ctx.dossier is not None
    wanted = ctx.dossier.piece_demandee
    if wanted is not None and wanted not in ctx.command.pieces:
        return (violation("piece.demandee_manquante", piece=wanted.value, titre=wanted.label),)
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
        return (violation("gestionnaire.requis"),)
    if ctx.dossier is not None and wanted == ctx.dossier.gestionnaire:
        return (violation("gestionnaire.inchange"),)
    return OK


def _text(attr: str, *, required: bool) -> Callable[[RuleContext], Violations]:
    def check(ctx: RuleContext) -> Violations:
        return check_text(attr, getattr(ctx.command, attr), required=required, code=attr)

    return check


#: The dossier machine's named rules, in catalogue order.
DOSSIER_RULES: tuple[Rule, ...] = (
    Rule("fournisseur_eligible", "Le fournisseur est enrôlé, référencé par l'ANS et dépose pour lui-même.",
         _fournisseur_eligible, ("fournisseur.non_enrole", "fournisseur.non_reference", "fournisseur.acteur")),
    Rule("identite_fournisseur", "SIRET et N° unique de référencement ANS du fournisseur valides.", _identite,
         ("siret.format", "siret.cle", "reference_ans.format")),
    Rule("coordonnees_bancaires", "IBAN (ISO 13616, clé RIB), BIC (ISO 9362) valides et de même pays.", _banque,
         ("iban.format", "iban.pays", "iban.cle", "iban.cle_rib", "iban.cle_nationale", "bic.format",
          "bic.pays_incoherent")),
    Rule("pieces_avance", "Les pièces de l'avance sont jointes et conformes.", lambda c: _pieces(c, Phase.AVANCE),
         ("piece.manquante", "piece.non_attendue", *FILE_CODES)),
    Rule("montant_avance", "Le montant de l'avance est celui du couloir.", lambda c: _montant(c, Phase.AVANCE),
         ("montant.avance", "montant.invalide")),
    Rule("pieces_solde", "Les pièces du solde sont jointes et conformes.", lambda c: _pieces(c, Phase.SOLDE),
         ("piece.manquante", "piece.non_attendue", *FILE_CODES)),
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
         ("piece.autre_phase", "piece.inconnue", *FILE_CODES)),
    Rule("contact_support_complete", "Le contact de support apporté, s'il y en a un, est valide.", _contact_complete,
         ("contact_support.requis", "contact_support.trop_long", "contact_support.caracteres",
          "contact_support.lien_dangereux", "contact_support.introuvable")),
    Rule("gestionnaire_change", "Le dossier est confié à un gestionnaire nommé, autre que l'actuel.",
         _gestionnaire_change, ("gestionnaire.requis", "gestionnaire.inchange")),
)
