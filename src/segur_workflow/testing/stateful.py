"""A hypothesis ``RuleBasedStateMachine`` for any machine, derived from its binding: :func:`machine_for`.

Requires the ``testing`` extra (hypothesis). :class:`~segur_workflow.testing.DossierMachine` is the dossier's,
with the dossier's own checks (payments, the portal's controls, the corridor…); this one needs nothing but a
:class:`~segur_workflow.testing.paths.Driver` (the binding and the example commands), so a host's machine
gets the same walk: a creation, then one rule per trigger of the definition, each sending the trigger's
example commands or one drawn with ``st.from_type`` from the command class the binding ties to it, and
checking the answer against the definition and the binding after every step.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .. import examples
from ..commands import Command
from ..errors import WorkflowError
from ..history import history_problems
from ..states import INITIAL
from . import strategies as _strategies  # registers st.from_type for the command classes, a host's included
from .paths import Driver

__all__ = ["SubjectMachine", "machine_for"]

_DELAYS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=15))
_MODES = st.sampled_from(("exemple", "exemple", "arbitraire"))


class SubjectMachine(RuleBasedStateMachine):
    """One subject of :attr:`driver`'s machine driven by every trigger; see :func:`machine_for`.

    Attributes a subclass may read: ``subject``, ``now`` (time of the last accepted command),
    ``accepted`` / ``refused`` (counts).
    """

    driver: ClassVar[Driver]
    #: when the walk starts (each accepted command comes after it)
    start: ClassVar[datetime] = examples.T0
    #: whether a command dated before the subject's last operation must be refused (the binding's default
    #: ``checks``, :func:`~segur_workflow.binding.time_order`)
    check_time_order: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.subject: Any = None
        self.now = self.start
        self.accepted = 0
        self.refused = 0

    @initialize(data=st.data())
    def creer(self, data: st.DataObject) -> None:
        """The example commands of a creating trigger of the definition."""
        creating = sorted({t.trigger for t in self.driver.definition.transitions if t.creates})
        trigger = data.draw(st.sampled_from(creating), label="création")
        for command in self.driver.commands(None, trigger):
            assert self.send(command, self.now) is not None, f"création {trigger} refusée"

    def send(self, command: Command, now: datetime) -> Any:
        """Send ``command`` at ``now`` and check the answer; ``None`` when it was refused."""
        before = self.subject
        fingerprint = repr(before)
        binding = self.driver.binding
        permitted = binding.triggers_for(before, command.actor)
        try:
            outcome = self.driver.fire(before, command, now)
        except WorkflowError:
            assert repr(before) == fingerprint, "un refus a modifié le sujet"
            self.refused += 1
            return None
        assert repr(before) == fingerprint, "le sujet d'entrée a été modifié"
        trigger = command.TRIGGER
        assert trigger in permitted, f"{trigger} accepté pour {command.actor} mais refusé par les permissions"
        after = self.driver.subject(outcome)
        source = INITIAL if before is None else before.status.value
        spec = self.driver.definition.resolve(None if before is None else source, trigger)
        assert spec is not None, f"{trigger} accepté depuis {source}, qui n'en a pas la transition"
        assert after.status.value == spec.target(source), f"{trigger} mène à {after.status.value}"
        added = after.history[len(before.history) if before is not None else 0:]
        assert added, "une commande acceptée ajoute une entrée d'historique"
        assert (added[0].trigger, added[0].actor, added[0].command_id, added[0].at) == (
            trigger, command.actor, command.command_id, now)
        emails = getattr(outcome, "emails", ())
        assert [e.template for e in emails] == list(spec.emails), f"{trigger} : courriels {emails}"
        assert all(e.to == binding.recipient(after) for e in emails)
        self.subject, self.now = after, now
        self.accepted += 1
        return outcome

    def fire(self, trigger: str, mode: str, delay: timedelta, data: st.DataObject) -> None:
        """The body of every generated rule."""
        now = self.now + delay
        if mode == "exemple" and trigger in self.driver.definition.triggers_from(self.subject.status.value):
            for command in self.driver.commands(self.subject, trigger):
                if self.send(command, now) is None:
                    return
                now += timedelta(seconds=1)
            return
        command = data.draw(st.from_type(self.driver.binding.commands[trigger]))
        self.send(command, now)

    @precondition(lambda self: self.check_time_order and self.subject is not None and self.subject.history)
    @rule(back=_DELAYS)
    def commande_anterieure(self, back: timedelta) -> None:
        """Any command dated before the subject's last operation is refused (the engine's order of time)."""
        for name in self.driver.definition.triggers_from(self.subject.status.value):
            for command in self.driver.commands(self.subject, name)[-1:]:
                assert self.send(command, self.subject.history[-1].at - back) is None, "commande antérieure acceptée"

    @invariant()
    def statut_et_historique(self) -> None:
        subject = self.subject
        if subject is None:
            return
        definition = self.driver.definition
        assert subject.status.value in definition.state_names, f"statut non déclaré : {subject.status!r}"
        assert not history_problems(subject), "historique corrompu"
        history = subject.history
        assert history, "un sujet a au moins l'entrée de sa création"
        assert history[0].source is None, "la première entrée est la création"
        assert all(a.at <= b.at for a, b in itertools.pairwise(history)), "historique désordonné"
        assert all(e.trigger in definition.triggers for e in history)
        assert sum(1 for e in history if e.actor.role.value != "systeme") <= self.accepted


def machine_for(driver: Driver, *, name: str | None = None) -> type[SubjectMachine]:
    """A :class:`SubjectMachine` subclass for ``driver``'s machine, with one rule per trigger of its definition.

    Run it as hypothesis runs any state machine: ``TestTicket = machine_for(driver).TestCase``. Subclass the
    result to add ``@invariant`` and ``@rule`` methods of your own.
    """
    if not isinstance(driver, Driver):
        raise TypeError(f"machine_for attend un Driver (segur_workflow.testing.paths.Driver), reçu {driver!r}")
    definition = driver.definition
    namespace: dict[str, Any] = {"driver": driver, "__doc__": f"La machine {definition.title} pilotée au hasard."}
    for trigger in definition.triggers:
        if hasattr(SubjectMachine, trigger):
            raise ValueError(f"le déclencheur {trigger!r} masquerait un attribut de SubjectMachine")
        if any(t.creates for t in definition.transitions if t.trigger == trigger):
            continue  # the creation is the initial rule
        namespace[trigger] = _make_rule(trigger)
    _strategies.register_type_strategies()
    return type(name or f"{definition.name.title()}Machine", (SubjectMachine,), namespace)


def _make_rule(trigger: str) -> Any:
    def fire(self: SubjectMachine, mode: str, delay: timedelta, data: st.DataObject) -> None:
        self.fire(trigger, mode, delay, data)

    fire.__name__ = fire.__qualname__ = trigger
    fire.__doc__ = f"Send a ``{trigger}`` command (an example one or one drawn from its class)."
    return precondition(lambda self: self.subject is not None)(rule(mode=_MODES, delay=_DELAYS, data=st.data())(fire))
