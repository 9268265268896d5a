"""The stateful machine of the QA kit: 1,000 examples over the engine, and proof that it bites."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import ClassVar

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, run_state_machine_as_test

from segur_workflow import DOSSIER, Command, DeposerAvance, Dossier, Outcome, WorkflowError, handle
from segur_workflow.testing.machine import DossierMachine

# The 500 examples of the test command are 2 x 250 (the 1,000-example run is the benchmark's property case;
# pikepdf's inspection made each deposit dearer and make test must stay under 15 minutes): this half here,
# the other in tests/test_properties.py, so that the two xdist workers of `pytest -n 2` share them.
MACHINE_SETTINGS = settings(max_examples=250, stateful_step_count=10, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])


class MachineUn(DossierMachine):
    pass


TestMachineUn = MachineUn.TestCase
TestMachineUn.settings = MACHINE_SETTINGS

SMALL = settings(max_examples=60, stateful_step_count=10, deadline=None, database=None,
                 suppress_health_check=list(HealthCheck))
# a broken host must fail fast: no shrinking (slow on dossiers), the first failure as is
FIRST_FAILURE = settings(SMALL, max_examples=200, phases=[Phase.generate], report_multiple_bugs=False)


class Recording(DossierMachine):
    """Records which triggers the generated rules fired, and which were accepted."""

    fired: ClassVar[Counter[str]] = Counter()
    accepted_triggers: ClassVar[Counter[str]] = Counter()

    def fire(self, trigger: str, mode: str, delay: timedelta, data: st.DataObject) -> None:
        self.fired[trigger] += 1
        super().fire(trigger, mode, delay, data)

    def on_accepted(self, before: Dossier | None, command: Command, outcome: Outcome) -> None:
        self.accepted_triggers[command.TRIGGER] += 1


def test_one_rule_per_trigger_and_every_trigger_accepted_somewhere() -> None:
    # Random draws (SMALL is not derandomized): 150 examples accept every trigger almost always, and once in a
    # while (seen once in a full `pytest -n 2` run) one rare trigger is missed. Further batches of fresh draws, only
    # while one is still missing, keep the check as strict without making it depend on a lucky batch.
    for _ in range(4):
        run_state_machine_as_test(Recording, settings=settings(SMALL, max_examples=150))
        if set(Recording.accepted_triggers) == set(DOSSIER.triggers):
            break
    assert set(Recording.fired) == set(DOSSIER.triggers)
    assert set(Recording.accepted_triggers) == set(DOSSIER.triggers)


class DropsEmails(DossierMachine):
    """A host whose service forgets the e-mails of the solde phase."""

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        outcome = super().execute(dossier, command, now=now)
        if outcome.dossier.phase.value == "solde":
            return attrs.evolve(outcome, dossier=attrs.evolve(outcome.dossier, emails_sent=dossier.emails_sent))
        return outcome


class AcceptsEverything(DossierMachine):
    """A host that swallows refusals and pretends nothing happened (returns the same dossier)."""

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        try:
            return super().execute(dossier, command, now=now)
        except WorkflowError:
            return Outcome(dossier, (), ())


class MutatesOnRefusal(DossierMachine):
    """A host that changes the dossier in place before failing (frozen values make it hard: it cheats)."""

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        try:
            return super().execute(dossier, command, now=now)
        except WorkflowError:
            object.__setattr__(dossier, "demande_commentaire", "modifié")
            raise


class PaysTwice(DossierMachine):
    """A host that replays the payment event."""

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        outcome = super().execute(dossier, command, now=now)
        return attrs.evolve(outcome, events=outcome.events * 2)


@pytest.mark.parametrize("broken", [DropsEmails, AcceptsEverything, MutatesOnRefusal, PaysTwice],
                         ids=lambda c: c.__name__)
def test_the_machine_catches_a_broken_host(broken: type[DossierMachine]) -> None:
    with pytest.raises(AssertionError):
        run_state_machine_as_test(broken, settings=FIRST_FAILURE)


class MachineAvecDepot(DossierMachine):
    """The docs/qa.md example: a host keeping dossiers and an outbox, checked by the machine."""

    def __init__(self) -> None:
        super().__init__()
        self.depot: dict[str, Dossier] = {}
        self.outbox: list[str] = []

    def create(self, command: DeposerAvance, *, numero: str, now: datetime) -> Outcome:
        outcome = super().create(command, numero=numero, now=now)
        self.depot[numero] = outcome.dossier
        self.outbox.extend(e.template for e in outcome.emails)
        return outcome

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        stored = self.depot[dossier.numero]
        outcome = handle(stored, command, now=now, corridor=self.corridor)
        self.depot[dossier.numero] = outcome.dossier
        self.outbox.extend(e.template for e in outcome.emails)
        return outcome

    @invariant()
    def depot_a_jour(self) -> None:
        if self.dossier is not None:
            assert self.depot[self.dossier.numero] == self.dossier
            assert self.outbox == [r.template for r in self.dossier.emails_sent]


def test_a_host_subclass_runs() -> None:
    run_state_machine_as_test(MachineAvecDepot, settings=SMALL)
