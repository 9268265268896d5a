"""The service: one unit of work per command, outbox with the state, retries, idempotency, numbering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segur_workflow import (
    SAS,
    Bloc,
    CommandIdReused,
    ConcurrencyConflict,
    Controle,
    ControlerBloc,
    Decider,
    DeposerAvance,
    Dossier,
    DossierNotFound,
    DuplicateFinancingRequest,
    InvalidInput,
    Rejeter,
    RuleViolations,
    Status,
    TransitionNotAllowed,
    examples,
)
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.emails import Email
from segur_workflow.ports import Clock, DossierRepository, NewDossier
from segur_workflow.service import NumerosEpuises, SteppingClock, SystemClock, WorkflowService, next_numero
from segur_workflow.testing.contract import fournisseur

G = examples.GESTIONNAIRE
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _service(repo: DossierRepository | None = None, **kw: object) -> WorkflowService:
    return WorkflowService(repo or InMemoryRepository(), clock=SteppingClock(T0), **kw)  # type: ignore[arg-type]


def _depot(n: int, command_id: str | None = None) -> DeposerAvance:
    return examples.deposer_avance(fournisseur(n), command_id=command_id)


def test_start_allocates_numbers_in_sequence_and_writes_the_acknowledgement() -> None:
    service = _service()
    numeros = [service.start(_depot(n)).numero for n in (1, 2, 3)]
    assert numeros == ["FINSAS000001", "FINSAS000002", "FINSAS000003"]
    pending = service.repository.pending_emails()
    assert [(p.numero, p.email.template) for p in pending] == [(n, "accuse_reception_avance") for n in numeros]


def test_a_refused_start_consumes_no_number() -> None:
    service = _service()
    service.start(_depot(1))
    with pytest.raises(DuplicateFinancingRequest) as info:
        service.start(_depot(1))
    assert info.value.existing == "FINSAS000001"
    bad = attrs.evolve(_depot(2), montant=SAS.montant_avance + 1)
    with pytest.raises(RuleViolations):
        service.start(bad)
    assert service.start(_depot(3)).numero == "FINSAS000002"
    assert len(service.repository.pending_emails()) == 2


def test_handle_saves_state_and_outbox_together() -> None:
    service = _service()
    numero = service.start(_depot(1)).numero
    for bloc in Bloc:
        result = service.handle(numero, ControlerBloc(G, bloc, Controle.OK))
        assert result.emails == ()
    result = service.handle(numero, Decider(G))
    assert result.version == 5
    assert result.dossier.status is Status.AVANCE_DECIDEE
    stored = service.get(numero)
    assert (stored.dossier, stored.version) == (result.dossier, 5)
    assert [p.email for p in service.repository.pending_emails()][-1] == result.emails[0]
    assert [p.version for p in service.repository.pending_emails()] == [1, 5]


def test_a_refused_command_changes_nothing() -> None:
    service = _service()
    numero = service.start(_depot(1)).numero
    with pytest.raises(TransitionNotAllowed):
        service.handle(numero, examples.commands_to_fire(service.get(numero).dossier, "deposer_solde")[0])
    with pytest.raises(RuleViolations):
        service.handle(numero, Rejeter(G, "  "))
    assert service.get(numero).version == 1
    assert len(service.repository.pending_emails()) == 1


def test_unknown_dossier() -> None:
    with pytest.raises(DossierNotFound):
        _service().handle("FINSAS000042", Decider(G))


def test_wrong_commands_are_refused_with_invalid_input() -> None:
    service = _service()
    with pytest.raises(InvalidInput):
        service.start(Decider(G))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        service.handle("FINSAS000001", _depot(1))
    with pytest.raises(InvalidInput):
        WorkflowService(InMemoryRepository(), max_attempts=0)


# -- idempotency ---------------------------------------------------------------
def test_a_repeated_start_returns_the_recorded_outcome() -> None:
    service = _service()
    first = service.start(_depot(1, command_id="depot-1"))
    again = service.start(_depot(1, command_id="depot-1"))
    assert again.replayed
    assert (again.numero, again.version, again.emails) == (first.numero, 1, first.emails)
    assert again.events == first.events  # the events recorded when it was applied
    assert [e.event_id for e in again.events] == [e.event_id for e in first.events]
    assert len(service.repository.pending_emails()) == 1
    assert service.repository.last_numero("FINSAS") == "FINSAS000001"


def test_a_repeated_command_changes_nothing() -> None:
    service = _service()
    numero = service.start(_depot(1)).numero
    for bloc in Bloc:
        service.handle(numero, ControlerBloc(G, bloc, Controle.OK))
    first = service.handle(numero, Decider(G, command_id="decision-1"))
    again = service.handle(numero, Decider(G, command_id="decision-1"))
    assert again.replayed
    assert (again.version, again.emails, again.dossier) == (first.version, first.emails, first.dossier)
    assert service.get(numero).version == first.version
    assert len(service.repository.pending_emails()) == 2
    assert [e.command_id for e in service.get(numero).dossier.history].count("decision-1") == 1


def test_a_replay_after_later_changes_reports_the_version_it_produced() -> None:
    service = _service()
    numero = service.start(_depot(1)).numero
    first = service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.KO, command_id="k"))
    service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK))
    again = service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.KO, command_id="k"))
    assert again.replayed
    assert again.version == first.version == 2
    assert again.dossier.avance.controles[Bloc.INFORMATIONS] is Controle.OK  # the state now, unchanged


def test_a_command_id_reused_for_another_command_is_refused() -> None:
    service = _service()
    numero = service.start(_depot(1, command_id="x")).numero
    with pytest.raises(CommandIdReused) as info:
        service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK, command_id="x"))
    assert (info.value.command_id, info.value.trigger) == ("x", "controler_bloc")
    other = service.start(_depot(2)).numero
    service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK, command_id="y"))
    with pytest.raises(CommandIdReused):
        service.handle(other, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK, command_id="y"))
    assert service.get(other).version == 1


# -- conflicts and retries ---------------------------------------------------------------
@attrs.define
class _Interfering:
    """A repository where another writer changes the dossier right before our first ``conflicts`` saves."""

    inner: InMemoryRepository
    conflicts: int = 1
    saves: int = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email], **rest: Any) -> int:
        self.saves += 1
        if self.conflicts:
            self.conflicts -= 1
            stored = self.inner.get(dossier.numero)
            rival = ControlerBloc(G, Bloc.COORDONNEES_BANCAIRES, Controle.KO)
            later = stored.dossier.history[-1].at + timedelta(seconds=1)
            from segur_workflow import handle

            self.inner.save(handle(stored.dossier, rival, now=later).dossier,
                            expected_version=stored.version, outbox=())
        return self.inner.save(dossier, expected_version=expected_version, outbox=outbox, **rest)


def _interfering(conflicts: int) -> tuple[WorkflowService, _Interfering, str]:
    inner = InMemoryRepository()
    numero = _service(inner).start(_depot(1)).numero
    repo = _Interfering(inner, conflicts)
    return WorkflowService(repo, clock=SteppingClock(T0 + timedelta(days=1)), max_attempts=3), repo, numero  # type: ignore[arg-type]


def test_a_conflict_is_retried_from_a_fresh_load() -> None:
    service, repo, numero = _interfering(conflicts=2)
    result = service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK))
    assert result.attempts == 3
    assert repo.saves == 3
    dossier = service.get(numero).dossier
    # Both the rival's changes and ours are there: the retry decided again from the new state.
    assert dossier.avance.controles[Bloc.COORDONNEES_BANCAIRES] is Controle.KO
    assert dossier.avance.controles[Bloc.INFORMATIONS] is Controle.OK
    assert service.get(numero).version == 4


def test_retries_are_bounded() -> None:
    service, repo, numero = _interfering(conflicts=5)
    with pytest.raises(ConcurrencyConflict):
        service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK))
    assert repo.saves == 3
    assert len(repo.inner.pending_emails()) == 1


def test_no_retry_when_max_attempts_is_one() -> None:
    inner = InMemoryRepository()
    numero = _service(inner).start(_depot(1)).numero
    repo = _Interfering(inner, 1)
    service = WorkflowService(repo, clock=SteppingClock(T0 + timedelta(days=1)), max_attempts=1)  # type: ignore[arg-type]
    with pytest.raises(ConcurrencyConflict):
        service.handle(numero, ControlerBloc(G, Bloc.INFORMATIONS, Controle.OK))


@attrs.define
class _NumberThief:
    """Another service instance takes the next number between our look-up and our ``add``.

    A host adapter without ``create`` (no counter row): the service falls back to the greatest number + 1.
    """

    inner: InMemoryRepository
    thefts: int = 1
    create: None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def add(self, dossier: Dossier, *, outbox: Sequence[Email], **rest: Any) -> int:
        if self.thefts:
            self.thefts -= 1
            _service(self.inner).start(_depot(99))
        return self.inner.add(dossier, outbox=outbox, **rest)


def test_a_number_taken_meanwhile_is_retried_with_the_next_one() -> None:
    inner = InMemoryRepository()
    service = WorkflowService(_NumberThief(inner), clock=SteppingClock(T0))  # type: ignore[arg-type]
    result = service.start(_depot(1))
    assert result.numero == "FINSAS000002"
    assert result.attempts == 2
    assert inner.find_by_provider(fournisseur(99).ans_id) == "FINSAS000001"


@attrs.define
class _CounterThief:
    """Another deposit lands through another service just before ours takes the counter."""

    inner: InMemoryRepository
    thefts: int = 1

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        if self.thefts:
            self.thefts -= 1
            _service(self.inner).start(_depot(99))
        return self.inner.create(prefix, build)


def test_with_a_counter_a_concurrent_deposit_costs_no_retry() -> None:
    inner = InMemoryRepository()
    service = WorkflowService(_CounterThief(inner), clock=SteppingClock(T0))  # type: ignore[arg-type]
    result = service.start(_depot(1))
    assert (result.numero, result.attempts) == ("FINSAS000002", 1)
    assert inner.find_by_provider(fournisseur(99).ans_id) == "FINSAS000001"


# -- numbering ---------------------------------------------------------------
def test_next_numero() -> None:
    assert next_numero(None) == "FINSAS000001"
    assert next_numero("FINSAS009250") == "FINSAS009251"
    with pytest.raises(NumerosEpuises):
        next_numero("FINSAS999999")
    with pytest.raises(InvalidInput):
        next_numero("FINXYZ000001")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=12))
def test_numbers_have_no_gaps_whatever_is_refused(duplicates: list[bool]) -> None:
    # True: the provider already filed (refused); False: a new provider (accepted).
    service = _service()
    accepted = 0
    for i, duplicate in enumerate(duplicates):
        if duplicate and accepted:
            with pytest.raises(DuplicateFinancingRequest):
                service.start(_depot(1))
        else:
            service.start(_depot(100 + i) if accepted else _depot(1))
            accepted += 1
    numeros = sorted(p.numero for p in service.repository.pending_emails())
    assert numeros == [f"FINSAS{n:06d}" for n in range(1, accepted + 1)]


# -- clocks ---------------------------------------------------------------
def test_clocks() -> None:
    clock = SteppingClock(T0, timedelta(seconds=5))
    assert [clock.now(), clock.now()] == [T0, T0 + timedelta(seconds=5)]
    assert SystemClock().now().utcoffset() == timedelta(0)
    assert isinstance(clock, Clock)


def test_a_naive_clock_is_refused_by_the_engine() -> None:
    naive = SteppingClock(datetime(2026, 1, 1))
    with pytest.raises(InvalidInput):
        WorkflowService(InMemoryRepository(), clock=naive).start(_depot(1))


def test_service_on_sqlite_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with SQLiteRepository(path) as repo:
        numero = WorkflowService(repo, clock=SteppingClock(T0)).start(_depot(1, command_id="d")).numero
    with SQLiteRepository(path) as repo:
        service = WorkflowService(repo, clock=SteppingClock(T0 + timedelta(hours=1)))
        assert service.start(_depot(1, command_id="d")).replayed
        assert service.start(_depot(2)).numero == "FINSAS000002"
        assert service.get(numero).dossier.status is Status.AVANCE_EN_INSTRUCTION


@attrs.define
class _SameCommandRacer:
    """The same deposit (same command id) lands through another service just before our ``add``."""

    inner: InMemoryRepository
    command: DeposerAvance

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        _service(self.inner).start(self.command)
        return self.inner.create(prefix, build)


def test_the_same_deposit_racing_itself_ends_as_a_replay() -> None:
    inner = InMemoryRepository()
    command = _depot(1, command_id="depot-unique")
    result = WorkflowService(_SameCommandRacer(inner, command), clock=SteppingClock(T0)).start(command)  # type: ignore[arg-type]
    assert result.replayed
    assert result.numero == "FINSAS000001"
    assert len(inner.pending_emails()) == 1


def test_a_different_deposit_by_the_same_provider_racing_is_refused() -> None:
    inner = InMemoryRepository()
    racer = _SameCommandRacer(inner, _depot(1, command_id="autre"))
    with pytest.raises(DuplicateFinancingRequest):
        WorkflowService(racer, clock=SteppingClock(T0)).start(_depot(1, command_id="mien"))  # type: ignore[arg-type]
    assert inner.last_numero("FINSAS") == "FINSAS000001"
