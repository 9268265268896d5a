"""The contenders segur_workflow is compared with, all built from ``states.DOSSIER``.

Every contender does the same *domain work* once it has decided a transition is allowed:
:func:`apply_transition` runs the engine's own effect for the trigger (the data change), seals one
history entry on the SHA-256 chain and returns a new dossier in one ``attrs.evolve``. What differs
is how the transition is found and guarded:

* the **data floor**: a plain ``{(state, trigger): target}`` dict, then that work: no guard, no
  permission check (the least-work floor of ``handle()`` is even less: the dict lookup and one
  ``attrs.evolve`` to the resulting dossier, :class:`LeastWork`);
* **transitions, shared machine**: one ``Machine(model=None)`` for every dossier, a model added for
  the request and removed after it (``add_model`` / ``remove_model``, as its README documents for
  many short-lived models), the guards as ``conditions``; and the least ``transitions`` can do on
  that machine, ``machine.events[trigger].trigger(model)`` on a bare model (``Event.trigger``);
* **transitions, naive**: a ``transitions.Machine`` built for each dossier (context only);
* **python-statemachine 3.x**: one ``StateMachine`` class generated from the definition, an
  instance per dossier bound to a small model object, the guards as ``cond``.

No state or transition is written by hand here: each table below is generated from
``DOSSIER.states`` / ``DOSSIER.transitions``, so a change of the definition changes every contender.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
from statemachine import State as PsmState
from statemachine import StateMachine
from transitions import Machine

from segur_workflow import rules
from segur_workflow.binding import Route, Step
from segur_workflow.commands import Command
from segur_workflow.engine import DOSSIER_BINDING
from segur_workflow.history import append
from segur_workflow.model import SAS, Dossier
from segur_workflow.states import DOSSIER, Status

#: A contender's "one command on a loaded dossier": (dossier, command, now) -> new dossier.
Fire = Callable[[Dossier, Command, datetime], Dossier]

# -- the shared domain work ------------------------------------------------------------------------

#: (state, trigger) -> the binding's route, only to hand the engine's effect functions their argument.
_ROUTES: Mapping[tuple[str, str], Route] = {
    (src, cls.TRIGGER): route for (src, cls), route in DOSSIER_BINDING.routes.items() if route.source is not None
}


def apply_transition(dossier: Dossier, command: Command, dest: Status, now: datetime) -> Dossier:
    """The work every contender does after the decision: effect, sealed history entry, one evolve.

    No e-mail is rendered: the issue defines the peers' work as the same states and guards plus the
    same immutable history append. ``handle()`` is compared with them on ``controler_bloc``, which
    sends no e-mail, so both sides do exactly this work (plus the engine's own checks).
    """
    trigger = command.TRIGGER
    route = _ROUTES[(dossier.status.value, trigger)]
    change = route.effect(dossier, command, Step(route.spec, dest, now, SAS))
    history = append(
        dossier.history, at=now, actor=command.actor, trigger=trigger, source=dossier.status, dest=dest,
        comment=change.comment, command_id=command.command_id, details=change.details,
    )
    for actor, extra, comment, details in change.entries:  # the portal's controls after a deposit
        history = append(history, at=now, actor=actor, trigger=extra, source=dest, dest=dest, comment=comment,
                         command_id=None, details=details)
    return attrs.evolve(
        dossier, **change.updates, status=dest, history=history,
        date_changement_statut=now if dest is not dossier.status else dossier.date_changement_statut,
    )


def guards_pass(guards: tuple[str, ...], dossier: Dossier, command: Command) -> bool:
    """The definition's guards, run through the same rules as the engine."""
    return not rules.run(guards, rules.RuleContext(command=command, corridor=SAS, dossier=dossier))


# -- the floor ---------------------------------------------------------------------------------------

#: The hand-written-style table, generated: ``{(state, trigger): target state}``.
FLOOR_TABLE: Mapping[tuple[str, str], Status] = {
    (src, t.trigger): Status(dst) for src, t, dst in DOSSIER.edges() if not t.creates
}


def floor_apply(dossier: Dossier, command: Command, now: datetime) -> Dossier:
    """Dict lookup, then the shared work. No guard, no permission, no e-mail: the least possible."""
    dest = FLOOR_TABLE[(dossier.status.value, command.TRIGGER)]
    return apply_transition(dossier, command, dest, now)


# -- the least work ---------------------------------------------------------------------------------------
@attrs.frozen
class LeastWork:
    """The least a transition costs: find the target in a dict, build the new dossier in one evolve.

    The changed fields are those of ``handle()``'s result, computed before timing: what is timed is
    the lookup and one ``attrs.evolve`` of the same dossier to the same new one (checked equal).
    """

    dossier: Dossier
    changes: Mapping[str, Any]

    @classmethod
    def of(cls, dossier: Dossier, result: Dossier) -> LeastWork:
        names = [a.name for a in attrs.fields(Dossier)]
        return cls(dossier, {n: getattr(result, n) for n in names if getattr(result, n) is not getattr(dossier, n)})

    def apply(self, command: Command) -> Dossier:
        dest = FLOOR_TABLE[(self.dossier.status.value, command.TRIGGER)]
        return attrs.evolve(self.dossier, **{**self.changes, "status": dest})


# -- transitions: one shared machine, models added and removed (its README's pattern) -------------------
class SharedModel:
    """A request's model on the shared machine: the dossier and the callback that does the work."""

    state: str

    def __init__(self, dossier: Dossier) -> None:
        self.dossier = dossier

    def on_fired(self, event: Any) -> None:
        self.dossier = apply_transition(
            self.dossier, event.kwargs["command"], Status(self.state), event.kwargs["now"]
        )


def _shared_machine() -> Machine:
    return Machine(model=None, states=_TR_STATES, transitions=_TR_ROWS, initial=None, auto_transitions=False,
                   send_event=True)


def transitions_shared(dossier: Dossier, command: Command, now: datetime) -> Dossier:
    """One request on the shared machine: add the dossier's model, fire, remove the model."""
    model = SharedModel(dossier)
    SHARED.add_model(model, initial=dossier.status.value)
    try:
        if not model.trigger(command.TRIGGER, command=command, now=now):  # type: ignore[attr-defined]
            raise GuardRefused(command.TRIGGER)
        return model.dossier
    finally:
        SHARED.remove_model(model)


def transitions_event(dossier: Dossier, command: Command, now: datetime) -> Dossier:
    """The least ``transitions`` does: the shared machine's event fired on a bare model (``Event.trigger``)."""
    model = SharedModel(dossier)
    model.state = dossier.status.value
    if not SHARED.events[command.TRIGGER].trigger(model, command=command, now=now):
        raise GuardRefused(command.TRIGGER)
    return model.dossier


# -- transitions, used naively -------------------------------------------------------------------------

class TransitionsModel:
    """The object a naive ``transitions`` user attaches a ``Machine`` to: one per dossier."""

    state: str

    def __init__(self, dossier: Dossier) -> None:
        self.dossier = dossier
        self.machine = Machine(
            model=self,
            states=_TR_STATES,
            transitions=_TR_ROWS,
            initial=dossier.status.value,
            auto_transitions=False,
            send_event=True,
        )

    def on_fired(self, event: Any) -> None:
        self.dossier = apply_transition(
            self.dossier, event.kwargs["command"], Status(self.state), event.kwargs["now"]
        )


def _tr_condition(guards: tuple[str, ...]) -> Callable[[Any], bool]:
    def condition(event: Any) -> bool:
        return guards_pass(guards, event.model.dossier, event.kwargs["command"])

    return condition


_TR_STATES = [s.name for s in DOSSIER.states]
_TR_ROWS = [
    {
        "trigger": t.trigger,
        "source": list(t.sources),
        "dest": t.dest,  # None: an internal transition, as in the definition
        "conditions": [_tr_condition(t.guards)] if t.guards else [],
        "after": "on_fired",
    }
    for t in DOSSIER.transitions if not t.creates
]


SHARED = _shared_machine()


def transitions_fire(model: TransitionsModel, command: Command, now: datetime) -> Dossier:
    """Fire ``command`` on a dossier's own machine; a false guard raises like the engine refuses."""
    if not model.trigger(command.TRIGGER, command=command, now=now):  # type: ignore[attr-defined]
        raise GuardRefused(command.TRIGGER)
    return model.dossier


def transitions_request(dossier: Dossier, command: Command, now: datetime) -> Dossier:
    """What a stateless request costs the naive way: build the dossier's machine, then fire."""
    return transitions_fire(TransitionsModel(dossier), command, now)


class GuardRefused(Exception):
    """A peer's guard said no (the engine raises ``RuleViolations`` in that case)."""


# -- python-statemachine 3.x --------------------------------------------------------------------------

class PsmModel:
    """The domain object a python-statemachine instance stores its state on."""

    def __init__(self, dossier: Dossier) -> None:
        self.dossier = dossier
        self.state = dossier.status.value


def _psm_guard(guards: tuple[str, ...]) -> Callable[..., bool]:
    def guard(model: PsmModel, command: Command) -> bool:
        return guards_pass(guards, model.dossier, command)

    return guard


def _psm_after(event_data: Any, model: PsmModel, command: Command, now: datetime) -> None:
    model.dossier = apply_transition(model.dossier, command, Status(event_data.target.value), now)


def _build_psm_class() -> type[StateMachine]:
    """Generate the ``StateMachine`` subclass from the definition (states, events, guards)."""
    # python-statemachine needs an initial state in the class; the dossiers start from their status
    # (``start_value``), so the first declared state is a formality.
    names = [s.name for s in DOSSIER.states]
    states = {s.name: PsmState(s.name, value=s.name, initial=(s.name == names[0]), final=s.final)
              for s in DOSSIER.states}
    namespace: dict[str, Any] = dict(states)
    for trigger in DOSSIER.triggers:
        transitions_list = None
        for t in DOSSIER.transitions:
            if t.trigger != trigger or t.creates:
                continue
            for src in t.sources:
                kwargs: dict[str, Any] = {"after": _psm_after}
                if t.guards:
                    kwargs["cond"] = _psm_guard(t.guards)
                if t.dest is None:
                    tr = states[src].to.itself(internal=True, **kwargs)  # type: ignore[no-untyped-call]
                else:
                    tr = states[src].to(states[t.dest], **kwargs)
                transitions_list = tr if transitions_list is None else transitions_list | tr
        if transitions_list is not None:
            namespace[trigger] = transitions_list
    return type("DossierStateMachine", (StateMachine,), namespace)


PsmDossier = _build_psm_class()


def psm_new(dossier: Dossier) -> Any:
    model = PsmModel(dossier)
    return PsmDossier(model=model, start_value=dossier.status.value)


def psm_fire(machine: Any, command: Command, now: datetime) -> Dossier:
    try:
        machine.send(command.TRIGGER, command=command, now=now)
    except machine.TransitionNotAllowed:
        raise GuardRefused(command.TRIGGER) from None
    dossier: Dossier = machine.model.dossier
    return dossier


def psm_request(dossier: Dossier, command: Command, now: datetime) -> Dossier:
    return psm_fire(psm_new(dossier), command, now)
