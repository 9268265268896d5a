"""Every outcome of every guard rule, produced through the public API (start, handle, handle_compte).

``pytest --segur-coverage`` counts rule outcomes only when an engine runs the rule on a command;
rule tests calling ``check_*`` directly do not count. Each case here sends one command through an
engine and asserts, with an observation recorder, that the named rule gave the named outcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import compte as c
from segur_workflow import examples, rules
from segur_workflow.observation import observing
from segur_workflow.testing.coverage import OK, Recorder, build_report
from segur_workflow.testing.strategies import iban_check_digits, rib_key
from segur_workflow.vocabulary import Phase, PieceKind

PDF = examples.pdf_bytes()
LATER = timedelta(days=1)


def bad_attachment(code: str, kind: PieceKind) -> sw.Attachment:
    """An attachment the file rule refuses with ``code`` (and with it alone)."""
    good = examples.attachment(kind)
    made: dict[str, Callable[[], sw.Attachment]] = {
        "piece.vide": lambda: sw.Attachment.from_bytes("vide.pdf", b""),
        "piece.trop_grande": lambda: attrs.evolve(good, size=sw.SAS.max_attachment_bytes + 1),
        "piece.type_interdit": lambda: sw.Attachment.from_bytes("piece.docx", PDF),
        "piece.contenu_incoherent": lambda: sw.Attachment.from_bytes("piece.png", PDF),
        "piece.incomplet": lambda: sw.Attachment.from_bytes("piece.pdf", PDF[:-30]),
        "piece.contenu_suspect": lambda: sw.Attachment.from_bytes(
            "piece.pdf", PDF.replace(b"%%EOF", b"/JavaScript (app.alert(1))\n%%EOF")),
        "piece.nom_vide": lambda: sw.Attachment.from_bytes(".pdf", PDF),
        "piece.nom_trop_long": lambda: sw.Attachment.from_bytes("a" * 300 + ".pdf", PDF),
        "piece.nom_caracteres": lambda: sw.Attachment.from_bytes("pv|signé.pdf", PDF),
        "piece.double_extension": lambda: sw.Attachment.from_bytes("facture.exe.pdf", PDF),
        "piece.nom_reserve": lambda: sw.Attachment.from_bytes("CON.pdf", PDF),
        "piece.nom_espace": lambda: sw.Attachment.from_bytes("facture .pdf", PDF),
    }
    return made[code]()


def recorded(action: Callable[[], object]) -> Recorder:
    """Run ``action`` (expected to be refused) under a fresh recorder."""
    with observing(Recorder()) as recorder, contextlib.suppress(sw.RuleViolations):
        action()
    return recorder


def at(dossier: sw.Dossier) -> datetime:
    return dossier.history[-1].at + LATER


# -- the dossier machine ----------------------------------------------------------------------------------------------
def deposit_with(pieces: dict[PieceKind, sw.Attachment]) -> Callable[[], object]:
    command = attrs.evolve(examples.deposer_avance(), pieces=pieces)
    return lambda: sw.start(command, numero=examples.NUMERO, now=examples.T0)


def solde_with(pieces: dict[PieceKind, sw.Attachment], contact: str = "support@le-select.example"
               ) -> Callable[[], object]:
    dossier = examples.dossier_at(sw.Status.AVANCE_DECIDEE)
    command = sw.DeposerSolde(examples.owner(dossier), pieces, contact, sw.SAS.montant_solde)
    return lambda: sw.handle(dossier, command, now=dossier.history[-1].at + LATER)


def complement_with(pieces: dict[PieceKind, sw.Attachment], contact: str | None = None) -> Callable[[], object]:
    dossier = examples.dossier_at(sw.Status.SOLDE_A_MODIFIER)
    command = sw.Completer(examples.owner(dossier), pieces=pieces, contact_support=contact)
    return lambda: sw.handle(dossier, command, now=dossier.history[-1].at + LATER)


FILE_CODES = rules.RULES["pieces_completees"].codes[2:]  # the file rule's codes (after the two phase codes)


@pytest.mark.parametrize("code", FILE_CODES)
@pytest.mark.parametrize(("rule", "phase"), [("pieces_avance", Phase.AVANCE), ("pieces_solde", Phase.SOLDE),
                                            ("pieces_completees", Phase.SOLDE)])
def test_each_file_refusal_of_each_piece_rule(rule: str, phase: Phase, code: str) -> None:
    pieces = examples.pieces(phase)
    kind = next(iter(pieces))
    pieces[kind] = bad_attachment(code, kind)
    action = {"pieces_avance": deposit_with, "pieces_solde": solde_with,
              "pieces_completees": complement_with}[rule](pieces)
    assert recorded(action).outcomes[(rule, code)] == 1


@pytest.mark.parametrize(("rule", "action"), [
    ("pieces_avance", lambda: deposit_with({**examples.pieces(Phase.AVANCE), **examples.pieces(Phase.SOLDE)})),
    ("pieces_solde", lambda: solde_with({**examples.pieces(Phase.SOLDE), **examples.pieces(Phase.AVANCE)})),
])
def test_a_piece_of_the_other_phase_is_not_expected(rule: str, action: Callable[[], Callable[[], object]]) -> None:
    assert recorded(action()).outcomes[(rule, "piece.non_attendue")] >= 1


def test_missing_pieces_of_the_solde() -> None:
    assert recorded(solde_with({})).outcomes[("pieces_solde", "piece.manquante")] == 1


def iban_with_bad_rib_key() -> str:
    banque, guichet, compte = "30004", "00001", "00012345678"
    key = f"{(int(rib_key(banque, guichet, compte)) + 1) % 97:02d}"
    bban = banque + guichet + compte + key
    return "FR" + iban_check_digits("FR", bban) + bban


@pytest.mark.parametrize(("iban", "code"), [
    (iban_with_bad_rib_key(), "iban.cle_rib"),
    ("US64SVBKUS6S3300958879", "iban.pays"),  # the United States do not use IBANs
])
def test_bank_details_refused_at_deposit(iban: str, code: str) -> None:
    command = attrs.evolve(examples.deposer_avance(),
                           coordonnees_bancaires=attrs.evolve(examples.COORDONNEES, iban=iban))
    rec = recorded(lambda: sw.start(command, numero=examples.NUMERO, now=examples.T0))
    assert rec.outcomes[("coordonnees_bancaires", code)] == 1


def test_support_contact_with_a_control_character() -> None:
    # A C0 control is refused when the command is built (InvalidInput); a private-use character reaches the rule.
    pieces = examples.pieces(Phase.SOLDE)
    with pytest.raises(sw.InvalidInput):
        sw.DeposerSolde(examples.GESTIONNAIRE, pieces, "support@le-select.example\x07", sw.SAS.montant_solde)
    rec = recorded(solde_with(pieces, "support@le-select.example\ue000"))
    assert rec.outcomes[("contact_support", "contact_support.caracteres")] == 1


@pytest.mark.parametrize(("contact", "code"), [("   ", "contact_support.requis"),
                                               ("support@le-select.example\ue000", "contact_support.caracteres")])
def test_support_contact_brought_by_a_complement(contact: str, code: str) -> None:
    assert recorded(complement_with({}, contact)).outcomes[("contact_support_complete", code)] == 1


def test_an_empty_complement() -> None:
    assert recorded(complement_with({})).outcomes[("complement_non_vide", "complement.vide")] == 1


#: A corridor of the public API (``sw.Corridor``) without the transmission piece: a host's own corridor.
PETIT = attrs.evolve(sw.SAS, code="PETIT", prefixe_numero="FINPET",
                     pieces_avance=(PieceKind.PV_MISE_EN_SERVICE, PieceKind.ATTESTATION_PROCURATION))


def test_pieces_foreign_to_the_corridor() -> None:
    # demander_piece and completer name a PieceKind this corridor does not have
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION, numero="FINPET000001", corridor=PETIT)
    hors = PieceKind.JUSTIFICATIF_TRANSMISSION
    rec = recorded(lambda: sw.handle(dossier, sw.DemanderPiece(examples.GESTIONNAIRE, hors, "La pièce, svp."),
                                     now=dossier.history[-1].at + LATER, corridor=PETIT))
    assert rec.outcomes[("piece_de_la_phase", "piece.inconnue")] == 1
    a_modifier = examples.dossier_at(sw.Status.SOLDE_A_MODIFIER, numero="FINPET000002", corridor=PETIT)
    command = sw.Completer(examples.owner(a_modifier), pieces={hors: examples.attachment(hors)})
    rec = recorded(lambda: sw.handle(a_modifier, command, now=a_modifier.history[-1].at + LATER, corridor=PETIT))
    assert rec.outcomes[("pieces_completees", "piece.inconnue")] == 1


# -- the account machine -----------------------------------------------------------------------------------------------
T0 = examples.T0
LOGIN = "test.ecomplementaire"
USER = sw.Actor(sw.Role.FOURNISSEUR, LOGIN)
PORTAIL = sw.Actor(sw.Role.SYSTEME, "portail")
SEL = bytes(range(16))
PROVISOIRE = "Provisoire-2023"
NOUVEAU = "Nouveau.mdp1"


def compte_at(steps: int) -> c.Compte:
    """The account after creation and ``steps`` commands of the first-login path (3: active)."""
    creation = c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL, email="contact@le-select.example")
    compte = c.handle_compte(None, creation, now=T0).compte
    path = [c.PremiereConnexion(USER, PROVISOIRE), c.ChangerMotDePasse(USER, PROVISOIRE, NOUVEAU, NOUVEAU, SEL),
            c.DefinirQuestionSecrete(USER, "Ville de naissance ?", "Antony", SEL)]
    for i, command in enumerate(path[:steps], start=1):
        compte = c.handle_compte(compte, command, now=T0 + timedelta(hours=i)).compte
    return compte


def account(steps: int, command: sw.Command) -> Callable[[], object]:
    compte = compte_at(steps)
    return lambda: c.handle_compte(compte, command, now=T0 + timedelta(days=1))


@pytest.mark.parametrize(("rule", "code", "steps", "command"), [
    ("politique_mot_de_passe", "mot_de_passe.trop_long", 1,
     c.ChangerMotDePasse(USER, PROVISOIRE, "Aa1." + "x" * 130, "Aa1." + "x" * 130, SEL)),
    ("politique_mot_de_passe", "mot_de_passe.caracteres", 1,
     c.ChangerMotDePasse(USER, PROVISOIRE, "Nouveau.mdp1\x07", "Nouveau.mdp1\x07", SEL)),
    ("question_secrete", "question_secrete.trop_longue", 2, c.DefinirQuestionSecrete(USER, "q" * 201, "Antony", SEL)),
    ("question_secrete", "reponse_secrete.requise", 2, c.DefinirQuestionSecrete(USER, "Ville ?", "  ", SEL)),
    ("reponse_secrete", "mot_de_passe.requis", 3, c.OublierMotDePasse(USER, "Antony", "", SEL)),
])
def test_account_refusals(rule: str, code: str, steps: int, command: sw.Command) -> None:
    assert recorded(account(steps, command)).outcomes[(rule, code)] == 1


@pytest.mark.parametrize("steps", [2, 3])
def test_the_portal_closes_an_account_at_any_step(steps: int) -> None:
    with observing(Recorder()) as rec:
        closed = c.handle_compte(compte_at(steps), c.CloturerCompte(PORTAIL), now=T0 + timedelta(days=1)).compte
    assert closed.status is sw.CompteStatus.CLOTURE
    assert sum(n for (m, (_s, t, _d)), n in rec.transitions.items() if m == "compte" and t == "cloturer_compte") == 1


# -- the recorder itself -----------------------------------------------------------------------------------------------
def test_an_accepted_command_records_its_edge_its_pair_and_every_rule_passed() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    with observing(Recorder()) as rec:
        sw.handle(dossier, sw.Rejeter(examples.GESTIONNAIRE, "Non conforme."), now=at(dossier))
    edge = ("avance_en_instruction", "rejeter", "avance_rejetee")
    assert rec.transitions == {("dossier", edge): 1}
    assert rec.pairs == {("dossier", (("__initial__", "deposer_avance", "avance_en_instruction"), edge)): 1}
    assert rec.outcomes == {("motif_requis", OK): 1}
    report = build_report(rec)
    (dossier_report,) = [m for m in report.machines if m.info.name == "dossier"]
    assert dossier_report.transitions.covered == 1
    assert edge not in dossier_report.transitions.missing
