"""Tests written from the surviving mutants of the binding (docs/qa.md, "Tests de mutation").

The shipped bindings are built once, when their module is imported: a mutant of ``Binding._build`` is only
ever run by a binding built while a test runs. These build them again (``attrs.evolve``) and compare every
resolved route with the definition, then fire a whole life through the rebuilt binding.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import compte, examples
from segur_workflow.binding import Binding
from segur_workflow.engine import DOSSIER_BINDING
from segur_workflow.errors import DefinitionError
from segur_workflow.states import INITIAL

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("shipped", [DOSSIER_BINDING, compte.COMPTE_BINDING], ids=["dossier", "compte"])
def test_a_binding_built_during_a_test_resolves_every_edge_of_its_definition(shipped: Binding[Any, Any]) -> None:
    binding = attrs.evolve(shipped)  # _build and __attrs_post_init__ run again, now
    definition = binding.definition
    by_trigger = {e.command.TRIGGER: e for e in binding.entries}
    assert isinstance(binding.commands, MappingProxyType) and isinstance(binding.routes, MappingProxyType)
    assert dict(binding.commands) == {t: by_trigger[t].command for t in definition.triggers}
    edges = list(definition.edges())
    assert len(binding.routes) == len(edges)
    for src, spec, dst in edges:
        entry = by_trigger[spec.trigger]
        route = binding.routes[(src, entry.command)]
        assert route.spec is spec
        assert route.source is (None if src == INITIAL else binding.status(src))
        assert route.dest is binding.status(dst)
        assert (route.command, route.effect) == (entry.command, entry.effect)
        assert route.guards == tuple(binding.rules[g] for g in spec.guards)
        assert route.emails == spec.emails
        assert binding.command_of(spec.trigger) is entry.command


def test_a_rebuilt_dossier_binding_runs_a_life_and_refuses_foreign_commands() -> None:
    binding = attrs.evolve(DOSSIER_BINDING)
    now = T0
    out = binding.fire(None, examples.deposer_avance(), now=now, args={"numero": examples.NUMERO})
    dossier = out.dossier
    assert dossier.status is sw.Status.AVANCE_EN_INSTRUCTION
    assert [e.template for e in out.emails] == ["accuse_reception_avance"]
    for trigger in ("controler_bloc", "decider"):
        for command in examples.commands_to_fire(dossier, trigger):
            now += timedelta(hours=1)
            dossier = binding.fire(dossier, command, now=now).dossier
    assert dossier.status is sw.Status.AVANCE_DECIDEE
    with pytest.raises(sw.InvalidInput) as err:
        binding.fire(dossier, examples.creer_compte(), now=now + timedelta(hours=1))  # the account's command
    assert err.value.parameter == "command"


class _Wrong(enum.StrEnum):
    A = "a"


def test_a_binding_reports_each_broken_part_once() -> None:
    entries = DOSSIER_BINDING.entries
    with pytest.raises(DefinitionError) as twice:
        attrs.evolve(DOSSIER_BINDING, entries=(*entries, entries[0]))
    assert twice.value.problems == (f"deux commandes pour {entries[0].command.TRIGGER}",)
    with pytest.raises(DefinitionError) as wrong:
        attrs.evolve(DOSSIER_BINDING, status=_Wrong)
    assert wrong.value.problems == ("_Wrong ne correspond pas aux états déclarés",)
    # a templates predicate that knows the dossier's templates, and nothing else (not None): it builds
    known = frozenset(t for spec in DOSSIER_BINDING.definition.transitions for t in spec.emails)
    assert attrs.evolve(DOSSIER_BINDING, templates=known.__contains__).commands == DOSSIER_BINDING.commands
    with pytest.raises(DefinitionError) as unknown:
        attrs.evolve(DOSSIER_BINDING, templates=(known - {"accuse_reception_avance"}).__contains__)
    assert unknown.value.problems == ("deposer_avance : modèle de courriel inconnu : accuse_reception_avance",)


def test_the_forgotten_password_event_names_the_account_and_the_time() -> None:
    binding = compte.COMPTE_BINDING
    account = binding.fire(None, examples.creer_compte(), now=T0).compte
    life = [("premiere_connexion", 1), ("changer_mot_de_passe", 2), ("definir_question_secrete", 3),
            ("oublier_mot_de_passe", 4)]
    out: Any = None
    for trigger, hours in life:
        for command in examples.compte_commands_to_fire(account, trigger):
            out = binding.fire(account, command, now=T0 + timedelta(hours=hours))
            account = out.compte
    issued = [e for e in out.events if isinstance(e, compte.IdentifiantsATransmettre)]
    assert [(e.identifiant, e.at) for e in issued] == [(account.identifiant, T0 + timedelta(hours=4))]
