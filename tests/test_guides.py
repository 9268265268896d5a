"""Fidelity to the two ASP guides (issue 17): the guides' own strings, compared exactly.

Every quoted string below is copied from ../shared/seeds/guide-demande-d-avance-sas.txt or
guide-demande-de-solde-sas.txt (the line is given), so a change of wording in the library fails here.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
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
    assert sentence == rules.POLITIQUE_MOT_DE_PASSE
    assert accents == rules.POLITIQUE_MOT_DE_PASSE_ACCENTS
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
    vsr = sw.PieceKind.PV_VSR
    command = (ex.deposer_avance() if trigger == "deposer_avance"
               else sw.Completer(ex.FOURNISSEUR_ACTOR, pieces={vsr: ex.attachment(vsr)}))
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


# -- the deposit day (point 1) ---------------------------------------------------------------------------
def test_consultation_screen_of_the_deposit_day_is_the_guides() -> None:
    # advance guide, l. 282-299: the screen after the deposit of FINSAS009250 on 23/05/2023
    outcome = sw.start(ex.deposer_avance(), numero="FINSAS009250", now=ex.T0)
    recap = recapitulatif(outcome.dossier)
    assert [(ligne.libelle, ligne.valeur) for ligne in recap.lignes()] == [
        ("N° unique de référencement (ANS)", "tndSAS0032"),
        ("SIRET", "39431067600017"),
        ("Dénomination sociale", "LE SELECT"),
        ("Adresse", "184 av DU BOIS DE VERRIERES , 92160, ANTONY"),
        ("Numéro de dossier", "FINSAS009250"),
        ("Date de dépôt", "23/05/2023"),
        ("Statut de la demande", "En cours"),
        ("Date de changement de statut", "23/05/2023"),
    ]
    for ligne in recap.lignes():
        # the guide writes « Numéro de dossier », « Date de dépôt »… as "- <label> : <value>"
        _in_guide(AVANCE_GUIDE, f"{ligne.libelle} : {ligne.valeur}")
    (avance,) = recap.phases
    assert [(b.titre, b.badge_label) for b in avance.blocs] == [
        ("Informations de la demande", "Contrôle OK"),
        ("Coordonnées bancaires", "Contrôle OK"),
        ("Pièces justificatives", "A instruire"),
    ]
    assert [(ligne.libelle, ligne.valeur) for ligne in avance.blocs[0].lignes] == [
        ("Taux de TVA", "HT - 0%"), ("Montant de l'avance", "30000")]
    _in_guide(AVANCE_GUIDE, "Taux de TVA : HT - 0%")
    _in_guide(AVANCE_GUIDE, "Montant de l'avance : 30000")
    assert [ligne.libelle for ligne in avance.blocs[1].lignes] == ["IBAN", "BIC", "Titulaire", "Domiciliation"]
    assert recap.courriels.titre == "Courriels automatiques envoyés"
    assert [ligne.valeur for ligne in recap.courriels.lignes] == [
        "Demande de financement FINSAS009250 : demande d'avance réceptionnée"]
    assert recap.commentaire_gestionnaire is None
    assert recap.piece_demandee is None


def test_the_portals_controls_are_system_history_entries() -> None:
    outcome = sw.start(ex.deposer_avance(command_id="depot-1"), numero="FINSAS009250", now=ex.T0)
    deposit, *controls = outcome.dossier.history
    assert (deposit.trigger, deposit.actor, deposit.command_id) == ("deposer_avance", ex.FOURNISSEUR_ACTOR, "depot-1")
    assert [(e.actor.role, e.trigger, e.details["bloc"], e.details["resultat"]) for e in controls] == [
        (sw.Role.SYSTEME, "controler_bloc", "informations", "ok"),
        (sw.Role.SYSTEME, "controler_bloc", "coordonnees_bancaires", "ok"),
    ]
    assert all(e.at == ex.T0 and e.source is e.dest is sw.Status.AVANCE_EN_INSTRUCTION for e in controls)
    assert all(e.comment and e.comment.startswith("Contrôle automatique du portail") for e in controls)
    assert sw.verify_history(outcome.dossier)
    # the gestionnaire still has the last word on every bloc, and only the pieces are left to judge
    g = ex.GESTIONNAIRE
    assert "decider" not in sw.allowed_commands(outcome.dossier, g)
    later = ex.T0 + timedelta(hours=1)
    ok = sw.handle(outcome.dossier, sw.ControlerBloc(g, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.OK), now=later)
    assert "decider" in sw.allowed_commands(ok.dossier, g)
    ko = sw.handle(ok.dossier, sw.ControlerBloc(g, sw.Bloc.COORDONNEES_BANCAIRES, sw.Controle.KO, "RIB"), now=later)
    assert ko.dossier.avance.controles[sw.Bloc.COORDONNEES_BANCAIRES] is sw.Controle.KO


def test_balance_deposit_gets_the_same_controls_but_not_for_a_placeholder_amount() -> None:
    avance = ex.dossier_at(sw.Status.AVANCE_DECIDEE)
    now = avance.history[-1].at + timedelta(hours=1)
    vsr = sw.PieceKind.PV_VSR
    contact = "support@le-select.example"
    placeholder = sw.handle(avance, sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, {vsr: ex.attachment(vsr)}, contact,
                                                    sw.SAS.montant_solde), now=now).dossier
    assert placeholder.solde is not None
    # SAS's balance amount has no known source: the portal does not vouch for it
    assert dict(placeholder.solde.controles) == {sw.Bloc.INFORMATIONS: sw.Controle.A_INSTRUIRE,
                                                 sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                                 sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}
    real = sw.SAS.avec_montant(sw.Phase.SOLDE, Decimal("25000"), source="Convention de financement n° 42")
    dossier = sw.handle(avance, sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, {vsr: ex.attachment(vsr)}, contact,
                                                Decimal("25000")), now=now, corridor=real).dossier
    assert dossier.solde is not None
    assert dict(dossier.solde.controles) == {sw.Bloc.INFORMATIONS: sw.Controle.OK,
                                             sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                             sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}
    added = dossier.history[len(avance.history):]
    assert [(e.actor.role, e.trigger) for e in added] == [
        (sw.Role.FOURNISSEUR, "deposer_solde"), (sw.Role.SYSTEME, "controler_bloc"),
        (sw.Role.SYSTEME, "controler_bloc")]


# -- the gestionnaire's comment and the requested piece on the screen (point 2) ------------------------------
@pytest.mark.parametrize(("status", "piece"), [
    (sw.Status.SOLDE_A_MODIFIER, None),
    (sw.Status.SOLDE_EN_ATTENTE_PIECE, "Procès-verbal de vérification de service régulier"),
])
def test_screen_shows_what_the_gestionnaire_expects_until_completed(status: sw.Status, piece: str | None) -> None:
    dossier = ex.dossier_at(status)
    recap = recapitulatif(dossier)
    assert recap.statut == status.label
    assert recap.commentaire_gestionnaire == dossier.demande_commentaire
    assert recap.commentaire_gestionnaire
    assert recap.piece_demandee == piece
    lines = {ligne.libelle: ligne.valeur for ligne in recap.lignes()}
    assert lines["Commentaire du gestionnaire"] == recap.commentaire_gestionnaire
    assert lines.get("Pièce justificative attendue") == piece
    if piece is not None:
        _in_guide(SOLDE_GUIDE, piece)
    completed = dossier
    for command in ex.commands_to_fire(dossier, "completer"):
        completed = sw.handle(completed, command, now=dossier.history[-1].at + timedelta(hours=1)).dossier
    after = recapitulatif(completed)
    assert after.statut == "En cours"
    assert after.commentaire_gestionnaire is None
    assert after.piece_demandee is None
    assert "Commentaire du gestionnaire" not in {ligne.libelle for ligne in after.lignes()}


# -- corridor amounts and their source (point 4) ------------------------------------------------------------
def test_corridor_amounts_record_their_source() -> None:
    assert sw.SAS.montant_avance == Decimal("30000")
    assert isinstance(sw.SAS.montant_solde, Decimal)
    assert not sw.SAS.montant_provisoire(sw.Phase.AVANCE)
    assert "Montant de l'avance : 30000" in (sw.SAS.source_montant(sw.Phase.AVANCE) or "")
    assert sw.SAS.montant_provisoire(sw.Phase.SOLDE)
    assert sw.SAS.source_montant(sw.Phase.SOLDE) is None
    real = sw.SAS.avec_montant(sw.Phase.SOLDE, Decimal("12345.67"), source="Convention n° 7")
    assert (real.montant_solde, real.source_montant_solde, real.montant_avance) == (
        Decimal("12345.67"), "Convention n° 7", Decimal("30000"))
    assert not real.montant_provisoire(sw.Phase.SOLDE)
    for bad in ({"montant": 12345.0, "source": "x"}, {"montant": Decimal("1"), "source": " "},
                {"montant": Decimal("NaN"), "source": "x"}):
        with pytest.raises(sw.InvalidInput):
            sw.SAS.avec_montant(sw.Phase.SOLDE, bad["montant"], source=bad["source"])  # type: ignore[arg-type]


def _file_two_balances(corridor: sw.Corridor) -> None:
    from segur_workflow.adapters.memory import InMemoryRepository
    from segur_workflow.service import SteppingClock, WorkflowService

    service = WorkflowService(InMemoryRepository(), clock=SteppingClock(ex.T0), corridor=corridor)
    vsr = sw.PieceKind.PV_VSR
    for n in (1, 2):
        f = ex.FOURNISSEUR if n == 1 else sw.Fournisseur("tndSAS0099", "39431067600017", "AUTRE", "Paris",
                                                           "autre@example.org")
        numero = service.start(ex.deposer_avance(f)).numero
        dossier = service.get(numero).dossier
        for command in ex.commands_to_fire(dossier, "decider"):
            service.handle(numero, command)
        service.handle(numero, sw.DeposerSolde(sw.Actor(sw.Role.FOURNISSEUR, f.ans_id), {vsr: ex.attachment(vsr)},
                                               "support@example.org", corridor.montant_solde))


def test_service_warns_once_when_a_balance_is_filed_under_the_placeholder(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="segur_workflow.service"):
        _file_two_balances(sw.SAS)
    warnings = [r for r in caplog.records if r.name == "segur_workflow.service"]
    assert len(warnings) == 1
    assert "montant provisoire" in warnings[0].getMessage()
    assert "30000 €" in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level("WARNING", logger="segur_workflow.service"):
        _file_two_balances(sw.SAS.avec_montant(sw.Phase.SOLDE, Decimal("30000"), source="Convention n° 7"))
    assert [r for r in caplog.records if r.name == "segur_workflow.service"] == []


def test_screen_says_the_placeholder_balance_amount_is_an_example() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    assert _lines(dossier, sw.Phase.SOLDE, "Informations de la demande")["Source du montant"].startswith(
        "montant d'exemple")
    assert "Source du montant" not in _lines(dossier, sw.Phase.AVANCE, "Informations de la demande")
    real = sw.SAS.avec_montant(sw.Phase.SOLDE, Decimal("30000"), source="Convention n° 7")
    view = next(p for p in recapitulatif(dossier, real).phases if p.phase is sw.Phase.SOLDE)
    assert "Source du montant" not in {ligne.libelle for ligne in view.blocs[0].lignes}
