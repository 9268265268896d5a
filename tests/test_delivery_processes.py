"""Four dispatcher processes on one outbox, against a real SMTP server (aiosmtpd, started here).

On SQLite and on the PostgreSQL test server, over 320 e-mails:

* nothing fails: each entry reaches the server exactly once (counted by Message-ID);
* one dispatcher is killed with SIGKILL in the middle of a batch: nothing is lost, and the only
  duplicates are entries that dispatcher had claimed, with the same Message-ID;
* the SMTP server is down: entries are retried, then dead-lettered; none is lost.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.delivery import Backoff, Dispatcher, SmtpTransport, message_id
from segur_workflow.ports import Claim
from segur_workflow.testing.contract import fournisseur
from segur_workflow.testing.smtp import LocalSmtpServer

ENTRIES = 320
WORKERS = 4
SENDER = "ne-pas-repondre@asp-public.example"
DOMAIN = "asp-public.example"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

Factory = Callable[[], Any]


def _fill(repository: Any, count: int) -> None:
    # One deposit decided by the engine, copied under other numbers and providers: the relay only
    # cares about the outbox rows, and rendering 320 e-mails would be most of the test's time.
    outcome = sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=T0)
    for n in range(1, count + 1):
        dossier = attrs.evolve(outcome.dossier, numero=f"FINSAS{n:06d}", fournisseur=fournisseur(n))
        repository.add(dossier, outbox=outcome.emails, events=())


class _Victim(SmtpTransport):
    """Sends ``before_kill`` messages of its first batch, tells the parent, then waits to be killed."""

    def __init__(self, *args: Any, before_kill: int, signal_queue: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_kill = before_kill
        self.signal_queue = signal_queue
        self.count = 0

    def send(self, claim: Claim) -> None:
        super().send(claim)
        self.count += 1
        if self.count == self.before_kill:
            self.signal_queue.put(("ready", os.getpid()))
            time.sleep(120)


class _ReportingRepository:
    """Tells the parent which entries the victim claimed (its in-flight entries) before it sends them."""

    def __init__(self, inner: Any, queue: Any) -> None:
        self.inner, self.queue = inner, queue

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def claim(self, *args: Any, **kwargs: Any) -> list[Claim]:
        claims: list[Claim] = self.inner.claim(*args, **kwargs)
        self.queue.put(("claimed", [c.id for c in claims]))
        return claims


def _worker(factory: Factory, port: int, worker: int, options: dict[str, Any],
            stop: Any, barrier: Any, queue: Any) -> None:
    repository = factory()
    victim = options.get("victim") == worker
    transport: SmtpTransport
    if victim:
        transport = _Victim("127.0.0.1", port, sender=SENDER, before_kill=options["before_kill"], signal_queue=queue)
        repository = _ReportingRepository(repository, queue)
    else:
        transport = SmtpTransport("127.0.0.1", port, sender=SENDER, timeout=5)
    dispatcher = Dispatcher(repository, transport=transport, worker_id=f"w{worker}",
                            # only the victim's lease is short: a busy machine must not make the others'
                            # batches outlive theirs (that would be legitimate redelivery, not the victim's)
                            lease=timedelta(seconds=options.get("lease", 60) if victim else 60),
                            max_attempts=options.get("max_attempts", 8),
                            backoff=Backoff(base=timedelta(milliseconds=20), cap=timedelta(milliseconds=200)))
    barrier.wait(timeout=60)
    sent = retried = dead = 0
    while not stop.is_set():
        report = dispatcher.run_once(limit=options.get("batch", 10))
        sent, retried, dead = sent + report.sent, retried + report.retried, dead + report.dead
        if report.claimed == 0:
            time.sleep(0.02)
    dispatcher.close()
    queue.put(("done", (sent, retried, dead)))


def _run(factory: Factory, port: int, options: dict[str, Any], until: Callable[[Any], bool],
         *, timeout: float = 240, on_message: Callable[[Any, tuple[str, Any]], None] | None = None) -> list[Any]:
    """Start the workers, wait until ``until(repository)``, stop them; return the "done" payloads.

    ``fork`` where there is one: a spawned interpreter re-imports everything, which is most of the
    test's time on a busy 2-core machine; the children open their own repository either way.
    """
    ctx: Any = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    stop, barrier, queue = ctx.Event(), ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(factory, port, w, options, stop, barrier, queue))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    repository = factory()
    done: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(repository):
            assert time.monotonic() < deadline, "les répartiteurs n'ont pas fini à temps"
            while not queue.empty():
                message = queue.get()
                if on_message is not None:
                    on_message(procs, message)
            time.sleep(0.05)
        stop.set()
        while len(done) < sum(1 for p in procs if p.exitcode != -signal.SIGKILL):
            kind, payload = queue.get(timeout=60)
            if kind == "done":
                done.append(payload)
            elif on_message is not None:
                on_message(procs, (kind, payload))
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
        repository.close()
    return done


def _settled(repository: Any) -> bool:
    return not repository.pending_emails(limit=1)


def _expected_ids(repository: Any) -> dict[int, str]:
    # Entry ids are 1…ENTRIES (one e-mail per dossier, FINSAS000001 → id 1); the Message-ID follows from them.
    return {n: message_id(Claim("email", n, f"FINSAS{n:06d}", 1, "x", 1, T0), DOMAIN) for n in range(1, ENTRIES + 1)}


@pytest.mark.slow
def test_four_dispatchers_deliver_each_entry_exactly_once(factory: Factory) -> None:
    repository = factory()
    _fill(repository, ENTRIES)
    repository.close()
    with LocalSmtpServer() as server:
        done = _run(factory, server.port, {}, _settled)
        received = Counter(m.message_id for m in server.messages())
    assert sum(sent for sent, _, _ in done) == ENTRIES
    assert sum(1 for sent, _, _ in done if sent) >= 2  # the work was shared, not done by one process
    assert received == Counter(_expected_ids(None).values())  # each exactly once, no stranger


@pytest.mark.slow
def test_a_dispatcher_killed_mid_batch_loses_nothing(factory: Factory) -> None:
    repository = factory()
    _fill(repository, ENTRIES)
    repository.close()
    in_flight: set[int] = set()
    killed: list[int] = []

    def watch(procs: list[Any], message: tuple[str, Any]) -> None:
        kind, payload = message
        if kind == "claimed" and not killed:
            in_flight.update(payload)
        elif kind == "ready" and not killed:
            os.kill(payload, signal.SIGKILL)  # in the middle of its batch: some sent, none settled
            killed.append(payload)
            for p in procs:
                if p.pid == payload:
                    p.join(timeout=30)

    options = {"victim": 0, "before_kill": 5, "batch": 20, "lease": 3}
    with LocalSmtpServer() as server:
        _run(factory, server.port, options, lambda r: bool(killed) and _settled(r), on_message=watch)
        received = Counter(m.message_id for m in server.messages())
    assert killed
    expected = _expected_ids(None)
    assert set(received) == set(expected.values())  # nothing lost, nothing unknown
    duplicates = {mid for mid, count in received.items() if count > 1}
    assert duplicates, "the victim had sent messages it could not settle: they must come again"
    assert duplicates <= {expected[i] for i in in_flight}  # only the victim's in-flight entries
    assert max(received.values()) == 2


@pytest.mark.slow
def test_smtp_down_entries_are_retried_then_dead_lettered(factory: Factory) -> None:
    repository = factory()
    _fill(repository, ENTRIES)
    repository.close()
    with LocalSmtpServer() as server:
        server.stop()  # nobody listens on the port
        done = _run(factory, server.port, {"max_attempts": 3, "batch": 40}, _settled)
    assert sum(retried for _, retried, _ in done) == 2 * ENTRIES
    assert sum(dead for _, _, dead in done) == ENTRIES
    repository = factory()
    letters = repository.dead_letters(limit=10_000)
    repository.close()
    assert sorted(d.id for d in letters) == list(range(1, ENTRIES + 1))  # every one kept, none lost
    assert all(d.attempts == 3 and d.last_error for d in letters)
