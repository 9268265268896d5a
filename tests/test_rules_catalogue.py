"""The generated rules catalogue cannot drift, and every rule declares the codes it produces."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import attrs

import segur_workflow as sw
from segur_workflow import compte, rules
from segur_workflow import examples as ex
from segur_workflow.docgen import rules_catalogue
from segur_workflow.states import DEFINITIONS

CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "generated" / "rules.md"


def test_committed_catalogue_is_up_to_date() -> None:
    # Regenerate with: python -m segur_workflow.docgen
    assert CATALOGUE.read_text(encoding="utf-8") == rules_catalogue()


def test_catalogue_lists_every_code_and_every_rule() -> None:
    text = rules_catalogue()
    for code in rules.CODES:
        assert f"| `{code}` |" in text
    for name in rules.RULES:
        assert f"| `{name}` |" in text
    assert "Fichier de type .png, .jpg, .jpeg ou .pdf. Taille maximum : 4 Mo" in text


def _engine_codes() -> set[str]:
    # the codes the engines check themselves: their bindings' own rules (checks and refusals)
    from segur_workflow._machines import BINDINGS

    return {c for b in BINDINGS.values() for c in b.own_codes}


def test_every_code_belongs_to_a_rule_or_the_engine() -> None:
    declared = {c for r in rules.RULES.values() for c in r.codes} | _engine_codes()
    assert declared == set(rules.CODES)


def test_every_guard_is_a_rule_and_every_rule_is_used() -> None:
    guards = {g for d in DEFINITIONS.values() for t in d.transitions for g in t.guards}
    assert guards == set(rules.RULES)


def test_messages_are_french_sentences() -> None:
    for spec in rules.CODES.values():
        assert spec.message[0].isupper() or spec.message[0].isdigit() or spec.message[0] == "{", spec.code
        assert spec.code.count(".") == 1
        assert spec.code == spec.code.lower()


def _bad_contexts() -> list[rules.RuleContext]:
    """Contexts that break every rule in as many ways as we can think of."""
    bad_pieces = {
        sw.PieceKind.PV_MISE_EN_SERVICE: sw.Attachment.from_bytes("../pv.exe.pdf", b"MZ" + ex.pdf_bytes()[:-7]),
        sw.PieceKind.PV_VSR: attrs.evolve(sw.Attachment.from_bytes("\x00" * 300 + ".gif", b""), size=10**9),
    }
    fournisseur = attrs.evolve(ex.FOURNISSEUR, ans_id="?", siret="1", enrole=False, reference=False)
    avance = sw.DeposerAvance(sw.Actor(sw.Role.FOURNISSEUR, "autre"), fournisseur,
                              sw.CoordonneesBancaires("FR7630006000011234567890188", "X", "t", "d"), bad_pieces,
                              Decimal("NaN"))
    avance2 = attrs.evolve(avance, coordonnees_bancaires=sw.CoordonneesBancaires(
        "DE89370400440532013000", "AGRIFRPP", "t", "d"), montant=Decimal(1))
    more_pieces = {
        sw.PieceKind.PV_MISE_EN_SERVICE: sw.Attachment.from_bytes(".pdf", b""),
        sw.PieceKind.ATTESTATION_PROCURATION: sw.Attachment.from_bytes("pv.pdf", ex.png_bytes()),
        sw.PieceKind.JUSTIFICATIF_TRANSMISSION: sw.Attachment.from_bytes("CON .pdf", ex.pdf_bytes()),  # device, space
    }
    ids = [("XX89370400440532013000", "39431067600018"), ("FR12", "39431067600017"),
           ("FR5430006000011234567890100", "39431067600017"), ("BE41539007547035", "39431067600017")]
    avances = [attrs.evolve(avance, coordonnees_bancaires=sw.CoordonneesBancaires(iban, "AGRIFRPP", "t", "d"),
                            fournisseur=attrs.evolve(ex.FOURNISSEUR, siret=siret), pieces=more_pieces)
               for iban, siret in ids]
    solde = sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, bad_pieces, "javascript:\ud800" + "x" * 600, Decimal(2))
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_ATTENTE_PIECE)
    instr = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    g = ex.GESTIONNAIRE
    account = compte.handle_compte(None, compte.CreerCompte(sw.Actor(sw.Role.SYSTEME, "p"), "login", "Provisoire1!",
                                                            bytes(16), email="login@example.org"), now=ex.T0).compte
    fournisseur_compte = sw.Actor(sw.Role.FOURNISSEUR, "login")
    return [
        *(rules.RuleContext(command=a) for a in avances),
        rules.RuleContext(command=attrs.evolve(solde, contact_support="rien"), dossier=dossier),
        rules.RuleContext(command=compte.ChangerMotDePasse(fournisseur_compte, "Provisoire1!", "Provisoire1!",
                                                           "Provisoire1!", bytes(16)), subject=account),
        rules.RuleContext(command=compte.ChangerMotDePasse(fournisseur_compte, "x", "é\x00" + "x" * 130,
                                                           "", bytes(16)), subject=account),
        rules.RuleContext(command=compte.DefinirQuestionSecrete(fournisseur_compte, "q" * 300, "r" * 300, bytes(16)),
                          subject=account),
        rules.RuleContext(command=avance),
        rules.RuleContext(command=avance2),
        rules.RuleContext(command=solde, dossier=dossier),
        rules.RuleContext(command=sw.Completer(ex.owner(dossier)), dossier=dossier),
        rules.RuleContext(command=sw.Completer(ex.owner(dossier), bad_pieces, contact_support=""), dossier=dossier),
        rules.RuleContext(command=sw.Rejeter(g, " "), dossier=instr),
        rules.RuleContext(command=sw.Rejeter(g, "x" * 5000), dossier=instr),
        rules.RuleContext(command=sw.DemanderModification(g, ""), dossier=instr),
        rules.RuleContext(command=sw.Rejeter(g, "motif \ud800"), dossier=instr),  # lone surrogate
        rules.RuleContext(command=sw.DemanderModification(g, "\udc00"), dossier=instr),
        rules.RuleContext(command=sw.DemanderPiece(g, sw.PieceKind.PV_VSR, "x" * 5000),
                          dossier=instr, corridor=attrs.evolve(sw.SAS, pieces_solde=(), pieces_avance=())),
        rules.RuleContext(command=sw.ControlerBloc(g, sw.Bloc.INFORMATIONS, sw.Controle.KO, "x" * 5000), dossier=instr),
        rules.RuleContext(command=sw.DemanderPiece(g, sw.PieceKind.PV_MISE_EN_SERVICE, "x"), dossier=instr),
        rules.RuleContext(command=sw.Reaffecter(g, "  "), dossier=instr),
        rules.RuleContext(command=sw.Reaffecter(g, "c.martin"), dossier=attrs.evolve(instr, gestionnaire="c.martin")),
        rules.RuleContext(command=compte.CreerCompte(sw.Actor(sw.Role.SYSTEME, "p"), "?", "", bytes(16), email="@")),
        rules.RuleContext(command=compte.OublierIdentifiant(sw.Actor(sw.Role.SYSTEME, "p"), "x@example.org"),
                          subject=account),
        rules.RuleContext(command=compte.ChangerMotDePasse(sw.Actor(sw.Role.FOURNISSEUR, "login"), "x", "LOGIN",
                                                           "y", bytes(16)), subject=account),
        rules.RuleContext(command=compte.PremiereConnexion(sw.Actor(sw.Role.FOURNISSEUR, "login"), "x"),
                          subject=account),
        rules.RuleContext(command=compte.DefinirQuestionSecrete(sw.Actor(sw.Role.FOURNISSEUR, "login"), "", "",
                                                                bytes(16)), subject=account),
        rules.RuleContext(command=compte.OublierMotDePasse(sw.Actor(sw.Role.FOURNISSEUR, "login"), "r", "",
                                                           bytes(16)), subject=account),
    ]


def test_rules_produce_only_their_declared_codes() -> None:
    produced: set[str] = set()
    for ctx in _bad_contexts():
        for rule in rules.RULES.values():
            try:
                got = rule.check(ctx)
            except (AttributeError, AssertionError, TypeError):
                continue  # this context is not one the rule is meant for
            assert {v.code for v in got} <= set(rule.codes), rule.name
            for v in got:
                assert v.code in rules.CODES
            produced |= {v.code for v in got}
    # together the bad contexts reach every code the rules declare
    assert set(rules.CODES) - _engine_codes() == produced


def test_engine_codes_really_come_from_the_engine() -> None:
    import pytest

    with pytest.raises(sw.RuleViolations) as err:
        sw.start(ex.deposer_avance(), numero="FINSAS1", now=ex.T0)
    assert err.value.codes == {"numero.format"}
    dossier = ex.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.Rejeter(ex.GESTIONNAIRE, "motif"), now=ex.T0 - timedelta(days=1))
    assert err.value.codes == {"date.anterieure"}
