"""Dossiers reached by random legal paths through the dossier's definition."""

from __future__ import annotations

from datetime import datetime

import attrs
from hypothesis import strategies as st

from ... import examples
from ...commands import DeposerAvance
from ...engine import handle, start
from ...model import SAS, Actor, Corridor, Dossier
from ...states import DOSSIER, Status
from ...vocabulary import Phase, Role
from ..paths import reaching, shortest_path_between
from ._args import enum_member, require, require_corridor
from ._commands import COMMAND_IDS, DELAYS, GESTIONNAIRES, one_command
from ._files import pieces
from ._identifiers import numeros
from ._values import coordonnees_bancaires, fournisseurs, instants

__all__ = ["dossiers"]


@st.composite
def _dossier(draw: st.DrawFn, status: Status | None, corridor: Corridor, max_steps: int) -> Dossier:
    target = Status(status) if status is not None else draw(st.sampled_from(Status))
    can_reach = reaching(target.value)
    fournisseur = draw(fournisseurs())
    owner = Actor(Role.FOURNISSEUR, fournisseur.ans_id)
    gestionnaires = draw(GESTIONNAIRES)
    now = draw(instants(max_value=datetime(2027, 1, 1)))
    first = DeposerAvance(owner, fournisseur, draw(coordonnees_bancaires()), draw(pieces(Phase.AVANCE, corridor)),
                          corridor.montant_avance, command_id=draw(COMMAND_IDS))
    dossier = start(first, numero=draw(numeros(corridor)), now=now, corridor=corridor).dossier

    def fire(dossier: Dossier, trigger: str, now: datetime) -> tuple[Dossier, datetime]:
        prep = examples.commands_to_fire(dossier, trigger, corridor)[:-1]
        for example in prep:
            now += draw(DELAYS)
            command = attrs.evolve(example, actor=draw(st.sampled_from(gestionnaires)))
            dossier = handle(dossier, command, now=now, corridor=corridor).dossier
        last = draw(one_command((trigger,), dossier, True, corridor, COMMAND_IDS))
        if last.actor.role is Role.GESTIONNAIRE:
            last = attrs.evolve(last, actor=draw(st.sampled_from(gestionnaires)))
        now += draw(DELAYS)
        return handle(dossier, last, now=now, corridor=corridor).dossier, now

    budget = draw(st.integers(0, max_steps))
    while budget > 0:
        here = dossier.status.value
        # "stop" first, so that shrinking goes towards the shortest walks
        options: list[str | None] = [None] if here == target.value else []
        options += [t.trigger for t in DOSSIER.outgoing(here) if t.target(here) in can_reach]
        choice = draw(st.sampled_from(options))
        if choice is None:
            break
        dossier, now = fire(dossier, choice, now)
        budget -= 1
    for trigger in shortest_path_between(dossier.status.value, target.value):
        dossier, now = fire(dossier, trigger, now)
    return dossier


def dossiers(status: Status | str | None = None, *, corridor: Corridor = SAS, max_steps: int = 12
             ) -> st.SearchStrategy[Dossier]:
    """Dossiers reached by a random legal path ending in ``status`` (any status if ``None``).

    The path is drawn through the definition: random triggers among those that can still lead to
    ``status`` (loops *à modifier* / *en attente de pièce* ↔ *en instruction* and bloc controls
    included), random provider, gestionnaires, contents and times (strictly increasing, any UTC
    offset); after ``max_steps`` random steps a shortest path finishes the walk.
    """
    require_corridor("dossiers", corridor)
    require(isinstance(max_steps, int) and not isinstance(max_steps, bool) and max_steps >= 0,
             "dossiers(max_steps=…)", "un entier positif ou nul", max_steps)
    target = enum_member(Status, "dossiers(status=…)", status) if status is not None else None
    return _dossier(target, corridor, max_steps)
