"""Fidelity to the two ASP guides (issue 17): the guides' own strings, compared exactly.

Every quoted string below is copied from ../shared/seeds/guide-demande-d-avance-sas.txt or
guide-demande-de-solde-sas.txt (the line is given), so a change of wording in the library fails here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules
from segur_workflow.recap import recapitulatif

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
AVANCE_GUIDE = SEEDS / "guide-demande-d-avance-sas.txt"
SOLDE_GUIDE = SEEDS / "guide-demande-de-solde-sas.txt"


def _in_guide(path: Path, text: str) -> None:
    """When the seeds are next to the checkout, the quoted text really is the guide's."""
    if path.exists():
        flat = " ".join(path.read_text(encoding="utf-8").split())
        assert " ".join(text.split()) in flat, text


def _lines(dossier: sw.Dossier, phase: sw.Phase, bloc: str) -> dict[str, str]:
    view = next(p for p in recapitulatif(dossier).phases if p.phase is phase)
    return {ligne.libelle: ligne.valeur for ligne in next(b for b in view.blocs if b.titre == bloc).lignes}


# -- labels (point 3) ----------------------------------------------------------------------------------
def test_amount_label_has_the_guides_straight_apostrophe() -> None:
    label = "Montant de l'avance"  # advance guide, l. 240 and 296
    _in_guide(AVANCE_GUIDE, f"4 - {label}")
    dossier = ex.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    assert _lines(dossier, sw.Phase.AVANCE, "Informations de la demande")[label] == "30000"
    assert "’" not in sw.Phase.AVANCE.montant_label


def test_support_contact_field_has_its_full_label() -> None:
    label = ("Coordonnées de contact de support ou lien vers la plateforme de support à destination des "
             "Régulateurs et des Effecteurs")  # balance guide, l. 131-137
    _in_guide(SOLDE_GUIDE, label)
    assert label == sw.vocabulary.LIBELLE_CONTACT_SUPPORT
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    assert _lines(dossier, sw.Phase.SOLDE, "Informations de la demande")[label] == (
        "support@le-select.example — 01 23 45 67 89")
    (v,) = rules.check_support_contact(" ")
    assert v.message == f"Le champ « {label} » est obligatoire."


def test_password_policy_is_the_portals_text() -> None:
    sentence = ("Le mot de passe doit être différent de l'identifiant et comporter 8 caractères minimum dont 1 "
                "chiffre et 1 caractère spécial minimum (exemples: .,;?!:%#).")  # advance guide, l. 96
    accents = "Les caractères accentués ne sont pas autorisés."  # l. 97
    _in_guide(AVANCE_GUIDE, sentence)
    _in_guide(AVANCE_GUIDE, accents)
    assert rules.POLITIQUE_MOT_DE_PASSE == sentence
    assert rules.POLITIQUE_MOT_DE_PASSE_ACCENTS == accents
    messages = {v.code: v.message for v in rules.check_password("abcdéfgh", identifiant="login")}
    assert messages["mot_de_passe.caractere_special"] == (
        "Le mot de passe doit comporter 1 caractère spécial minimum (exemples: .,;?!:%#).")
    assert messages["mot_de_passe.chiffre"] == "Le mot de passe doit comporter 1 chiffre minimum."
    assert messages["mot_de_passe.accents"] == accents
    assert "exemples :" not in " ".join(s.message for s in rules.CODES.values())
    assert sentence in rules.RULES["politique_mot_de_passe"].description


def test_badges_and_bloc_titles_are_the_guides() -> None:
    for text in ("Informations de la demande Contrôle OK", "Coordonnées bancaires Contrôle OK",
                 "Pièces justificatives A instruire"):
        _in_guide(AVANCE_GUIDE, text)
    assert [b.label for b in sw.Bloc] == ["Informations de la demande", "Coordonnées bancaires",
                                          "Pièces justificatives"]
    assert sw.Controle.OK.label == "Contrôle OK"
    assert sw.Controle.A_INSTRUIRE.label == "A instruire"


@pytest.mark.parametrize("status", list(sw.Status))
def test_refusals_name_statuses_by_their_label_never_by_id(status: sw.Status) -> None:
    dossier = ex.dossier_at(status)
    trigger = "deposer_avance" if status is not sw.Status.AVANCE_EN_INSTRUCTION else "completer"
    command = (ex.deposer_avance() if trigger == "deposer_avance"
               else sw.Completer(ex.FOURNISSEUR_ACTOR, pieces={sw.PieceKind.PV_VSR: ex.attachment(sw.PieceKind.PV_VSR)}))
    with pytest.raises(sw.WorkflowError) as err:
        sw.handle(dossier, command, now=dossier.history[-1].at + timedelta(hours=1))
    message = err.value.message
    assert status.value not in message
    assert "None" not in message
    if isinstance(err.value, sw.TransitionNotAllowed):
        assert f"« {status.label} » ({status.phase.label})" in message


def test_no_none_in_messages_of_errors_without_a_status() -> None:
    assert "None" not in sw.TransitionNotAllowed(None, "premiere_connexion", ()).message
    assert "None" not in sw.ConcurrencyConflict("FINSAS000001", 3).message
    assert "None" not in sw.InvalidInput("motif", "un texte", None).message
    denied = sw.PermissionDenied("fournisseur", "tndSAS0032", "decider", "réservée à : Gestionnaire")
    assert "Fournisseur SAS « tndSAS0032 »" in denied.message


# -- piece requests stay in their phase (point 7) ----------------------------------------------------------
def test_balance_instruction_cannot_ask_for_an_advance_piece() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    now = dossier.history[-1].at + timedelta(hours=1)
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.DemanderPiece(ex.GESTIONNAIRE, sw.PieceKind.PV_MISE_EN_SERVICE, "Merci."), now=now)
    (v,) = err.value.violations
    assert v.code == "piece.autre_phase"
    assert "« Procès-verbal de mise en service »" in v.message
    assert sw.handle(dossier, sw.DemanderPiece(ex.GESTIONNAIRE, sw.PieceKind.PV_VSR, "Merci."), now=now)


def test_a_complement_cannot_bring_an_advance_piece() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_ATTENTE_PIECE)
    now = dossier.history[-1].at + timedelta(hours=1)
    kind = sw.PieceKind.ATTESTATION_PROCURATION
    command = sw.Completer(ex.FOURNISSEUR_ACTOR, pieces={sw.PieceKind.PV_VSR: ex.attachment(sw.PieceKind.PV_VSR),
                                                         kind: ex.attachment(kind)})
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, command, now=now)
    assert err.value.codes == {"piece.autre_phase"}
    assert dossier.solde is not None
    assert kind not in dossier.solde.pieces
