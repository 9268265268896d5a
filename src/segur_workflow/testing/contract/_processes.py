"""The multi-process checks of the contract: races between processes, a process killed mid-write."""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from ... import examples
from ...commands import ControlerBloc
from ...errors import ConcurrencyConflict
from ...ports import DossierRepository
from ...states import Status
from ...vocabulary import Bloc, Controle
from ._data import make_dossier, step

__all__ = [
    "RaceReport",
    "RepositoryFactory",
    "check_race",
    "crash_between_state_and_outbox",
    "run_race",
    "run_service_race",
]


RepositoryFactory = Callable[[], DossierRepository]


# -- several OS processes ---------------------------------------------------------------------------------------------
@attrs.frozen
class RaceReport:
    """What the racing processes saw: ``(command_id, version)`` of each win, the ids that lost."""

    wins: tuple[tuple[str, int], ...]
    losses: tuple[str, ...]
    attempts: int


def _spawn_all(target: Callable[..., None], args: list[tuple[Any, ...]], timeout: float) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, queue)) for a in args]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(queue.get(timeout=timeout))
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise AssertionError(f"processus en échec : codes de sortie {bad}")
    return results


def _race_worker(  # noqa: PLR0917 - a multiprocessing target takes positional arguments
    factory: RepositoryFactory, numero: str, worker: int, rounds: int,
                 barrier: Any, queue: Any) -> None:
    repository = factory()
    wins: list[tuple[str, int]] = []
    losses: list[str] = []
    barrier.wait(timeout=60)
    for r in range(rounds):
        command_id = f"w{worker}-r{r}"
        stored = repository.get(numero)
        dossier, emails = step(stored.dossier, command_id=command_id, now=datetime.now(UTC))
        try:
            version = repository.save(dossier, expected_version=stored.version, outbox=emails)
        except ConcurrencyConflict:
            losses.append(command_id)
        else:
            wins.append((command_id, version))
    queue.put((wins, losses))


def run_race(factory: RepositoryFactory, *, workers: int = 4, rounds: int = 10, timeout: float = 120) -> RaceReport:
    """``workers`` processes each load → decide → save ``rounds`` times on one dossier, no retry.

    The dossier (``FINSAS000001``, in ``solde_en_instruction``) is added first; each accepted
    command sends one e-mail. Any exception other than ``ConcurrencyConflict`` fails a worker.
    """
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    results = _spawn_all(_race_worker, [(factory, dossier.numero, w, rounds) for w in range(workers)], timeout)
    wins = tuple(w for ws, _ in results for w in ws)
    losses = tuple(lost for _, ls in results for lost in ls)
    return RaceReport(wins, losses, workers * rounds)


def _service_worker(  # noqa: PLR0917 - a multiprocessing target takes positional arguments
    factory: RepositoryFactory, numero: str, worker: int, rounds: int,
                    barrier: Any, queue: Any) -> None:
    from ...service import WorkflowService

    service = WorkflowService(factory(), max_attempts=1000)
    wins: list[tuple[str, int]] = []
    barrier.wait(timeout=60)
    for r in range(rounds):
        command_id = f"s{worker}-r{r}"
        # Controls never become impossible, so every command must eventually succeed through retries.
        command = ControlerBloc(examples.GESTIONNAIRE, list(Bloc)[r % len(Bloc)], Controle.OK, command_id=command_id)
        wins.append((command_id, service.handle(numero, command).version))
    queue.put((wins, []))


def run_service_race(factory: RepositoryFactory, *, workers: int = 4, rounds: int = 8,
                     timeout: float = 120) -> RaceReport:
    """``workers`` processes send ``rounds`` commands each through the service (with retries)."""
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    results = _spawn_all(_service_worker, [(factory, dossier.numero, w, rounds) for w in range(workers)], timeout)
    return RaceReport(tuple(w for ws, _ in results for w in ws), (), workers * rounds)


def check_race(repository: DossierRepository, report: RaceReport, numero: str = "FINSAS000001",
               *, emails_per_win: int = 1) -> None:
    """Every win is in the history once, every loss nowhere, versions and e-mails add up."""
    stored = repository.get(numero)
    won_ids = [cid for cid, _ in report.wins]
    assert len(won_ids) + len(report.losses) == report.attempts
    assert sorted(v for _, v in report.wins) == list(range(2, 2 + len(report.wins)))
    assert stored.version == 1 + len(report.wins)
    history_ids = Counter(e.command_id for e in stored.dossier.history if e.command_id is not None)
    assert history_ids == Counter(won_ids)
    assert not set(report.losses) & set(history_ids)
    outbox = [e for e in repository.pending_emails(limit=10_000) if e.numero == numero]
    assert Counter(e.version for e in outbox) == Counter({v: emails_per_win for _, v in report.wins})
    for cid, version in report.wins:
        found = repository.find_command(cid)
        assert found is not None
        assert (found.version, len(found.emails)) == (version, emails_per_win)


def _crash_worker(factory: RepositoryFactory, numero: str, code: int, barrier: Any, queue: Any) -> None:
    repository = factory()
    repository._after_state_written = lambda _numero: os._exit(code)  # type: ignore[attr-defined]
    barrier.wait(timeout=60)
    stored = repository.get(numero)
    dossier, emails = step(stored.dossier, command_id="crash")
    repository.save(dossier, expected_version=stored.version, outbox=emails)
    queue.put("not crashed")


def crash_between_state_and_outbox(factory: RepositoryFactory, *, timeout: float = 60) -> int:
    """Kill a process (``os._exit``) in the middle of a save: after it wrote the new state and before the outbox
    (SQLite: inside the save's transaction), or just before the save's one statement is sent (PostgreSQL).

    For adapters with the ``_after_state_written`` hook (ours). Returns the dead process's exit code;
    the caller checks that neither the state nor the e-mail is there.
    """
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(1), ctx.Queue()  # kept referenced until the child has unpickled them
    proc = ctx.Process(target=_crash_worker, args=(factory, dossier.numero, 17, barrier, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        raise AssertionError("le processus n'a pas été interrompu")
    return int(proc.exitcode or 0)
