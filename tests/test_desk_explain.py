"""explain(): why a command is not possible now; reaffecter and the reserved instruction."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segur_workflow as sw
from segur_workflow import examples, serialization
from segur_workflow.states import DOSSIER
from segur_workflow.testing import strategies

G = examples.GESTIONNAIRE
OWNER = examples.FOURNISSEUR_ACTOR
OTHER_PROVIDER = sw.Actor(sw.Role.FOURNISSEUR, "tndSAS9999")
SYSTEM = sw.Actor(sw.Role.SYSTEME, "portail")
RESERVED = attrs.evolve(sw.SAS, instruction_reservee=True)


def codes(why: tuple[sw.Violation, ...]) -> list[str]:
    return [v.code for v in why]


def test_every_trigger_of_the_definition_is_explained() -> None:
    d = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    for actor in (G, OWNER, OTHER_PROVIDER, SYSTEM):
        assert set(sw.explain(d, actor)) == set(DOSSIER.triggers)


def test_decider_says_which_blocs_are_not_ok() -> None:
    # on the deposit day the portal has marked two blocs OK: only the pieces are left to the gestionnaire
    d = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    why = sw.explain(d, G)["decider"]
    assert codes(why) == ["bloc.non_ok"]
    assert [v.field for v in why] == [f"controles.{sw.Bloc.PIECES_JUSTIFICATIVES.value}"]
    assert "Pièces justificatives" in why[0].message
    now = d.date_changement_statut
    d = sw.handle(d, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.KO, "SIRET à vérifier"), now=now).dossier
    why = sw.explain(d, G)["decider"]
    assert [v.field for v in why] == [f"controles.{b.value}" for b in (sw.Bloc.INFORMATIONS,
                                                                        sw.Bloc.PIECES_JUSTIFICATIVES)]
    d = sw.handle(d, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK), now=now).dossier
    d = sw.handle(d, sw.ControlerBloc(G, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.OK), now=now).dossier
    assert sw.explain(d, G)["decider"] == ()


def test_role_ownership_and_status_are_reasons_in_french() -> None:
    d = examples.dossier_at(sw.Status.SOLDE_A_MODIFIER)
    assert codes(sw.explain(d, G)["completer"]) == ["permission.role"]
    assert "Fournisseur SAS" in sw.explain(d, G)["completer"][0].message
    assert codes(sw.explain(d, OTHER_PROVIDER)["completer"]) == ["permission.proprietaire"]
    assert sw.explain(d, OWNER)["completer"] == ()
    why = sw.explain(d, G)["decider"]
    assert codes(why) == ["statut.interdit"]
    assert "« A modifier »" in why[0].message and "decider" not in why[0].message
    assert codes(sw.explain(d, OWNER)["deposer_avance"]) == ["dossier.existant"]


def test_a_final_dossier_explains_every_trigger_as_impossible() -> None:
    d = examples.dossier_at(sw.Status.SOLDE_DECIDEE)
    for actor in (G, OWNER, SYSTEM):
        assert all(why for why in sw.explain(d, actor).values())
        assert sw.allowed_commands(d, actor) == frozenset()


@settings(max_examples=30, deadline=None)
@given(d=strategies.dossiers(max_steps=4), actor=st.sampled_from([G, OWNER, OTHER_PROVIDER, SYSTEM]),
       reserved=st.booleans())
def test_allowed_commands_is_explain_without_reasons(d: sw.Dossier, actor: sw.Actor, reserved: bool) -> None:
    corridor = RESERVED if reserved else sw.SAS
    why = sw.explain(d, actor, corridor)
    assert sw.allowed_commands(d, actor, corridor) == {t for t, w in why.items() if not w}
    for trigger, reasons in why.items():
        for v in reasons:
            assert v.message and "None" not in v.message and trigger not in v.message


def test_explain_refuses_wrong_types() -> None:
    d = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    with pytest.raises(sw.InvalidInput):
        sw.explain(d, "gestionnaire")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        sw.explain("FINSAS000001", G)  # type: ignore[arg-type]


# -- assignment ---------------------------------------------------------------------------------------------------
def test_start_records_the_assigned_gestionnaire_in_the_deposit_entry() -> None:
    outcome = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, gestionnaire="c.martin")
    assert outcome.dossier.gestionnaire == "c.martin"
    assert outcome.dossier.history[0].details["gestionnaire"] == "c.martin"
    plain = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0).dossier
    assert plain.gestionnaire is None and "gestionnaire" not in plain.history[0].details


def test_reaffecter_changes_the_gestionnaire_with_a_history_entry_and_no_email() -> None:
    d = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, gestionnaire="c.martin").dossier
    now = examples.T0 + timedelta(hours=2)
    outcome = sw.handle(d, sw.Reaffecter(G, "a.durand", "Congés de C. Martin"), now=now)
    after = outcome.dossier
    assert after.gestionnaire == "a.durand" and after.status is d.status
    entry = after.history[-1]
    assert (entry.trigger, entry.comment, dict(entry.details)) == (
        "reaffecter", "Congés de C. Martin", {"gestionnaire": "a.durand", "precedent": "c.martin"})
    assert outcome.emails == () and after.emails_sent == d.emails_sent
    assert [type(e) for e in outcome.events] == [sw.DossierReaffecte]
    assert sw.verify_history(after)
    assert serialization.from_dict(serialization.to_dict(after)) == after


def test_reaffecter_to_the_same_gestionnaire_or_by_a_provider_is_refused() -> None:
    d = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, gestionnaire="c.martin").dossier
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(d, sw.Reaffecter(G, "c.martin"), now=examples.T0)
    assert err.value.codes == {"gestionnaire.inchange"}
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(d, sw.Reaffecter(G, "  "), now=examples.T0)
    assert err.value.codes == {"gestionnaire.requis"}
    with pytest.raises(sw.PermissionDenied):
        sw.handle(d, sw.Reaffecter(OWNER, "moi"), now=examples.T0)
    with pytest.raises(sw.InvalidInput):
        sw.Reaffecter(G, None)  # type: ignore[arg-type]
    assert sw.handle(d, sw.Reaffecter(SYSTEM, "a.durand"), now=examples.T0).dossier.gestionnaire == "a.durand"


# -- the corridor option: instruction reserved to the assigned gestionnaire -----------------------------------------
def test_reserved_instruction_refuses_another_gestionnaire() -> None:
    d = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, gestionnaire="c.martin",
                 corridor=RESERVED).dossier
    autre = sw.Actor(sw.Role.GESTIONNAIRE, "a.durand")
    command = sw.ControlerBloc(autre, sw.Bloc.INFORMATIONS, sw.Controle.OK)
    with pytest.raises(sw.PermissionDenied) as err:
        sw.handle(d, command, now=examples.T0, corridor=RESERVED)
    assert "c.martin" in err.value.message
    assert codes(sw.explain(d, autre, RESERVED)["controler_bloc"]) == ["permission.affectation"]
    # not reserved: anyone of the team may instruct (the default)
    assert sw.handle(d, command, now=examples.T0).dossier.history[-1].actor == autre
    mine = sw.ControlerBloc(sw.Actor(sw.Role.GESTIONNAIRE, "c.martin"), sw.Bloc.INFORMATIONS, sw.Controle.OK)
    assert sw.handle(d, mine, now=examples.T0, corridor=RESERVED).dossier.avance.controles[sw.Bloc.INFORMATIONS] \
        is sw.Controle.OK
    # reassignment is never reserved: the team lead hands the dossier over
    after = sw.handle(d, sw.Reaffecter(autre, "a.durand"), now=examples.T0, corridor=RESERVED).dossier
    assert sw.handle(after, command, now=examples.T0, corridor=RESERVED).dossier.gestionnaire == "a.durand"


def test_reserved_instruction_of_an_unassigned_dossier_asks_for_an_assignment() -> None:
    d = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, corridor=RESERVED).dossier
    why = sw.explain(d, G, RESERVED)
    assert codes(why["rejeter"]) == ["permission.non_affecte"]
    assert why["reaffecter"] == ()
    with pytest.raises(sw.PermissionDenied):
        sw.handle(d, sw.Rejeter(G, "motif"), now=examples.T0, corridor=RESERVED)
