"""The examples build a command of any trigger from its class and its binding: what they do with a field they
cannot fill, and the paths they derive from the definition."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from segur_workflow import examples
from segur_workflow.binding import Bind, Binding, Change
from segur_workflow.commands import EXEMPLE, Command
from segur_workflow.engine import DOSSIER_BINDING
from segur_workflow.states import DOSSIER, INITIAL, Status, TransitionSpec
from segur_workflow.vocabulary import Role


def _with(cls: type[Command]) -> Binding[Any, Any]:
    row = TransitionSpec(cls.TRIGGER, ("avance_en_instruction",), None, frozenset({Role.GESTIONNAIRE}))
    return attrs.evolve(DOSSIER_BINDING, definition=attrs.evolve(DOSSIER, transitions=(*DOSSIER.transitions, row)),
                        entries=(*DOSSIER_BINDING.entries, Bind(cls, lambda *_: Change())))


def test_a_field_it_cannot_fill_is_named() -> None:
    @attrs.frozen
    class Provisionner(Command):
        montant_provision: Decimal

    binding = _with(Provisionner)
    with pytest.raises(ValueError, match=r"montant_provision.*Provisionner"):
        examples.commands_to_fire(examples.dossier_at(Status.AVANCE_EN_INSTRUCTION), "provisionner",
                                  binding=binding)


def test_a_field_is_filled_by_its_example_then_its_default_then_a_text() -> None:
    @attrs.frozen
    class Annoter(Command):
        note: str
        titre: str = attrs.field(metadata={EXEMPLE: "Appel du 12/06"})
        urgence: bool = False

    dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    (command,) = examples.commands_to_fire(dossier, "annoter", binding=_with(Annoter))
    assert command == Annoter(examples.GESTIONNAIRE, examples.TEXTE, "Appel du 12/06")


def test_the_paths_are_shortest_walks_of_the_definition() -> None:
    created = next(t for t in DOSSIER.transitions if t.creates).target(INITIAL)
    for status, path in examples.PATHS.items():
        here = created
        for trigger in path:
            (row,) = [t for t in DOSSIER.outgoing(here) if t.trigger == trigger]
            here = row.target(here)
        assert here == status.value
        dossier = examples.dossier_at(status, step=timedelta(minutes=5))
        assert dossier.status is status
        assert [e.trigger for e in dossier.history if e.source != e.dest][1:] == list(path)
    assert set(examples.PATHS) == set(Status)
    assert len(examples.PATHS[Status.SOLDE_DECIDEE]) == 3
