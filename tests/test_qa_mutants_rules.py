"""Tests written from the surviving mutants of the rules and the account machine (docs/qa.md, "Tests de mutation").

Each pins what a mutant changed without any other test noticing: the parameter an ``InvalidInput`` names,
a limit taken as exclusive, two violations reported together, a non-ASCII file name accepted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import compte, examples, rules
from segur_workflow.binding import rebuild
from segur_workflow.engine import DOSSIER_BINDING
from segur_workflow.rules import MAX_QUESTION

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SEL = b"s" * 16


def _bad(value: object) -> Any:
    return value


def _active_account(answer: str) -> Any:
    """An account through its first login, with ``answer`` as its secret answer."""
    binding = compte.COMPTE_BINDING
    account = binding.fire(None, examples.creer_compte(), now=T0).compte
    for hours, trigger in enumerate(("premiere_connexion", "changer_mot_de_passe"), 1):
        for command in examples.compte_commands_to_fire(account, trigger):
            account = binding.fire(account, command, now=T0 + timedelta(hours=hours)).compte
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    return binding.fire(account, compte.DefinirQuestionSecrete(owner, "Ville de naissance ?", answer, SEL),
                        now=T0 + timedelta(hours=3)).compte


def test_a_secret_answer_of_exactly_the_maximum_length_is_recognised() -> None:
    answer = "a" * MAX_QUESTION
    account = _active_account(answer)
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    out = compte.COMPTE_BINDING.fire(account, compte.OublierMotDePasse(owner, answer, "Nouveau.2025", SEL),
                                     now=T0 + timedelta(hours=4))
    assert out.compte.status.value == "mot_de_passe_reinitialise"


def test_a_forgotten_password_request_reports_every_problem_at_once() -> None:
    account = _active_account("Antony")
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    with pytest.raises(sw.RuleViolations) as err:
        compte.COMPTE_BINDING.fire(account, compte.OublierMotDePasse(owner, "Paris", "", SEL),
                                   now=T0 + timedelta(hours=4))
    assert err.value.codes == {"mot_de_passe.requis", "reponse_secrete.incorrecte"}


@pytest.mark.parametrize(("args", "parameter"), [((3, "réponse"), "question"), (("Ville ?", 3), "reponse")])
def test_the_secret_question_check_names_the_wrong_argument(args: tuple[object, object], parameter: str) -> None:
    with pytest.raises(sw.InvalidInput) as err:
        rules.check_question_secrete(*(_bad(a) for a in args))
    assert err.value.parameter == parameter


@pytest.mark.parametrize(("args", "parameter", "expected"), [
    (("compte", examples.GESTIONNAIRE), "compte", "un Compte"),
    ((None, "actor"), "actor", "un Actor"),
])
def test_the_account_permissions_name_the_wrong_argument(args: tuple[object, object], parameter: str,
                                                         expected: str) -> None:
    account = _active_account("Antony") if args[0] is None else args[0]
    with pytest.raises(sw.InvalidInput) as err:
        compte.commandes_permises(_bad(account), _bad(args[1]))
    assert (err.value.parameter, err.value.expected, err.value.received_type) == (parameter, expected, "str")


@pytest.mark.parametrize("name", ["Procès-verbal été.pdf", "Facture n°12 — Sécu.pdf", "Überweisung.PDF"])
def test_a_file_name_with_letters_outside_ascii_is_accepted(name: str) -> None:
    assert rules.check_filename(name) == ()


@pytest.mark.parametrize("name", ["pv\u200b.pdf", "pv\u202etxt.pdf"])
def test_an_invisible_character_outside_ascii_is_refused(name: str) -> None:
    assert [v.code for v in rules.check_filename(name)] == ["piece.nom_caracteres"]


def test_the_binding_lists_what_the_guards_on_the_dossier_permit() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    gestionnaire = examples.GESTIONNAIRE
    assert DOSSIER_BINDING.allowed(dossier, gestionnaire) == {"controler_bloc", "reaffecter", "rejeter"}
    now = dossier.history[-1].at
    for command in examples.commands_to_fire(dossier, "decider")[:-1]:  # every bloc marked OK
        now += timedelta(hours=1)
        dossier = DOSSIER_BINDING.fire(dossier, command, now=now).dossier
    assert "decider" in DOSSIER_BINDING.allowed(dossier, gestionnaire)


@attrs.frozen(slots=False)
class _Note:
    texte: str
    rang: int


def test_rebuild_copies_a_class_without_slots_field_by_field() -> None:
    note = _Note("avant", 1)
    after = rebuild(note, texte="après")
    assert (after.texte, after.rang, note.texte) == ("après", 1, "avant")
    with pytest.raises(TypeError, match="inconnu"):
        rebuild(note, inconnu=2)


def _deposit_balance(corridor: sw.Corridor) -> sw.Dossier:
    dossier = examples.dossier_at(sw.Status.AVANCE_DECIDEE, corridor=corridor)
    now = dossier.history[-1].at
    for command in examples.commands_to_fire(dossier, "deposer_solde", corridor):
        now += timedelta(hours=1)
        dossier = sw.handle(dossier, command, now=now, corridor=corridor).dossier
    return dossier


def test_the_portal_vouches_for_a_balance_with_a_sourced_amount_and_a_support_contact() -> None:
    sourced = sw.SAS.avec_montant(sw.Phase.SOLDE, sw.SAS.montant_solde, source="Convention de financement n° 1")
    dossier = _deposit_balance(sourced)
    assert dossier.solde is not None
    assert dossier.solde.controles[sw.Bloc.INFORMATIONS] is sw.Controle.OK
    portal = [e.comment for e in dossier.history if e.actor.role is sw.Role.SYSTEME and e.at == dossier.history[-1].at]
    assert portal[0] == ("Contrôle automatique du portail : Montant du solde (30000 €) et taux de TVA (HT - 0%) "
                         "conformes au couloir ; contact de support renseigné.")
    # the shipped SAS balance amount is a placeholder: the gestionnaire checks it
    placeholder = _deposit_balance(sw.SAS)
    assert placeholder.solde is not None
    assert placeholder.solde.controles[sw.Bloc.INFORMATIONS] is not sw.Controle.OK


def test_the_support_contact_check_names_its_parameter_and_its_inclusive_limit() -> None:
    with pytest.raises(sw.InvalidInput) as err:
        rules.check_support_contact(_bad(3))
    assert err.value.parameter == "contact_support"
    exact = "support@le-select.example".ljust(rules.MAX_CONTACT, " ")[: rules.MAX_CONTACT - 1] + "x"
    assert len(exact) == rules.MAX_CONTACT
    assert "contact_support.trop_long" not in {v.code for v in rules.check_support_contact(exact)}
    (too_long,) = [v for v in rules.check_support_contact(exact + "x") if v.code == "contact_support.trop_long"]
    assert str(rules.MAX_CONTACT) in too_long.message
