"""The command_id contract: a token checked at construction, bound to actor, dossier, trigger and content.

A replay needs all of them to match and comes after the permission check; any other reuse is a
``CommandIdReused`` that says nothing of the stored outcome.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.ports import DossierRepository
from segur_workflow.service import SteppingClock, WorkflowService
from segur_workflow.testing.contract import fournisseur

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
G = examples.GESTIONNAIRE
G2 = sw.Actor(sw.Role.GESTIONNAIRE, "autre.gestionnaire")


@pytest.fixture(params=["memory", "sqlite"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorkflowService]:
    repository: DossierRepository = InMemoryRepository()
    if request.param == "sqlite":
        repository = SQLiteRepository(tmp_path / "ids.sqlite3")
    yield WorkflowService(repository, clock=SteppingClock(T0))
    if isinstance(repository, SQLiteRepository):
        repository.close()


def _depot(n: int, command_id: str | None = None) -> sw.DeposerAvance:
    return examples.deposer_avance(fournisseur(n), command_id=command_id)


def _owner(n: int) -> sw.Actor:
    return sw.Actor(sw.Role.FOURNISSEUR, fournisseur(n).ans_id)


def _decided(service: WorkflowService, n: int = 1) -> str:
    numero = service.start(_depot(n)).numero
    for bloc in sw.Bloc:
        service.handle(numero, sw.ControlerBloc(G, bloc, sw.Controle.OK))
    return numero


# -- the token -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", " ", "a b", "tab\there", "é", "x" * 129, "nul\x00", "\udc00", "fin\n", 42, b"id"])
def test_a_malformed_command_id_is_refused_at_construction(bad: object) -> None:
    with pytest.raises(sw.InvalidInput) as info:
        sw.Decider(G, command_id=bad)  # type: ignore[arg-type]
    assert info.value.parameter == "command_id"


@pytest.mark.parametrize("good", [None, "a", "x" * 128, "3f2b9c1e-4d5a-4e6f-8a9b-0c1d2e3f4a5b", "portail:req/42#1~"])
def test_well_formed_command_ids_are_accepted(good: str | None) -> None:
    assert sw.Decider(G, command_id=good).command_id == good


def test_the_digest_covers_the_content_and_not_the_id_or_actor() -> None:
    a = sw.Rejeter(G, "incomplet", command_id="a")
    assert a.digest() == sw.Rejeter(G2, "incomplet", command_id="b").digest()
    assert a.digest() != sw.Rejeter(G, "incomplet !", command_id="a").digest()
    assert a.digest() != sw.DemanderModification(G, "incomplet", command_id="a").digest()
    depot = _depot(1)
    # 30000 and 30000.00: the same amount
    assert depot.digest() == attrs.evolve(depot, montant=depot.montant.quantize(Decimal("0.01"))).digest()
    assert depot.digest() != attrs.evolve(depot, coordonnees_bancaires=attrs.evolve(
        depot.coordonnees_bancaires, titulaire="Quelqu'un d'autre")).digest()


# -- replays -------------------------------------------------------------------------------------------------
def test_a_retried_decider_replays_the_recorded_payment(service: WorkflowService) -> None:
    numero = _decided(service)
    first = service.handle(numero, sw.Decider(G, command_id="decision-1"))
    again = service.handle(numero, sw.Decider(G, command_id="decision-1"))
    assert again.replayed and not first.replayed
    paid = [e for e in again.events if isinstance(e, sw.PaiementDeclenche)]
    assert len(paid) == 1
    assert again.events == first.events
    assert again.events[0] == paid[0]  # the payment comes first
    assert paid[0].event_id == first.events[0].event_id


def test_a_retried_deposit_replays(service: WorkflowService) -> None:
    first = service.start(_depot(1, command_id="depot-1"))
    again = service.start(_depot(1, command_id="depot-1"))
    assert again.replayed
    assert (again.numero, again.emails, again.events) == (first.numero, first.emails, first.events)


# -- borrowing -----------------------------------------------------------------------------------------------
def test_another_provider_cannot_borrow_a_deposit_id(service: WorkflowService) -> None:
    first = service.start(_depot(1, command_id="depot-partage"))
    with pytest.raises(sw.CommandIdReused) as info:
        service.start(_depot(2, command_id="depot-partage"))
    said = str(info.value) + repr(info.value.to_dict())
    # Nothing of the first deposit comes back: neither its number, nor its provider, nor its bank details.
    for secret in (first.numero, fournisseur(1).ans_id, fournisseur(1).email, first.dossier.coordonnees_bancaires.iban):
        assert secret not in said
    assert service.repository.find_by_provider(fournisseur(2).ans_id) is None


def test_a_provider_cannot_replay_a_gestionnaire_command(service: WorkflowService) -> None:
    numero = service.start(_depot(1)).numero
    service.handle(numero, sw.Rejeter(G, "dossier incomplet", command_id="rejet-1"))
    # Permission first: the provider is told it may not reject, not what the id did.
    with pytest.raises(sw.PermissionDenied):
        service.handle(numero, sw.Rejeter(_owner(1), "dossier incomplet", command_id="rejet-1"))


def test_another_gestionnaire_cannot_replay_an_id(service: WorkflowService) -> None:
    numero = service.start(_depot(1)).numero
    service.handle(numero, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.KO, command_id="ctl-1"))
    with pytest.raises(sw.CommandIdReused):
        service.handle(numero, sw.ControlerBloc(G2, sw.Bloc.INFORMATIONS, sw.Controle.KO, command_id="ctl-1"))


def test_the_same_id_with_other_content_is_refused(service: WorkflowService) -> None:
    numero = service.start(_depot(1)).numero
    service.handle(numero, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.KO, command_id="ctl-1"))
    version = service.get(numero).version
    with pytest.raises(sw.CommandIdReused):
        service.handle(numero, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK, command_id="ctl-1"))
    assert service.get(numero).version == version


def test_an_id_is_bound_to_its_dossier(service: WorkflowService) -> None:
    one = service.start(_depot(1)).numero
    two = service.start(_depot(2)).numero
    service.handle(one, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK, command_id="ctl"))
    with pytest.raises(sw.CommandIdReused):
        service.handle(two, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK, command_id="ctl"))
    assert service.get(two).version == 1


def test_an_id_applied_without_the_service_is_never_replayed() -> None:
    # Written straight through the repository: no digest recorded, so no command can match it.
    repository = InMemoryRepository()
    outcome = sw.start(_depot(1, command_id="brut"), numero="FINSAS000001", now=T0)
    repository.add(outcome.dossier, outbox=outcome.emails, events=outcome.events)
    with pytest.raises(sw.CommandIdReused):
        WorkflowService(repository, clock=SteppingClock(T0)).start(_depot(1, command_id="brut"))


def test_command_id_reused_is_structured_and_picklable() -> None:
    error = sw.CommandIdReused("abc", "decider")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.command_id, copy.trigger, str(copy)) == ("abc", "decider", str(error))
    assert copy.to_dict() == {"code": "commande.identifiant_reutilise", "message": error.message,
                              "command_id": "abc", "trigger": "decider"}
    assert isinstance(copy, sw.WorkflowError)
