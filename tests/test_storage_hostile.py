"""A hostile review of what a repository keeps between its reads and writes (issue 11): threads sharing one
repository, a writer with the database in hand, values that travel. Each test here failed on a defect, or pins a
claim that a plausible change would break."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segur_workflow import ConcurrencyConflict, DossierAltere, Status
from segur_workflow.testing.contract import make_dossier

KEY = b"la cle de l'hote pour la revue hostile"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repository(request: pytest.FixtureRequest) -> Iterator[Any]:
    factory: Callable[..., Any] = request.getfixturevalue(f"{request.param}_factory")
    repo = factory(key=KEY)
    yield repo
    repo.close()


# -- threads sharing one repository ------------------------------------------------------------------------------
def test_a_read_that_loaded_before_another_threads_save_is_no_rollback(repository: Any) -> None:
    """A read loads the rows, then checks them: a save by another thread of this process may land in between
    (on SQLite the lock is let go between the two, on PostgreSQL they are two connections). The version this
    read loaded is older than the one the save just wrote, yet nothing was rolled back."""
    dossier = make_dossier(1, Status.AVANCE_EN_INSTRUCTION)[0]
    repository.add(dossier, outbox=())
    journal = repository._journal
    real = journal.check
    interleaved: list[int] = []

    def check(*args: Any, **kwargs: Any) -> Any:
        if not interleaved:  # another thread's save, between this read's load and its check
            interleaved.append(repository.save(dossier, expected_version=1, outbox=()))
        return real(*args, **kwargs)

    journal.check = check
    try:
        stored = repository.get(dossier.numero)
    finally:
        del journal.check
    assert interleaved == [2]
    assert stored.version == 1
    # the save's chain is the one kept: the next save goes on from it
    assert repository.get(dossier.numero).version == 2
    assert repository.save(dossier, expected_version=2, outbox=()) == 3


def test_threads_reading_and_saving_one_dossier_see_no_alteration(repository: Any) -> None:
    dossier = make_dossier(2, Status.AVANCE_EN_INSTRUCTION)[0]
    repository.add(dossier, outbox=())
    altered: list[DossierAltere] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                repository.get(dossier.numero)
            except DossierAltere as exc:
                altered.append(exc)

    def writer() -> None:
        try:
            for _ in range(60):
                try:
                    stored = repository.get(dossier.numero)
                    repository.save(stored.dossier, expected_version=stored.version, outbox=())
                except ConcurrencyConflict:
                    pass
                except DossierAltere as exc:
                    altered.append(exc)
        finally:
            stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads switch often: the interleavings come quickly
    try:
        threads = [threading.Thread(target=reader) for _ in range(2)] + [threading.Thread(target=writer)
                                                                        for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert altered == []
    assert repository.get(dossier.numero).version >= 61
