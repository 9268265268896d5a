"""The portal account machine (states.COMPTE) run by compte.handle_compte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segur_workflow as sw
from segur_workflow import compte as c
from segur_workflow.states import COMPTE, CompteStatus

T0 = datetime(2023, 5, 15, 8, 0, tzinfo=UTC)
LOGIN = "test.ecomplementaire"
USER = sw.Actor(sw.Role.FOURNISSEUR, LOGIN)
PORTAIL = sw.Actor(sw.Role.SYSTEME, "portail")
SEL = bytes(range(16))
SEL2 = bytes(range(1, 17))
PROVISOIRE = "Provisoire-2023"
EMAIL = "contact@le-select.example"
NOUVEAU = "Nouveau.mdp1"


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def cree() -> c.Compte:
    return c.handle_compte(None, c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL, email=EMAIL), now=T0).compte


def actif() -> c.Compte:
    compte = cree()
    for i, cmd in enumerate([
        c.PremiereConnexion(USER, PROVISOIRE),
        c.ChangerMotDePasse(USER, PROVISOIRE, NOUVEAU, NOUVEAU, SEL2),
        c.DefinirQuestionSecrete(USER, "Ville de naissance ?", "  Antony ", SEL),
    ], start=1):
        compte = c.handle_compte(compte, cmd, now=at(i)).compte
    return compte


def test_first_login_path_of_the_seeds() -> None:
    compte = cree()
    assert compte.status is CompteStatus.IDENTIFIANTS_TRANSMIS
    compte = actif()
    assert compte.status is CompteStatus.ACTIF
    assert [h.trigger for h in compte.history] == [
        "creer_compte", "premiere_connexion", "changer_mot_de_passe", "definir_question_secrete"]
    assert [h.dest for h in compte.history] == [
        CompteStatus.IDENTIFIANTS_TRANSMIS, CompteStatus.MOT_DE_PASSE_A_CHANGER,
        CompteStatus.QUESTION_SECRETE_A_DEFINIR, CompteStatus.ACTIF]
    assert compte.date_changement_statut == at(3)
    assert compte.question_secrete == "Ville de naissance ?"


def test_secrets_are_only_stored_as_salted_hashes() -> None:
    compte = actif()
    dumped = repr(attrs.asdict(compte))
    for secret in (PROVISOIRE, NOUVEAU, "antony", "Antony"):
        assert secret not in dumped
    assert c.verifier_secret(NOUVEAU, compte.mot_de_passe)
    assert not c.verifier_secret(PROVISOIRE, compte.mot_de_passe)
    assert c.verifier_secret("antony", compte.reponse_secrete)
    assert NOUVEAU not in repr(compte)
    assert "empreinte" not in repr(compte.mot_de_passe)


def test_hash_is_deterministic_for_a_salt_and_differs_across_salts() -> None:
    assert c.hacher_secret("x", sel=SEL) == c.hacher_secret("x", sel=SEL)
    assert c.hacher_secret("x", sel=SEL).empreinte != c.hacher_secret("x", sel=SEL2).empreinte
    with pytest.raises(sw.InvalidInput):
        c.hacher_secret("x", sel=b"short")
    corrupt = attrs.evolve(c.hacher_secret("x", sel=SEL), empreinte="zz")
    assert not c.verifier_secret("x", corrupt)


def test_first_login_with_wrong_password_refused() -> None:
    compte = cree()
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.PremiereConnexion(USER, "devine"), now=at(1))
    assert err.value.codes == {"mot_de_passe.incorrect"}


def test_change_password_reports_every_broken_clause() -> None:
    compte = c.handle_compte(cree(), c.PremiereConnexion(USER, PROVISOIRE), now=at(1)).compte
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.ChangerMotDePasse(USER, "faux", "éé", "autre", SEL2), now=at(2))
    assert err.value.codes == {
        "mot_de_passe.incorrect", "mot_de_passe.trop_court", "mot_de_passe.chiffre",
        "mot_de_passe.caractere_special", "mot_de_passe.accents", "mot_de_passe.confirmation",
    }
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.ChangerMotDePasse(USER, PROVISOIRE, PROVISOIRE, PROVISOIRE, SEL2), now=at(2))
    assert err.value.codes == {"mot_de_passe.inchange"}
    weak = "TEST.ECOMPLEMENTAIRE"
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.ChangerMotDePasse(USER, PROVISOIRE, weak, weak, SEL2), now=at(2))
    assert err.value.codes == {"mot_de_passe.identifiant", "mot_de_passe.chiffre"}
    close = "Test.Ecomplementaire1"  # the login plus a digit: different, so accepted
    out = c.handle_compte(compte, c.ChangerMotDePasse(USER, PROVISOIRE, close, close, SEL2), now=at(2))
    assert out.compte.status is CompteStatus.QUESTION_SECRETE_A_DEFINIR


def test_forgotten_password_mails_a_new_one_and_keeps_the_secret_question() -> None:
    compte = actif()
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.OublierMotDePasse(USER, "Paris", "Autre-2024", SEL), now=at(5))
    assert err.value.codes == {"reponse_secrete.incorrecte"}
    out = c.handle_compte(compte, c.OublierMotDePasse(USER, "ANTONY", "Autre-2024", SEL), now=at(5))
    assert out.compte.status is CompteStatus.MOT_DE_PASSE_REINITIALISE
    assert c.verifier_secret("Autre-2024", out.compte.mot_de_passe)
    assert [type(e) for e in out.events] == [c.IdentifiantsATransmettre, c.StatutCompteChange]
    (mail,) = out.emails
    assert (mail.template, mail.to) == ("compte_nouveau_mot_de_passe", EMAIL)
    assert "Votre nouveau mot de passe provisoire : Autre-2024" in mail.text
    assert LOGIN not in mail.text  # the password travels without the login
    # the provisional password must be changed; the question answered a moment ago is kept
    assert c.commandes_permises(out.compte, USER) == {"changer_mot_de_passe", "oublier_mot_de_passe"}
    again = c.handle_compte(out.compte, c.ChangerMotDePasse(USER, "Autre-2024", "Encore.2024", "Encore.2024", SEL2),
                            now=at(6)).compte
    assert again.status is CompteStatus.ACTIF
    assert again.question_secrete == compte.question_secrete
    assert again.reponse_secrete == compte.reponse_secrete
    assert c.verifier_secret("Encore.2024", again.mot_de_passe)


def test_forgotten_login_mails_it_to_the_accounts_address() -> None:
    compte = actif()
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.OublierIdentifiant(PORTAIL, "autre@example.org"), now=at(5))
    assert err.value.codes == {"compte.email_inconnu"}
    with pytest.raises(sw.PermissionDenied):  # whoever forgot the login cannot act as its owner
        c.handle_compte(compte, c.OublierIdentifiant(USER, EMAIL), now=at(5))
    out = c.handle_compte(compte, c.OublierIdentifiant(PORTAIL, " Contact@LE-SELECT.example "), now=at(5))
    assert out.compte.status is CompteStatus.ACTIF
    assert out.compte.date_changement_statut == compte.date_changement_statut
    assert [type(e) for e in out.events] == [c.IdentifiantRappele]
    assert out.compte.history[-1].trigger == "oublier_identifiant"
    (mail,) = out.emails
    assert (mail.template, mail.to) == ("compte_rappel_identifiant", EMAIL)
    assert f"Votre identifiant : {LOGIN}" in mail.text
    assert "« J'ai oublié mon identifiant »" in mail.text


def test_creation_sends_two_mails_identifiant_then_password() -> None:
    out = c.handle_compte(None, c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL, email=EMAIL), now=T0)
    assert out.compte.email == EMAIL
    assert [(m.template, m.to) for m in out.emails] == [("compte_identifiant", EMAIL), ("compte_mot_de_passe", EMAIL)]
    identifiant, mot_de_passe = out.emails
    assert f"Votre identifiant : {LOGIN}" in identifiant.text
    assert PROVISOIRE not in identifiant.text + identifiant.html + identifiant.subject
    assert f"Votre mot de passe provisoire pour le portail Ségur numérique : {PROVISOIRE}" in mot_de_passe.text
    assert LOGIN not in mot_de_passe.text + mot_de_passe.html + mot_de_passe.subject
    # the guide's words on the first login, and the portal's policy as one text
    assert ("vous serez amenés à changer de mot de passe et définir une question/réponse secrète en cas de perte "
            "des identifiants") in mot_de_passe.text
    assert sw.rules.POLITIQUE_MOT_DE_PASSE in mot_de_passe.text
    assert "https://segurnum.asp-public.fr" in identifiant.text
    assert identifiant.text.startswith("Madame, Monsieur,")
    assert PROVISOIRE in mot_de_passe.html


def test_roles_and_ownership() -> None:
    compte = cree()
    with pytest.raises(sw.PermissionDenied):
        c.handle_compte(None, c.CreerCompte(USER, LOGIN, PROVISOIRE, SEL, email=EMAIL), now=T0)
    with pytest.raises(sw.PermissionDenied):
        c.handle_compte(compte, c.PremiereConnexion(sw.Actor(sw.Role.FOURNISSEUR, "autre"), PROVISOIRE), now=at(1))
    with pytest.raises(sw.PermissionDenied):
        c.handle_compte(compte, c.PremiereConnexion(sw.Actor(sw.Role.GESTIONNAIRE, LOGIN), PROVISOIRE), now=at(1))
    assert c.commandes_permises(compte, USER) == {"premiere_connexion"}
    assert c.commandes_permises(compte, PORTAIL) == {"cloturer_compte", "oublier_identifiant"}
    assert c.commandes_permises(compte, sw.Actor(sw.Role.FOURNISSEUR, "autre")) == frozenset()


def test_wrong_state_and_closing() -> None:
    compte = cree()
    with pytest.raises(sw.TransitionNotAllowed) as err:
        c.handle_compte(compte, c.OublierMotDePasse(USER, "r", PROVISOIRE, SEL), now=at(1))
    assert err.value.allowed == {"premiere_connexion"}
    with pytest.raises(sw.TransitionNotAllowed):
        c.handle_compte(compte, c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL, email=EMAIL), now=at(1))
    closed = c.handle_compte(compte, c.CloturerCompte(PORTAIL, "Fin du programme"), now=at(1)).compte
    assert closed.status is CompteStatus.CLOTURE
    assert c.commandes_permises(closed, USER) == frozenset()
    with pytest.raises(sw.TransitionNotAllowed):
        c.handle_compte(closed, c.PremiereConnexion(USER, PROVISOIRE), now=at(2))


def test_creation_checks_login_and_provisional_password() -> None:
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(None, c.CreerCompte(PORTAIL, "a b", "", SEL, email="pas une adresse"), now=T0)
    assert err.value.codes == {"identifiant.format", "mot_de_passe.requis", "compte.email"}


def test_secret_question_required() -> None:
    compte = c.handle_compte(cree(), c.PremiereConnexion(USER, PROVISOIRE), now=at(1)).compte
    compte = c.handle_compte(compte, c.ChangerMotDePasse(USER, PROVISOIRE, NOUVEAU, NOUVEAU, SEL2), now=at(2)).compte
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.DefinirQuestionSecrete(USER, " ", "x" * 500, SEL), now=at(3))
    assert err.value.codes == {"question_secrete.requise", "reponse_secrete.trop_longue"}


def test_bad_inputs() -> None:
    with pytest.raises(sw.InvalidInput):
        c.handle_compte(None, c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL, email=EMAIL), now=datetime(2023, 1, 1))
    with pytest.raises(sw.InvalidInput):
        c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, b"123", email=EMAIL)
    with pytest.raises(TypeError):
        c.CreerCompte(PORTAIL, LOGIN, PROVISOIRE, SEL)  # type: ignore[call-arg]  # the address is required
    with pytest.raises(sw.InvalidInput):
        c.PremiereConnexion(USER, None)  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        c.handle_compte(cree(), sw.Decider(USER), now=at(1))
    with pytest.raises(sw.InvalidInput):
        c.handle_compte("compte", c.PremiereConnexion(USER, PROVISOIRE), now=at(1))  # type: ignore[arg-type]


def test_command_dated_before_the_last_one_is_refused() -> None:
    compte = cree()
    with pytest.raises(sw.RuleViolations) as err:
        c.handle_compte(compte, c.PremiereConnexion(USER, PROVISOIRE), now=T0 - timedelta(seconds=1))
    assert err.value.codes == {"date.anterieure"}


def test_every_trigger_has_a_command() -> None:
    assert set(c.COMPTE_BINDING.commands) == set(COMPTE.triggers)


# A random walk over the account commands: status always declared, refusals change nothing,
# commandes_permises agrees with what handle_compte accepts as far as role/state go.
COMMANDS = st.sampled_from([
    c.PremiereConnexion(USER, PROVISOIRE),
    c.PremiereConnexion(USER, "mauvais"),
    c.ChangerMotDePasse(USER, PROVISOIRE, NOUVEAU, NOUVEAU, SEL2),
    c.DefinirQuestionSecrete(USER, "Q ?", "r", SEL),
    c.OublierMotDePasse(USER, "r", PROVISOIRE, SEL),
    c.OublierIdentifiant(PORTAIL, EMAIL),
    c.CloturerCompte(PORTAIL),
    c.PremiereConnexion(sw.Actor(sw.Role.FOURNISSEUR, "intrus"), PROVISOIRE),
])


@settings(max_examples=15, deadline=None)
@given(st.lists(COMMANDS, max_size=8))
def test_random_walks(commands: list[sw.Command]) -> None:
    compte = cree()
    for i, cmd in enumerate(commands, start=1):
        permitted = cmd.TRIGGER in c.commandes_permises(compte, cmd.actor)
        before = compte
        refusal: sw.WorkflowError | None = None
        try:
            compte = c.handle_compte(compte, cmd, now=at(i)).compte
        except (sw.RuleViolations, sw.PermissionDenied, sw.TransitionNotAllowed) as err:
            refusal = err
        if refusal is None:
            assert permitted
            assert len(compte.history) == len(before.history) + 1
        else:
            assert compte is before
            # permitted (role, owner, state) but refused: only the content (a guard) can be the reason
            assert permitted is isinstance(refusal, sw.RuleViolations)
        assert compte.status.value in COMPTE.state_names


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=50), st.text(max_size=50), st.binary(min_size=16, max_size=32))
def test_secret_round_trip(secret: str, other: str, sel: bytes) -> None:
    hashed = c.hacher_secret(secret, sel=sel, n=2**4)  # low cost: the property, not the strength
    assert c.verifier_secret(secret, hashed)
    assert c.verifier_secret(other, hashed) is (other == secret)
    assert secret not in repr(hashed) or secret in "Secret(algorithme='scrypt', n=16)"
