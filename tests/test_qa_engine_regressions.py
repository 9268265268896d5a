"""Engine bugs found by the QA kit's hostile strategies, kept as regression tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segur_workflow import (
    Actor,
    Bloc,
    Controle,
    ControlerBloc,
    DeposerSolde,
    InvalidInput,
    Rejeter,
    Role,
    RuleViolations,
    Status,
    WorkflowError,
    examples,
    handle,
    start,
    verify_history,
)
from segur_workflow.testing.strategies import hostile_texts

NOW = examples.T0 + timedelta(days=1)


@pytest.mark.parametrize("motif", ["\ud800", "raison \udfff"])
def test_lone_surrogate_in_a_text_is_a_rule_violation(motif: str) -> None:
    # was: UnicodeEncodeError from the history hash (not a WorkflowError); SQLite and JSON refuse them too
    dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    with pytest.raises(RuleViolations) as err:
        handle(dossier, Rejeter(examples.GESTIONNAIRE, motif), now=NOW)
    assert err.value.codes == {"motif.caracteres"}


def test_lone_surrogate_in_identifiers_and_reference_data_is_invalid_input() -> None:
    # was: accepted, then UnicodeEncodeError in the SQLite adapter's save (and in the history hash)
    with pytest.raises(InvalidInput):
        Actor(Role.GESTIONNAIRE, "g\ud800")
    with pytest.raises(InvalidInput):
        ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK, command_id="\udc00")
    with pytest.raises(InvalidInput):
        attrs.evolve(examples.FOURNISSEUR, raison_sociale="LE SELECT \udc80")
    with pytest.raises(InvalidInput):
        attrs.evolve(examples.COORDONNEES, titulaire="\ud83d")
    # still fine: any real character, emoji included
    assert Actor(Role.GESTIONNAIRE, "gestionnaire 😀").id.endswith("😀")


@pytest.mark.parametrize("montant", ["sNaN", "NaN", "-Infinity"])
def test_non_finite_amount_is_a_rule_violation(montant: str) -> None:
    # was: decimal.InvalidOperation when a signalling NaN was compared to the corridor's amount
    # (found by the QA kit and, independently, fixed in rules.check_montant)
    with pytest.raises(RuleViolations) as err:
        start(attrs.evolve(examples.deposer_avance(), montant=Decimal(montant)), numero=examples.NUMERO, now=NOW)
    assert err.value.codes == {"montant.invalide"}
    dossier = examples.dossier_at(Status.AVANCE_DECIDEE)
    solde = examples.commands_to_fire(dossier, "deposer_solde")[0]
    assert isinstance(solde, DeposerSolde)
    with pytest.raises(RuleViolations):
        handle(dossier, attrs.evolve(solde, montant=Decimal(montant)), now=NOW)


@settings(max_examples=200)
@given(hostile_texts(), st.sampled_from(["rejeter", "demander_piece", "controler_bloc"]))
def test_hostile_texts_are_accepted_unharmed_or_refused_cleanly(text: str, trigger: str) -> None:
    dossier = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    example: Any = examples.commands_to_fire(dossier, trigger)[-1]
    try:  # refused when the command is built (control characters) or when it is handled: both are clean
        command = attrs.evolve(example, **({"motif": text} if trigger == "rejeter" else {"commentaire": text}))
        after = handle(dossier, command, now=dossier.history[-1].at + timedelta(hours=1)).dossier
    except WorkflowError:
        return
    assert after.history[-1].comment == text
    assert verify_history(after)
