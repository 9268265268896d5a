"""Model-based paths: derived from the definition's graph, they cover it and run on the engine."""

from __future__ import annotations

import pytest

from segur_workflow import COMPTE, DOSSIER, Status
from segur_workflow.states import INITIAL
from segur_workflow.testing import invariants
from segur_workflow.testing.paths import (
    Path,
    all_edges,
    covered_edges,
    edge_cover,
    parametrize,
    parametrize_states,
    reaching,
    shortest_path_between,
    shortest_paths,
    simple_paths,
)

EDGE_COVER = edge_cover()


def test_edge_cover_fires_every_transition_of_the_definition() -> None:
    expected = {(src, spec.trigger) for src, spec, _dst in DOSSIER.edges()}
    assert covered_edges(EDGE_COVER) == all_edges() == expected
    assert ("avance_en_instruction", "controler_bloc") in expected  # internal transitions count too
    assert ("solde_en_instruction", "controler_bloc") in expected


def test_edge_cover_is_small_and_without_redundant_path() -> None:
    for p in EDGE_COVER:
        others = covered_edges(q for q in EDGE_COVER if q is not p)
        assert not set(p.edges) <= others, f"{p.id} n'apporte aucune transition"
    assert len(EDGE_COVER) <= len(all_edges())


def test_edge_cover_of_the_account_machine() -> None:
    assert covered_edges(edge_cover(COMPTE)) == all_edges(COMPTE)
    for path in edge_cover(COMPTE):
        steps = path.walk()
        assert [s.subject.status.value for s in steps] == list(path.states)


@parametrize(EDGE_COVER)
def test_every_edge_cover_path_runs_on_the_engine(path: Path) -> None:
    steps = path.walk()
    assert [s.trigger for s in steps] == list(path.triggers)
    for step in steps:
        assert step.dossier.status.value == step.dest
        invariants.check_dossier(step.dossier, strictly_increasing_times=True)
    assert steps[-1].dossier.history[-1].trigger == path.triggers[-1]


def test_shortest_paths_reach_every_state_minimally() -> None:
    short = shortest_paths()
    assert set(short) == set(DOSSIER.state_names)
    assert short["avance_en_instruction"].triggers == ("deposer_avance",)
    assert short["solde_en_instruction"].triggers == ("deposer_avance", "decider", "deposer_solde")
    for state, p in short.items():
        assert p.end == state
        # no shorter walk exists: a breadth-first search from creation agrees on the length
        assert len(p) == len(shortest_path_between(INITIAL, state))


@parametrize_states()
def test_shortest_path_runs_to_its_state(path: Path) -> None:
    dossier = path.run()
    assert dossier.status is Status(path.end)
    invariants.check_dossier(dossier)


def test_simple_paths_never_revisit_a_state_and_respect_the_bound() -> None:
    every = simple_paths()
    assert len({p.triggers for p in every}) == len(every)
    for p in every:
        assert len(set(p.states)) == len(p.states)
    assert all(len(p) <= 2 for p in simple_paths(2))
    assert {p.triggers for p in simple_paths(2)} < {p.triggers for p in every}
    finals = simple_paths(ending=lambda s: s in DOSSIER.final_states)
    assert {p.end for p in finals} == set(DOSSIER.final_states)


@parametrize(simple_paths(ending=lambda s: s in DOSSIER.final_states), argname="chemin")
def test_simple_paths_to_final_states_run(chemin: Path) -> None:
    assert chemin.run().status.final


def test_paths_have_readable_unique_ids_and_commands() -> None:
    ids = [p.id for p in EDGE_COVER]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("deposer_avance>") or i == "deposer_avance" for i in ids)
    decided = shortest_paths()["avance_decidee"].commands()
    assert [t for t, _ in decided] == ["deposer_avance", "decider"]
    # decider needs every bloc OK: the example commands control the pieces first (the portal has
    # marked the two other blocs OK at deposit)
    assert [c.TRIGGER for c in decided[1][1]] == ["controler_bloc", "decider"]


def test_path_errors() -> None:
    with pytest.raises(ValueError, match="inaccessible"):
        shortest_path_between("solde_decidee", "avance_en_instruction")
    with pytest.raises(ValueError, match="vide"):
        Path((), ()).run()
    p = shortest_paths()["avance_decidee"]
    spec = next(t for t in DOSSIER.transitions if t.trigger == "completer")
    with pytest.raises(ValueError, match="part de"):
        p.then("solde_a_modifier", spec)


def test_reaching_is_the_reverse_closure() -> None:
    assert reaching("avance_rejetee") == {INITIAL, "avance_en_instruction", "avance_rejetee"}
    assert "solde_a_modifier" in reaching("solde_decidee")
    assert "avance_rejetee" not in reaching("solde_decidee")
