"""A hypothesis ``RuleBasedStateMachine`` derived from the dossier definition.

Requires the ``testing`` extra (hypothesis). One rule per trigger of ``DOSSIER.triggers`` is
generated when this module is imported; each rule sends a command of its trigger — the example
command that gets past the guards, a random valid one, a deliberately invalid one or an arbitrary
one — and checks the answer. The library's invariants (:mod:`.invariants`) run after every step.

Hosts subclass :class:`DossierMachine` to route commands through their own service
(:meth:`DossierMachine.create` / :meth:`DossierMachine.execute`) and add their own ``@invariant``
and ``@rule`` methods; see docs/qa.md.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .. import examples
from ..commands import Command, DeposerAvance
from ..engine import Outcome, PaiementDeclenche, allowed_commands, handle, start
from ..errors import (
    DuplicateFinancingRequest,
    PermissionDenied,
    RuleViolations,
    WorkflowError,
)
from ..history import is_automatic
from ..model import SAS, Actor, CoordonneesBancaires, Corridor, Dossier, Fournisseur
from ..states import DOSSIER
from ..vocabulary import Phase, Role
from . import invariants, strategies
from .paths import shortest_path_between

__all__ = ["MODES", "DossierMachine"]

#: How a generated rule builds its command (drawn at each step).
MODES = ("exemple", "valide", "invalide", "arbitraire")

# the example commands are drawn more often: they move the dossier along its lifecycle
_MODE_DRAWS = st.sampled_from((MODES[0], *MODES))
_ANY_ACTOR = st.one_of(strategies.actors(), st.just(examples.GESTIONNAIRE))
_DELAYS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=15))


class DossierMachine(RuleBasedStateMachine):
    """One dossier driven by random commands of every trigger, checked after each step.

    Attributes a subclass may read: ``dossier`` (the current dossier), ``now`` (time of the last
    accepted command), ``accepted`` / ``refused`` (counts), ``outcomes`` (every accepted
    :class:`~segur_workflow.engine.Outcome`, in order).
    """

    #: The corridor the dossier belongs to.
    corridor: ClassVar[Corridor] = SAS
    #: Check ``allowed_commands`` against ``handle`` for every trigger and these actors after each
    #: step (owner and gestionnaire); the per-command check covers every actor that sends a command.
    check_all_triggers_each_step: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.dossier: Dossier | None = None
        self.now: datetime = examples.T0
        self.accepted = 0
        self.refused = 0
        self.outcomes: list[Outcome] = []
        self._payments: Counter[Phase] = Counter()

    # -- hooks for hosts -------------------------------------------------------------------------------
    def create(self, command: DeposerAvance, *, numero: str, now: datetime) -> Outcome:
        """Create the dossier. Override to go through the host's service and repository."""
        return start(command, numero=numero, now=now, corridor=self.corridor)

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        """Apply one command. Override to go through the host's service; raise the library's errors."""
        return handle(dossier, command, now=now, corridor=self.corridor)

    def on_accepted(self, before: Dossier | None, command: Command, outcome: Outcome) -> None:
        """Called after each accepted command (and its checks): a place for host assertions."""

    def on_refused(self, before: Dossier | None, command: Command, error: WorkflowError) -> None:
        """Called after each refused command (and its checks)."""

    # -- the creation ------------------------------------------------------------------------------------
    @initialize(
        fournisseur=strategies.fournisseurs(),
        coordonnees=strategies.coordonnees_bancaires(),
        numero=strategies.numeros(),
        now=strategies.instants(max_value=datetime(2027, 1, 1)),
        depart=st.sampled_from(tuple(s for s in DOSSIER.state_names if s not in DOSSIER.final_states)),
        data=st.data(),
    )
    def deposer(self, *, fournisseur: Fournisseur, coordonnees: CoordonneesBancaires, numero: str,
                now: datetime, depart: str, data: st.DataObject) -> None:
        """Every run starts from a valid deposit (random provider, bank details, pieces, time), then
        follows a shortest path of example commands to a random non-final state, so that the random
        steps start anywhere in the lifecycle."""
        command = DeposerAvance(
            Actor(Role.FOURNISSEUR, fournisseur.ans_id), fournisseur, coordonnees,
            data.draw(strategies.pieces(Phase.AVANCE, self.corridor)), self.corridor.montant_avance,
        )
        outcome = self.create(command, numero=numero, now=now)
        self._accept(None, command, outcome, now)
        for trigger in shortest_path_between(outcome.dossier.status.value, depart):
            assert self.dossier is not None
            for step in examples.commands_to_fire(self.dossier, trigger, self.corridor):
                assert self.send(step, self.now + timedelta(hours=1)) is not None, f"chemin vers {depart} refusé"

    # -- one command ----------------------------------------------------------------------------------
    def _accept(self, before: Dossier | None, command: Command, outcome: Outcome, now: datetime) -> None:
        spec = DOSSIER.resolve(before.status.value if before is not None else None, command.TRIGGER)
        assert spec is not None
        after = outcome.dossier
        added = after.history[len(before.history) if before is not None else 0:]
        assert added, "une commande acceptée ajoute une entrée d'historique (le dossier rendu est inchangé)"
        entry = added[0]
        assert [is_automatic(e) for e in added] == [False] + [True] * (len(added) - 1), \
            "une commande acceptée ajoute une entrée d'historique, suivie des seuls contrôles automatiques du portail"
        assert len(added) == 1 or invariants.enters_phase(spec), "contrôles automatiques hors d'un dépôt"
        assert (entry.trigger, entry.actor, entry.command_id, entry.at) == (
            command.TRIGGER, command.actor, command.command_id, now)
        assert after.status.value == spec.target(before.status.value if before is not None else "")
        assert len(outcome.emails) == (1 if spec.email else 0), f"{command.TRIGGER} : courriels {outcome.emails}"
        for email in outcome.emails:
            assert email.template == spec.email
            assert email.to == after.fournisseur.email
        for event in outcome.events:
            if isinstance(event, PaiementDeclenche):
                self._payments[event.phase] += 1
                assert self._payments[event.phase] == 1, f"paiement de {event.phase} déclenché deux fois"
        self.dossier = after
        self.now = now
        self.accepted += 1
        self.outcomes.append(outcome)
        self.on_accepted(before, command, outcome)

    def send(self, command: Command, now: datetime) -> Outcome | None:
        """Send ``command`` at ``now`` and check the answer; ``None`` when it was refused."""
        before = self.dossier
        assert before is not None
        fingerprint = repr(before)
        allowed = allowed_commands(before, command.actor, self.corridor)
        try:
            outcome = self.execute(before, command, now=now)
        except WorkflowError as error:
            assert self.dossier is before, "un refus a remplacé le dossier"
            assert repr(before) == fingerprint, "un refus a modifié le dossier"
            self.refused += 1
            self.on_refused(before, command, error)
            return None
        assert repr(before) == fingerprint, "le dossier d'entrée a été modifié"
        assert command.TRIGGER in allowed, (
            f"{command.TRIGGER} accepté au statut {before.status} pour {command.actor} mais absent de allowed_commands")
        self._accept(before, command, outcome, now)
        return outcome

    def fire(self, trigger: str, mode: str, delay: timedelta, data: st.DataObject) -> None:
        """The body of every generated rule."""
        dossier = self.dossier
        assert dossier is not None
        now = self.now + delay
        creates = any(t.creates for t in DOSSIER.transitions if t.trigger == trigger)
        if not creates and trigger not in DOSSIER.triggers_from(dossier.status.value):
            # Refused by the status before its content is looked at: a cheap command says as much
            # as a drawn one, and the draws go to the triggers that can fire.
            command = attrs.evolve(examples.commands_to_fire(dossier, trigger, self.corridor)[-1],
                                   actor=data.draw(_ANY_ACTOR))
            assert self.send(command, now) is None, f"{trigger} accepté au statut {dossier.status}"
            return
        if mode == "exemple" and not creates:
            commands = examples.commands_to_fire(dossier, trigger, self.corridor)
            listed = {c.actor: trigger in allowed_commands(dossier, c.actor, self.corridor) for c in commands[-1:]}
            for command in commands:
                if command is commands[-1] and self.dossier is not None:
                    # prep steps may have made it possible: judge the last command on the current dossier
                    listed = {command.actor: trigger in allowed_commands(self.dossier, command.actor, self.corridor)}
                outcome = self.send(command, now)
                if command is commands[-1]:
                    assert (outcome is not None) == listed[command.actor], (
                        f"allowed_commands dit {listed[command.actor]} pour {trigger}, handle "
                        f"{'accepte' if outcome else 'refuse'}")
                if outcome is None:
                    return
                now += timedelta(seconds=1)
            return
        if mode == "valide":
            command = data.draw(strategies.commands(trigger, dossier=dossier, valid=True, corridor=self.corridor))
        elif mode == "invalide":
            command = data.draw(strategies.commands(trigger, dossier=dossier, valid=False, corridor=self.corridor))
        else:
            command = data.draw(strategies.commands(trigger, valid=None, corridor=self.corridor))
        if creates:
            assert isinstance(command, DeposerAvance)
            self._creation_refused(command, now)
            return
        outcome = self.send(command, now)
        if mode == "invalide":
            assert outcome is None, f"commande invalide acceptée : {command!r}"

    def _creation_refused(self, command: DeposerAvance, now: datetime) -> None:
        """A second deposit is refused: on the existing dossier, and as a new one for the same provider."""
        dossier = self.dossier
        assert dossier is not None
        fingerprint = repr(dossier)
        try:
            self.execute(dossier, command, now=now)
        except WorkflowError:  # TransitionNotAllowed or PermissionDenied from the engine; a host may say InvalidInput
            pass
        else:
            raise AssertionError("un dépôt a été accepté sur un dossier existant")
        try:
            start(command, numero=dossier.numero, now=now, corridor=self.corridor, existing_request=dossier.numero)
        except (DuplicateFinancingRequest, PermissionDenied, RuleViolations):
            pass
        else:
            raise AssertionError("une deuxième demande de financement a été acceptée")
        assert self.dossier is dossier
        assert repr(dossier) == fingerprint
        self.refused += 1

    @precondition(lambda self: self.dossier is not None and len(self.dossier.history) > 1)
    @rule(trigger=st.sampled_from(DOSSIER.triggers), back=_DELAYS)
    def commande_anterieure(self, trigger: str, back: timedelta) -> None:
        """A command dated before the dossier's last operation is refused (clock or replay error)."""
        dossier = self.dossier
        assert dossier is not None
        if any(t.creates for t in DOSSIER.transitions if t.trigger == trigger):
            return
        command = examples.commands_to_fire(dossier, trigger, self.corridor)[-1]
        assert self.send(command, dossier.history[-1].at - back) is None, "commande antérieure acceptée"

    # -- invariants ----------------------------------------------------------------------------------
    @invariant()
    def statut_declare(self) -> None:
        if self.dossier is not None:
            invariants.check_status(self.dossier)

    @invariant()
    def historique_ordonne_et_chaine(self) -> None:
        if self.dossier is not None:
            invariants.check_history(self.dossier, strictly_increasing_times=True)
            invariants.check_automatic_controls(self.dossier)
            commands = [e for e in self.dossier.history if not is_automatic(e)]
            assert len(commands) == self.accepted, "une entrée d'historique par commande acceptée"

    @invariant()
    def courriels_et_transitions(self) -> None:
        if self.dossier is not None:
            invariants.check_emails(self.dossier)
            assert sum(len(o.emails) for o in self.outcomes) == len(self.dossier.emails_sent)

    @invariant()
    def paiements(self) -> None:
        if self.dossier is not None:
            invariants.check_payments(self.dossier, self.corridor)
            assert all(n <= 1 for n in self._payments.values())

    @invariant()
    def commandes_permises(self) -> None:
        if self.dossier is not None and self.check_all_triggers_each_step:
            actors = invariants.standard_actors(self.dossier)[:2]
            invariants.check_allowed_commands(self.dossier, actors, self.now + timedelta(seconds=1), self.corridor)


def _make_rule(trigger: str) -> Any:
    def fire(self: DossierMachine, mode: str, delay: timedelta, data: st.DataObject) -> None:
        self.fire(trigger, mode, delay, data)

    fire.__name__ = fire.__qualname__ = trigger
    fire.__doc__ = f"Send a ``{trigger}`` command (example, valid, invalid or arbitrary)."
    # the example commands come first so that shrinking goes towards them
    return precondition(lambda self: self.dossier is not None)(
        rule(mode=_MODE_DRAWS, delay=_DELAYS, data=st.data())(fire)
    )


for _trigger in DOSSIER.triggers:
    if hasattr(DossierMachine, _trigger):
        raise RuntimeError(f"le déclencheur {_trigger!r} masquerait un attribut de DossierMachine")
    setattr(DossierMachine, _trigger, _make_rule(_trigger))
del _trigger
