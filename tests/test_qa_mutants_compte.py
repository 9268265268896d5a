"""Tests written from the third mutation run's survivors in the account machine, its rules and ``reaffecter``.

Each pins what a mutant changed unnoticed: a limit taken as exclusive, the parameter an ``InvalidInput``
names, the field a violation points at, an event's or history entry's content (docs/qa.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import compte, examples, rules
from segur_workflow.rules import MAX_PASSWORD, MAX_QUESTION, MIN_PASSWORD, POLITIQUE_MOT_DE_PASSE

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SEL = b"s" * 16
BINDING = compte.COMPTE_BINDING


def _bad(value: object) -> Any:
    return value


def _created() -> Any:
    return BINDING.fire(None, examples.creer_compte(), now=T0)


def _through(account: Any, *triggers: str) -> Any:
    out: Any = None
    for hours, trigger in enumerate(triggers, 1):
        for command in examples.compte_commands_to_fire(account, trigger):
            out = BINDING.fire(account, command, now=T0 + timedelta(hours=hours))
            account = out.compte
    return out


def test_a_new_account_records_its_status_dates_and_event() -> None:
    out = _created()
    account = out.compte
    assert account.status.value == "identifiants_transmis"
    assert account.date_creation == account.date_changement_statut == T0
    issued = [e for e in out.events if isinstance(e, compte.IdentifiantsATransmettre)]
    assert [(e.identifiant, e.at) for e in issued] == [(account.identifiant, T0)]


def test_a_forgotten_login_event_and_a_closing_motive_are_recorded() -> None:
    account = _through(_created().compte, "premiere_connexion", "changer_mot_de_passe",
                       "definir_question_secrete").compte
    email = account.email
    portal = sw.Actor(sw.Role.SYSTEME, "portail")
    out = BINDING.fire(account, compte.OublierIdentifiant(portal, email), now=T0 + timedelta(hours=5))
    assert [(type(e), e.identifiant, e.at) for e in out.events] == [
        (compte.IdentifiantRappele, account.identifiant, T0 + timedelta(hours=5))]
    closed = BINDING.fire(account, compte.CloturerCompte(portal, "Départ de l'éditeur"), now=T0 + timedelta(hours=6))
    assert closed.compte.history[-1].comment == "Départ de l'éditeur"


def test_the_password_mail_states_the_whole_policy() -> None:
    (mail, *_rest) = [m for m in _created().emails if "politique" in m.template or POLITIQUE_MOT_DE_PASSE in m.text]
    assert POLITIQUE_MOT_DE_PASSE + "\n" in mail.text


def test_handle_compte_names_the_wrong_argument() -> None:
    with pytest.raises(sw.InvalidInput) as err:
        compte.handle_compte(_bad("compte"), examples.creer_compte(), now=T0)
    assert (err.value.parameter, err.value.expected, err.value.received_type) == ("compte", "un Compte ou None", "str")


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda: rules.check_identifiant(_bad(3)), "identifiant"),
    (lambda: rules.check_password(_bad(3), identifiant="login"), "password"),
    (lambda: rules.check_password("Abcdefg1!", identifiant=_bad(3)), "identifiant"),
])
def test_the_credential_checks_name_the_wrong_argument(call: Any, parameter: str) -> None:
    with pytest.raises(sw.InvalidInput) as err:
        call()
    assert err.value.parameter == parameter


def test_the_password_policy_limits_are_inclusive() -> None:
    def codes(password: str) -> set[str]:
        return {v.code for v in rules.check_password(password, identifiant="login")}

    assert codes("Abcdef1!".ljust(MIN_PASSWORD, "x")) == set()  # exactly the minimum
    assert codes(("Abcdef1!" + "x" * MAX_PASSWORD)[:MAX_PASSWORD]) == set()  # exactly the maximum
    (too_long,) = rules.check_password("Abcdef1!" + "x" * MAX_PASSWORD, identifiant="login")
    assert too_long.code == "mot_de_passe.trop_long" and str(MAX_PASSWORD) in too_long.message
    assert "mot_de_passe.caracteres" in codes("Abcdef1!\u200b")  # a format character, invisible


def test_the_secret_question_limits_are_inclusive_and_said() -> None:
    assert rules.check_question_secrete("q" * MAX_QUESTION, "r") == ()
    long_q, long_r = rules.check_question_secrete("q" * (MAX_QUESTION + 1), "r" * (MAX_QUESTION + 1))
    assert str(MAX_QUESTION) in long_q.message and str(MAX_QUESTION) in long_r.message


def test_a_wrong_password_points_at_the_field_typed() -> None:
    account = _created().compte
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    with pytest.raises(sw.RuleViolations) as first:
        BINDING.fire(account, compte.PremiereConnexion(owner, "Mauvais.2025"), now=T0 + timedelta(hours=1))
    assert [(v.code, v.field) for v in first.value.violations] == [("mot_de_passe.incorrect", "mot_de_passe")]
    provisional = examples.compte_commands_to_fire(account, "premiere_connexion")[-1]
    account = BINDING.fire(account, provisional, now=T0 + timedelta(hours=1)).compte
    with pytest.raises(sw.RuleViolations) as change:
        BINDING.fire(account, compte.ChangerMotDePasse(owner, "Mauvais.2025", "Nouveau.2025", "Nouveau.2025", SEL),
                     now=T0 + timedelta(hours=2))
    assert [(v.code, v.field) for v in change.value.violations] == [("mot_de_passe.incorrect", "ancien_mot_de_passe")]


def test_a_password_change_reports_every_broken_clause_together() -> None:
    account = _through(_created().compte, "premiere_connexion").compte
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    change: Any = examples.compte_commands_to_fire(account, "changer_mot_de_passe")[-1]
    current = change.ancien_mot_de_passe
    with pytest.raises(sw.RuleViolations) as err:
        BINDING.fire(account, compte.ChangerMotDePasse(owner, current, current, current + "x", SEL),
                     now=T0 + timedelta(hours=2))
    assert {"mot_de_passe.inchange", "mot_de_passe.confirmation"} <= err.value.codes


def test_a_login_address_of_exactly_the_maximum_length_is_accepted() -> None:
    command: Any = examples.creer_compte()
    local = "a" * (rules.MAX_CONTACT - len("@x.example"))
    out = BINDING.fire(None, compte.CreerCompte(command.actor, command.identifiant, command.mot_de_passe_provisoire,
                                                command.sel, email=f"{local}@x.example"), now=T0)
    assert len(out.compte.email) == rules.MAX_CONTACT


def test_reaffecter_records_both_gestionnaires() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    command: Any = examples.commands_to_fire(dossier, "reaffecter")[-1]
    now = dossier.history[-1].at + timedelta(hours=1)
    first = sw.handle(dossier, command, now=now).dossier  # now in someone's hands
    again = attrs.evolve(command, gestionnaire=command.gestionnaire + "-2", commentaire="Congés de l'instructeur")
    out = sw.handle(first, again, now=now + timedelta(hours=1))
    entry = out.dossier.history[-1]
    assert dict(entry.details) == {"gestionnaire": again.gestionnaire, "precedent": command.gestionnaire}
    assert entry.comment == "Congés de l'instructeur"
    (event,) = [e for e in out.events if isinstance(e, sw.DossierReaffecte)]
    assert (event.numero, event.at, event.gestionnaire, event.precedent) == (
        dossier.numero, entry.at, again.gestionnaire, command.gestionnaire)


def test_a_password_of_exactly_the_maximum_length_is_recognised() -> None:
    command: Any = examples.creer_compte()
    longest = ("Abcdef1!" + "x" * MAX_PASSWORD)[:MAX_PASSWORD]
    account = BINDING.fire(None, compte.CreerCompte(command.actor, command.identifiant, longest, command.sel,
                                                    email=command.email), now=T0).compte
    owner = sw.Actor(sw.Role.FOURNISSEUR, account.identifiant)
    out = BINDING.fire(account, compte.PremiereConnexion(owner, longest), now=T0 + timedelta(hours=1))
    assert out.compte.status.value == "mot_de_passe_a_changer"
