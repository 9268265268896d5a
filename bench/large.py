"""Measurements too large for ``make bench`` (which must end within 10 minutes): run by hand, niced.

    nice -n 10 python -m bench.large verify --dossiers 100000 --db sqlite
    nice -n 10 python -m bench.large verify --dossiers 100000 --db postgres   # SEGUR_TEST_PG_DSN

``verify``: a database of N end-of-life dossiers (one journal row per command, sealed with a key) is
built with :func:`bench.case_storage.clone_sealed` (the repository's own writing code), then
``verify`` checks every dossier and its whole chain. Printed: the build time, verify's wall and CPU
time (this process; PostgreSQL's own work is in the server), its peak memory, the problems found (0
expected), the machine's load before and after. ``--write`` puts the figures in their section of
docs/benchmarks-large.md (between ``<!-- large:verify-<db>:start -->`` and ``…:end -->``), leaving
the other sections (the desk's) as they are.

Other helpers add their own sub-commands here (one function per measurement, registered in ``COMMANDS``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    from .case_storage import KEY, _life, _postgres, clone_sealed
except ImportError:  # run as a script
    from bench.case_storage import KEY, _life, _postgres, clone_sealed

from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.testing.contract import fournisseur

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks-large.md"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPU(s)"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@contextmanager
def _sqlite_repository(path: str | None) -> Iterator[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = SQLiteRepository(path or os.path.join(tmp, "large.sqlite3"), key=KEY)
        try:
            yield repo
        finally:
            repo.close()


@contextmanager
def _postgres_schema(schema: str) -> Iterator[Any]:
    """A repository on ``schema`` of the server, kept afterwards (a run can go on where one stopped)."""
    from segur_workflow.adapters.postgres import PostgresRepository

    repo = PostgresRepository(os.environ["SEGUR_TEST_PG_DSN"], key=KEY, schema=schema)
    try:
        yield repo
    finally:
        repo.close()


def verify(args: argparse.Namespace) -> list[str]:
    """Build ``--dossiers`` end-of-life dossiers, then ``verify`` them all; the lines of the report."""
    states = _life(fournisseur(0))
    count: int = args.dossiers
    opened: Callable[[], Any] = (
        (lambda: _sqlite_repository(args.path)) if args.db == "sqlite"
        else (lambda: _postgres_schema(args.schema)) if args.schema else _postgres)
    load_before = _load()
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with opened() as repo:
        if args.db == "sqlite":
            repo._conn.execute("PRAGMA synchronous=OFF")  # building only; verify only reads

        def built(done: int) -> None:
            if done % 10_000 == 0 or done == count:
                print(f"  construits : {done:,}/{count:,}", file=sys.stderr, flush=True)

        with repo._reading() as cur:  # a kept database (--path, --schema): only the dossiers it lacks are built
            present = int(cur.execute("SELECT count(*) FROM dossiers", ()).fetchone()[0])
        build_seconds = clone_sealed(repo, states, max(0, count - present), start_at=present + 1, batch=1_000,
                                     progress=lambda done: built(present + done))
        wall, cpu = time.perf_counter(), time.process_time()

        def progress(done: int, total: int) -> None:
            if done % 10_000 == 0 or done == total:
                print(f"  vérifiés : {done:,}/{total:,}", file=sys.stderr, flush=True)

        problems = sum(1 for _ in repo.verify(progress=progress))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = ""
        if args.db == "sqlite":
            on_disk = sum(os.path.getsize(f) for f in (repo.path, repo.path + "-wal") if os.path.exists(f))
            size = f", {on_disk / 1e9:.2f} GB on disk"
    load_after = _load()
    rows = len(states)
    entries = len(states[-1].history)
    name = "SQLite (WAL)" if args.db == "sqlite" else "PostgreSQL (the test cluster)"
    return [
        f"### `verify` over {count:,} dossiers, {name}",
        "",
        f"Run: {started_at}, Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"`nice -n 10`; load average {load_before} before, {load_after} after (shared with other work).",
        "",
        "| what | figure |",
        "|---|---|",
        f"| dossiers | {count:,} end-of-life dossiers of {entries} history entries, {rows} journal rows each "
        f"(HMAC-SHA256){size} |",
        f"| building them (`clone_sealed`, the repository's own writing code) | {build_seconds:,.0f} s"
        + (f" for the {count - present:,} added to the {present:,} kept from an earlier run" if present else "")
        + " |",
        f"| `verify`: wall time | {wall:,.0f} s ({wall / count * 1e6:,.0f} µs per dossier) |",
        f"| `verify`: CPU time of this process | {cpu:,.0f} s ({cpu / count * 1e6:,.0f} µs per dossier) |",
        f"| peak memory of the process (building and verifying) | {_peak_mib():,.0f} MiB |",
        f"| problems reported | {problems} |",
        "",
        f"Reproduce: `nice -n 10 python -m bench.large verify --dossiers {count} --db {args.db}`"
        + (" (with `SEGUR_TEST_PG_DSN` naming the server)" if args.db == "postgres" else "") + ".",
    ]


COMMANDS: dict[str, Callable[[argparse.Namespace], list[str]]] = {"verify": verify}


def write_section(key: str, lines: list[str], doc: Path = DOC) -> None:
    """Replace (or append) the section ``key`` of ``doc``, between its two markers."""
    start, end = f"<!-- large:{key}:start -->", f"<!-- large:{key}:end -->"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Large measurements\n"
    block = "\n".join([start, *lines, end])
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify", help="verify over a large database (issue 11)")
    p.add_argument("--dossiers", type=int, default=100_000)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--path", help="SQLite: keep the database in this file (default: a temporary one)")
    p.add_argument("--schema", help="PostgreSQL: use and keep this schema (default: a new one, dropped after)")
    p.add_argument("--write", action="store_true", help="put the figures in docs/benchmarks-large.md")
    args = parser.parse_args(argv)
    if args.db == "postgres" and not os.environ.get("SEGUR_TEST_PG_DSN"):
        parser.error("--db postgres needs SEGUR_TEST_PG_DSN (bash scripts/postgres-test-server.sh start)")
    lines = COMMANDS[args.command](args)
    print("\n".join(lines))
    if args.write:
        write_section(f"{args.command}-{args.db}", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
