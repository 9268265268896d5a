"""Benchmark case: the outbox relay and numbering under load (issue 12's targets).

* e-mails per second to a local aiosmtpd server: a raw ``smtplib`` loop on one connection (the
  floor), one ``Dispatcher``, four dispatcher processes sharing one SQLite outbox;
* deposits per second with 12 writer processes on PostgreSQL through the service at its default
  attempts, and how many failed (the target is 0).

Self-contained: ``delivery(cfg)`` returns :class:`bench.report.Row` values for the bench page, and
``python -m bench.case_delivery [--quick]`` prints them. PostgreSQL comes from ``SEGUR_BENCH_PG_DSN``
or ``SEGUR_TEST_PG_DSN`` (skipped without); the figure says whether that server runs with fsync.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import smtplib
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.delivery import Dispatcher, SmtpTransport
from segur_workflow.ports import Claim
from segur_workflow.service import WorkflowService
from segur_workflow.testing.contract import fournisseur
from segur_workflow.testing.smtp import LocalSmtpServer

from .report import INFO, Row, verdict

SENDER = "ne-pas-repondre@asp-public.example"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WRITERS = 12


def _is_quick(cfg: object) -> bool:
    explicit = getattr(cfg, "quick", None)
    if isinstance(explicit, bool):
        return explicit
    return int(getattr(cfg, "memory_dossiers", 10_000)) < 1_000


def _context() -> Any:
    return multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


def _fill(path: Path, count: int) -> None:
    outcome = sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=T0)
    with SQLiteRepository(path) as repository:
        for n in range(1, count + 1):
            dossier = attrs.evolve(outcome.dossier, numero=f"FINSAS{n:06d}", fournisseur=fournisseur(n))
            repository.add(dossier, outbox=outcome.emails, events=())


def _raw_loop(server: LocalSmtpServer, count: int) -> float:
    """Messages per second with smtplib alone: the same message built by our transport, one connection."""
    outcome = sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=T0)
    claim = Claim("email", 1, "FINSAS000001", 1, "bench", 1, T0, email=outcome.emails[0])
    message = SmtpTransport(server.host, server.port, sender=SENDER).message(claim)
    started = time.perf_counter()
    with smtplib.SMTP(server.host, server.port) as smtp:
        for _ in range(count):
            smtp.send_message(message)
    return count / (time.perf_counter() - started)


def _dispatch_worker(path: str, port: int, worker: int, barrier: Any, queue: Any) -> None:
    with SQLiteRepository(path) as repository:
        dispatcher = Dispatcher(repository, transport=SmtpTransport("127.0.0.1", port, sender=SENDER),
                                worker_id=f"bench-{worker}")
        barrier.wait(timeout=60)
        sent = 0
        while (report := dispatcher.run_once(limit=50)).claimed:
            sent += report.sent
        dispatcher.close()
    queue.put(sent)


def _dispatchers(server: LocalSmtpServer, count: int, workers: int, directory: Path) -> float:
    """E-mails per second through ``workers`` dispatcher processes on one SQLite outbox of ``count`` e-mails."""
    path = directory / f"relay-{workers}-{uuid.uuid4().hex[:6]}.sqlite3"
    _fill(path, count)
    ctx = _context()
    barrier, queue = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_dispatch_worker, args=(str(path), server.port, w, barrier, queue))
             for w in range(workers)]
    for p in procs:
        p.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    sent = sum(queue.get(timeout=600) for _ in procs)
    took = time.perf_counter() - started
    for p in procs:
        p.join(timeout=30)
    if sent != count:
        raise AssertionError(f"{sent} e-mails delivered of {count}")
    return count / took


def _depositor(factory: Callable[[], Any], worker: int, deposits: int, barrier: Any, queue: Any) -> None:
    service = WorkflowService(factory())
    failures = 0
    barrier.wait(timeout=60)
    for i in range(deposits):
        try:
            service.start(examples.deposer_avance(fournisseur(worker * 10_000 + i + 1)))
        except sw.WorkflowError:
            failures += 1
    queue.put(failures)


def _deposits(dsn: str, per_writer: int) -> tuple[float, int, str]:
    """(deposits per second, failures, fsync setting) with 12 writer processes on PostgreSQL."""
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    factory = functools.partial(PostgresRepository, dsn, schema=schema, pool_size=1)
    factory().close()
    ctx = _context()
    barrier, queue = ctx.Barrier(WRITERS + 1), ctx.Queue()
    procs = [ctx.Process(target=_depositor, args=(factory, w, per_writer, barrier, queue)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    failures = sum(queue.get(timeout=900) for _ in procs)
    took = time.perf_counter() - started
    for p in procs:
        p.join(timeout=30)
    with psycopg.connect(dsn, autocommit=True) as conn:
        fsync = str(conn.execute("SHOW fsync").fetchone()[0])  # type: ignore[index]
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return WRITERS * per_writer / took, failures, fsync


#: What a full run of this file's case costs on the project's machine when quiet (seconds, bench/plan.py); it
#: reads ``cfg.scale`` (the e-mails per measure shrink with it, the 12 writers × 30 deposits do not).
COSTS = {"delivery": 24.0}
SCALES = True
FIXED = {"delivery": 15.0}


def delivery(cfg: object) -> Iterator[Row]:
    """The rows, as they are measured: the harness keeps those yielded before a deadline. The target row
    (12 writers on the durable PostgreSQL, 0 failures) comes first."""
    quick = _is_quick(cfg)
    # 400 e-mails per measure at full scale (the delivery tests' own scale is 300): the bench has a budget
    count = 100 if quick else max(100, round(400 * float(getattr(cfg, "scale", 1.0))))
    dsn = os.environ.get("SEGUR_BENCH_PG_DSN") or os.environ.get("SEGUR_TEST_PG_DSN")
    if dsn:
        per_writer = 5 if quick else 30  # the 12 processes × 30 deposits
        rate, failures, fsync = _deposits(dsn, per_writer)
        yield Row(f"numbering: {WRITERS} writer processes × {per_writer} deposits, PostgreSQL (fsync={fsync})",
                  f"{rate:.0f} deposits/s, {failures} failed", "0 failed", verdict(failures == 0))
    else:
        yield Row("numbering: 12 writers on PostgreSQL", "skipped (no SEGUR_BENCH_PG_DSN / SEGUR_TEST_PG_DSN)")
    with tempfile.TemporaryDirectory() as tmp, LocalSmtpServer() as server:
        raw = _raw_loop(server, count)
        yield Row(f"delivery: raw smtplib loop, {count} messages, 1 connection", f"{raw:.0f} e-mails/s")
        for workers in (1, 4):
            rate = _dispatchers(server, count, workers, Path(tmp))
            yield Row(f"delivery: {workers} Dispatcher process(es), SQLite outbox of {count}",
                      f"{rate:.0f} e-mails/s ({rate / raw:.2f}× raw)", "", INFO)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.case_delivery", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in delivery(argparse.Namespace(quick=args.quick)):
        print(f"{row.case:<80} {row.figure:<40} {row.target} {row.verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["delivery", "main"]


