"""Engine invariants (issue 2) as hypothesis properties over random command sequences.

Written with the QA kit (dogfooding): dossiers come from ``dossiers()``, commands from
``commands()``, checks from ``segur_workflow.testing.invariants``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segur_workflow as sw
from segur_workflow import (
    DOSSIER,
    Command,
    Dossier,
    Outcome,
    PaiementDeclenche,
    WorkflowError,
    allowed_commands,
    handle,
)
from segur_workflow.history import command_entry, is_automatic
from segur_workflow.testing import invariants
from segur_workflow.testing.machine import DossierMachine
from segur_workflow.testing.strategies import commands, dossiers


class MachineDeux(DossierMachine):
    """The kit's stateful machine (every trigger, every invariant): the second half of its 500
    examples (the first is in tests/test_qa_machine.py), in another module so xdist spreads them."""


TestMachineDeux = MachineDeux.TestCase
TestMachineDeux.settings = settings(max_examples=250, stateful_step_count=10, deadline=None,
                                    suppress_health_check=[HealthCheck.too_slow])

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NON_CREATING = tuple(t for t in DOSSIER.triggers if DOSSIER.resolve(None, t) is None)


@attrs.define
class Step:
    before: Dossier
    command: Command
    now: datetime
    fingerprint: str
    allowed: frozenset[str]
    outcome: Outcome | None
    error: WorkflowError | None
    after_fingerprint: str


def run_sequence(data: st.DataObject, length: int = 8) -> tuple[Dossier, list[Step]]:
    """A random dossier, then random commands of any trigger: valid for it, invalid, or arbitrary."""
    dossier = data.draw(dossiers(), label="dossier")
    now = dossier.history[-1].at
    steps: list[Step] = []
    for _ in range(data.draw(st.integers(1, length), label="length")):
        trigger = data.draw(st.sampled_from(NON_CREATING), label="trigger")
        kind = data.draw(st.sampled_from(["for_dossier", "arbitrary", "example"]), label="kind")
        if kind == "for_dossier":
            command = data.draw(commands(trigger, dossier=dossier))
        elif kind == "arbitrary":
            command = data.draw(commands(trigger))
        else:
            command = invariants.example_command(dossier, trigger, data.draw(st.sampled_from(
                invariants.standard_actors(dossier))))
        now += data.draw(st.timedeltas(timedelta(seconds=1), timedelta(days=10)), label="delay")
        fingerprint = repr(dossier)
        allowed = allowed_commands(dossier, command.actor)
        try:
            outcome, error = handle(dossier, command, now=now), None
        except WorkflowError as exc:
            outcome, error = None, exc
        steps.append(Step(dossier, command, now, fingerprint, allowed, outcome, error, repr(dossier)))
        if outcome is not None:
            dossier = outcome.dossier
    return dossier, steps


@PROPERTY
@given(st.data())
def test_status_is_always_a_declared_state(data: st.DataObject) -> None:
    final, steps = run_sequence(data)
    for s in steps:
        if s.outcome is not None:
            invariants.check_status(s.outcome.dossier)
            assert s.outcome.dossier.status.value in DOSSIER.state_names
    invariants.check_status(final)


@PROPERTY
@given(st.data())
def test_history_strictly_ordered_one_entry_per_accepted_command(data: st.DataObject) -> None:
    final, steps = run_sequence(data)
    def commands(d: sw.Dossier) -> int:  # the portal's automatic controls after a deposit are no command
        return sum(not is_automatic(e) for e in d.history)

    start_len = commands(steps[0].before)
    accepted = [s for s in steps if s.outcome is not None]
    assert commands(final) == start_len + len(accepted)
    for s in accepted:
        assert s.outcome is not None
        entry = command_entry(s.outcome.dossier)
        assert entry is not None
        assert (entry.trigger, entry.actor, entry.at, entry.command_id) == (
            s.command.TRIGGER, s.command.actor, s.now, s.command.command_id)
    invariants.check_history(final, strictly_increasing_times=True)
    invariants.check_automatic_controls(final)


@PROPERTY
@given(st.data())
def test_payment_triggered_at_most_once_per_phase(data: st.DataObject) -> None:
    final, steps = run_sequence(data)
    start = steps[0].before
    paid = Counter(d.phase for d in (start.avance, start.solde) if d is not None and d.paiement is not None)
    for s in steps:
        if s.outcome is not None:
            paid.update(e.phase for e in s.outcome.events if isinstance(e, PaiementDeclenche))
    for phase, n in paid.items():
        assert n <= 1, f"paiement {phase} déclenché {n} fois"
    assert final.total_paye == start.total_paye + sum(
        (e.montant for s in steps if s.outcome for e in s.outcome.events if isinstance(e, PaiementDeclenche)), 0)
    invariants.check_payments(final)


@PROPERTY
@given(st.data())
def test_a_refused_command_changes_nothing(data: st.DataObject) -> None:
    _final, steps = run_sequence(data)
    for s in steps:
        assert s.after_fingerprint == s.fingerprint, "le dossier d'entrée a changé"
        if s.error is not None:
            assert s.outcome is None


@PROPERTY
@given(st.data())
def test_allowed_commands_agrees_with_handle(data: st.DataObject) -> None:
    final, steps = run_sequence(data)
    for s in steps:
        if s.outcome is not None:
            assert s.command.TRIGGER in s.allowed, f"{s.command.TRIGGER} accepté mais non listé"
        if s.command.TRIGGER not in s.allowed:
            assert s.error is not None
    invariants.check_allowed_commands(final, invariants.standard_actors(final), steps[-1].now + timedelta(seconds=1))
