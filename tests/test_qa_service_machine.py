"""Dogfooding: the kit's state machine through our own service and SQLite adapter."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant

from segur_workflow import Command, DeposerAvance, Dossier, Outcome, examples
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.service import Result, WorkflowService
from segur_workflow.testing.machine import DossierMachine


class Horloge:
    """The machine decides the time of each command; the service reads it here."""

    def __init__(self) -> None:
        self.instant = examples.T0

    def now(self) -> datetime:
        return self.instant


def _outcome(result: Result) -> Outcome:
    return Outcome(result.dossier, result.events, result.emails)


class MachineServiceSQLite(DossierMachine):
    def __init__(self) -> None:
        super().__init__()
        self.horloge = Horloge()
        self.service = WorkflowService(SQLiteRepository(":memory:"), clock=self.horloge)

    def create(self, command: DeposerAvance, *, numero: str, now: datetime) -> Outcome:
        self.horloge.instant = now
        return _outcome(self.service.start(command))  # the service allocates its own number

    def execute(self, dossier: Dossier, command: Command, *, now: datetime) -> Outcome:
        self.horloge.instant = now
        return _outcome(self.service.handle(dossier.numero, command))

    @invariant()
    def stockage_fidele(self) -> None:
        if self.dossier is not None:
            stored = self.service.get(self.dossier.numero)
            assert stored.dossier == self.dossier, "le dossier relu diffère"
            assert stored.version == self.accepted, "une version par commande acceptée"
            pending = self.service.repository.pending_emails(limit=1000)
            assert [e.email.template for e in pending] == [r.template for r in self.dossier.emails_sent]


TestMachineServiceSQLite = MachineServiceSQLite.TestCase
TestMachineServiceSQLite.settings = settings(max_examples=100, stateful_step_count=10, deadline=None,
                                             suppress_health_check=[HealthCheck.too_slow])
