"""What the engine tells a host, from the survivors of the complete mutation run of 1 December (docs/qa.md,
"Tests de mutation"): the assignment at deposit and its trace, the portal's own controls as events, every
field of a refusal (who, which status, which reason), what an observer is told, the order of time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import compte, examples, observation
from segur_workflow.binding import permission_problem
from segur_workflow.engine import DOSSIER_BINDING, BlocControle, DossierDepose, StatutChange
from segur_workflow.rules import RuleContext
from segur_workflow.states import COMPTE, DOSSIER

T0 = examples.T0
G = examples.GESTIONNAIRE


def _bad(value: object) -> Any:
    return value


def test_the_gestionnaire_chosen_at_deposit_is_assigned_and_recorded() -> None:
    out = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=T0, gestionnaire="c.martin")
    assert out.dossier.gestionnaire == "c.martin"
    assert out.dossier.history[0].details["gestionnaire"] == "c.martin"
    plain = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=T0).dossier
    assert plain.gestionnaire is None and "gestionnaire" not in plain.history[0].details
    assert dict(plain.history[0].details) == {k: v for k, v in out.dossier.history[0].details.items()
                                              if k != "gestionnaire"}
    assert {"pieces", "montant", "coordonnees_bancaires"} <= set(plain.history[0].details)


def test_the_deposit_tells_the_portal_controls_as_events_of_the_dossier() -> None:
    now = T0 + timedelta(days=3)
    out = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=now)
    depose, *others, statut = out.events
    assert isinstance(depose, DossierDepose) and (depose.numero, depose.at) == (examples.NUMERO, now)
    controls = [e for e in others if isinstance(e, BlocControle)]
    assert controls and len(controls) == len(others)
    assert {(e.numero, e.at, e.phase, e.resultat) for e in controls} == {
        (examples.NUMERO, now, sw.Phase.AVANCE, sw.Controle.OK)}
    assert {e.bloc for e in controls} == {b for b, c in out.dossier.avance.controles.items() if c is sw.Controle.OK}
    assert isinstance(statut, StatutChange)


def test_a_status_change_event_says_which_dossier_when_what_from_and_to() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    for command in examples.commands_to_fire(dossier, "decider")[:-1]:
        dossier = sw.handle(dossier, command, now=T0 + timedelta(hours=1)).dossier
    now = T0 + timedelta(hours=2)
    out = sw.handle(dossier, sw.Decider(G), now=now)
    (change,) = [e for e in out.events if isinstance(e, StatutChange)]
    assert (change.numero, change.at, change.trigger, change.source, change.dest) == (
        examples.NUMERO, now, "decider", sw.Status.AVANCE_EN_INSTRUCTION, sw.Status.AVANCE_DECIDEE)


def test_the_automatic_control_of_the_amount_uses_the_phase_amount() -> None:
    # an advance of the corridor's sourced amount, with a balance amount that differs: still vouched for
    corridor = sw.SAS.avec_montant(sw.Phase.SOLDE, Decimal("12345"), source="Convention n° 1")
    out = sw.start(examples.deposer_avance(corridor=corridor), numero=examples.NUMERO, now=T0, corridor=corridor)
    assert out.dossier.avance.controles[sw.Bloc.INFORMATIONS] is sw.Controle.OK


def test_a_second_request_names_the_provider_and_the_existing_dossier() -> None:
    with pytest.raises(sw.DuplicateFinancingRequest) as err:
        sw.start(examples.deposer_avance(), numero="FINSAS000002", now=T0, existing_request=examples.NUMERO)
    assert (err.value.ans_id, err.value.existing) == (examples.FOURNISSEUR.ans_id, examples.NUMERO)


def test_handle_refuses_what_is_not_a_dossier_command_as_a_wrong_argument() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    for command in ("decider", compte.CloturerCompte(sw.Actor(sw.Role.SYSTEME, "portail"))):
        with pytest.raises(sw.InvalidInput) as err:
            sw.handle(dossier, _bad(command), now=T0 + timedelta(hours=1))
        assert (err.value.parameter, err.value.received_type) == ("command", type(command).__name__)
        assert err.value.expected == "une commande (DeposerAvance, ControlerBloc, …)"


def test_a_permission_refusal_names_the_actor_and_the_reason() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    intruder = sw.Actor(sw.Role.FOURNISSEUR, "tndSAS0099")
    with pytest.raises(sw.PermissionDenied) as err:
        sw.handle(dossier, sw.Rejeter(intruder, "Je retire ma demande."), now=T0 + timedelta(hours=1))
    assert (err.value.role, err.value.actor_id, err.value.trigger) == ("fournisseur", "tndSAS0099", "rejeter")
    assert err.value.reason == "Action « Rejeter la demande » réservée à : Gestionnaire."


def test_a_reserved_instruction_is_refused_to_another_gestionnaire_naming_the_assigned_one() -> None:
    corridor = attrs.evolve(sw.SAS, instruction_reservee=True)
    dossier = sw.start(examples.deposer_avance(corridor=corridor), numero=examples.NUMERO, now=T0,
                       corridor=corridor, gestionnaire="c.martin").dossier
    other = sw.Actor(sw.Role.GESTIONNAIRE, "a.durand")
    why = sw.explain(dossier, other, corridor)
    assert [v.code for v in why["rejeter"]] == ["permission.affectation"]
    assert "c.martin" in why["rejeter"][0].message
    assert why["reaffecter"] == ()  # the desk's reassignment is open to any gestionnaire
    reasons = sw.explain(dossier, examples.owner(dossier), corridor)["reaffecter"]
    assert [v.code for v in reasons] == ["permission.role"]
    assert "réservée à : Gestionnaire, Système" in reasons[0].message


def test_permission_problem_says_who_may_act_in_words() -> None:
    fournisseur = examples.owner(examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION))
    assert permission_problem(DOSSIER, fournisseur, "reaffecter", None) == "réservée à : Gestionnaire, Système"
    assert permission_problem(DOSSIER, fournisseur, "inconnu", None) == "réservée à : personne"
    assert permission_problem(DOSSIER, G, "decider", "tndSAS0032") is None


class _Recorder:
    def __init__(self) -> None:
        self.transitions: list[tuple[str, Any, Any, str]] = []
        self.refused: list[tuple[str, str, tuple[str, ...]]] = []
        self.rules: list[str] = []

    def transition(self, definition: Any, edge: Any, previous: Any, subject: str) -> None:
        self.transitions.append((definition.name, edge, previous, subject))

    def rule(self, rule: str, codes: tuple[str, ...]) -> None:
        self.rules.append(rule)

    def violations(self, definition: Any, trigger: str, codes: tuple[str, ...]) -> None:
        self.refused.append((definition.name, trigger, codes))


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    with observation.observing(_Recorder()) as rec:
        yield rec


def test_an_observer_is_told_which_dossier_moved_and_which_command_was_refused(recorder: _Recorder) -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    assert {subject for *_, subject in recorder.transitions} == {examples.NUMERO}
    with pytest.raises(sw.PermissionDenied):
        sw.handle(dossier, sw.Decider(examples.owner(dossier)), now=T0 + timedelta(hours=1))
    with pytest.raises(sw.TransitionNotAllowed):
        sw.handle(dossier, sw.Completer(examples.owner(dossier), pieces={}), now=T0 + timedelta(hours=1))
    assert [(t, c) for _, t, c in recorder.refused] == [("decider", ("permission.role",)),
                                                        ("completer", ("statut.interdit",))]


def test_asking_the_desk_what_is_allowed_does_not_count_as_judging_a_command(recorder: _Recorder) -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    recorder.rules.clear()
    sw.allowed_commands(dossier, G)
    sw.explain(dossier, G)
    assert recorder.rules == []


def test_a_command_dated_before_the_last_operation_is_refused_even_without_status_change() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    later = sw.handle(dossier, sw.ControlerBloc(G, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.OK),
                      now=T0 + timedelta(hours=2)).dossier
    assert later.date_changement_statut == T0  # the control did not change the status
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(later, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK), now=T0 + timedelta(hours=1))
    assert err.value.codes == {"date.anterieure"}


def test_a_binding_built_by_a_host_keeps_the_machine_own_checks() -> None:
    binding = attrs.evolve(DOSSIER_BINDING)  # built now, not at import
    with pytest.raises(sw.RuleViolations) as err:
        binding.fire(None, examples.deposer_avance(), now=T0, args={"numero": "42", "gestionnaire": None})
    assert err.value.codes == {"numero.format"}
    dossier = binding.fire(None, examples.deposer_avance(), now=T0,
                           args={"numero": examples.NUMERO, "gestionnaire": None}).dossier
    with pytest.raises(sw.RuleViolations) as err:
        binding.fire(dossier, sw.Rejeter(G, "Hors délai."), now=T0 - timedelta(hours=1))
    assert err.value.codes == {"date.anterieure"}


def test_the_account_machine_refusals_say_who_and_from_which_status() -> None:
    binding = compte.COMPTE_BINDING
    account = binding.fire(None, examples.creer_compte(), now=T0).compte
    stranger = sw.Actor(sw.Role.FOURNISSEUR, "quelqu.un")
    with pytest.raises(sw.PermissionDenied) as denied:
        binding.fire(account, compte.PremiereConnexion(stranger, "x"), now=T0 + timedelta(hours=1))
    assert (denied.value.role, denied.value.actor_id, denied.value.trigger, denied.value.reason) == (
        "fournisseur", "quelqu.un", "premiere_connexion", COMPTE.owner_refusal)
    with pytest.raises(sw.TransitionNotAllowed) as twice:
        binding.fire(account, examples.creer_compte(), now=T0 + timedelta(hours=1))
    assert twice.value.status == account.status.value
    with pytest.raises(sw.TransitionNotAllowed) as nothing:
        binding.fire(None, compte.CloturerCompte(examples.PORTAIL), now=T0)
    assert nothing.value.status is None
    assert all(isinstance(e, compte.CompteHistoryEntry) for e in account.history)


def test_each_refusal_rule_of_the_catalogue_gives_the_reasons_explain_gives() -> None:
    own = {rule.name: rule for rule, _ in DOSSIER_BINDING.own_rules}
    dossiers = [examples.dossier_at(s) for s in (sw.Status.AVANCE_EN_INSTRUCTION, sw.Status.SOLDE_DECIDEE)]
    actors = [G, examples.owner(dossiers[0]), sw.Actor(sw.Role.FOURNISSEUR, "tndSAS0099")]
    seen: set[str] = set()
    for name in ("permission", "statut", "dossier_existant"):
        rule = own[name]
        assert rule.check(RuleContext(command=None, args={"actor": G, "trigger": "decider"})) == ()  # no dossier
        for dossier in dossiers:
            for actor in actors:
                why = sw.explain(dossier, actor)
                for trigger in DOSSIER.triggers:
                    ctx = RuleContext(command=None, corridor=sw.SAS, dossier=dossier, subject=dossier,
                                      args={"actor": actor, "trigger": trigger})
                    found = rule.check(ctx)
                    assert found == tuple(v for v in why[trigger] if v.code in rule.codes), (name, trigger)
                    seen |= {v.code for v in found}
    assert {"permission.role", "permission.proprietaire", "statut.interdit", "dossier.existant"} <= seen
