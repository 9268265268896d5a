"""Measurements at full size, too long for ``make bench``: ``nice -n 10 python -m bench.large <part> [options]``.

Each part (sub-command) measures the targets of its issue on a database of the issue's size and writes
its own section of docs/benchmarks-large.md (between ``<!-- <part>:start -->`` and ``<!-- <part>:end -->``,
replaced on the next run, the other sections left as they are), with the machine's load at the start and
the end of the run: the figures of a shared machine are read with it.

* ``desk`` (issue 16): ``search`` of one status page among N dossiers on SQLite and PostgreSQL, the
  1,000-entry vs 3-entry history comparison, ``workload``, and the export of N rows to CSV, XLSX and ODS
  (:func:`bench.case_desk.large`). PostgreSQL: ``--pg DSN``, else ``SEGUR_BENCH_PG_DSN``, else skipped.
* ``verify`` (issue 11): ``verify`` over N end-of-life dossiers (one journal row per command, HMAC) on
  SQLite or PostgreSQL (``--db``; PostgreSQL: ``SEGUR_TEST_PG_DSN``), built by
  :func:`bench.case_storage.clone_sealed`; ``--path`` (SQLite) or ``--schema`` (PostgreSQL) keeps the
  database, and a later run only builds the dossiers it lacks. Section ``verify-<db>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    from . import case_desk
    from .case_storage import KEY, _life, _postgres, clone_sealed
    from .report import Row, table
except ImportError:  # run as a script
    from bench import case_desk
    from bench.case_storage import KEY, _life, _postgres, clone_sealed
    from bench.report import Row, table

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-large.md"
TITLE = ("# Full-size measurements (outside `make bench`)\n\n"
         "Targets measured on databases of the issues' size, too long for `make bench`'s ten minutes:\n"
         "`nice -n 10 python -m bench.large <part> [options]` (bench/large.py). Each part rewrites only its own\n"
         "section of this page.\n")


def write_section(name: str, body: str, page: Path = PAGE) -> None:
    """Put ``body`` in ``page`` as the section ``name``: in place of the previous one, or at the end."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = page.read_text(encoding="utf-8") if page.exists() else TITLE
    found = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    text = found.sub(lambda _m: block, text, count=1) if found.search(text) else text.rstrip("\n") + "\n\n" + block
    page.write_text(text, encoding="utf-8")


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _machine(command: str, took: float, load: tuple[float, float]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Run: `{command}`, {when}, Python {platform.python_version()}, {platform.system()} "
            f"{platform.machine()}, {os.cpu_count()} CPU(s) shared with other work, niceness {os.nice(0)}; "
            f"took {took:.0f} s; load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end.")


def _desk(args: argparse.Namespace) -> tuple[str, list[Row]]:
    dsn = args.pg or os.environ.get("SEGUR_BENCH_PG_DSN") or None
    rows = case_desk.large(args.dossiers, pg_dsn=dsn, seconds=args.seconds)
    if not dsn:
        rows.append(Row("desk reads on PostgreSQL", "not run: no --pg / SEGUR_BENCH_PG_DSN"))
    title = f"## The gestionnaire's desk (issue 16): {args.dossiers:,} dossiers"
    return title, rows


def _desk_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dossiers", type=int, default=100_000, help="dossiers in the database (default 100,000)")
    p.add_argument("--pg", metavar="DSN", help="PostgreSQL server (default: SEGUR_BENCH_PG_DSN; none: skipped)")
    p.add_argument("--seconds", type=float, default=2.0, help="seconds of repeated reads per figure")


@contextmanager
def _verify_repository(args: argparse.Namespace) -> Iterator[Any]:
    """The repository of the ``verify`` part: a kept SQLite file (``--path``) or a temporary one; a kept
    PostgreSQL schema (``--schema``) or a new one, dropped after."""
    from segur_workflow.adapters.sqlite import SQLiteRepository

    if args.db == "postgres":
        if not args.schema:
            with _postgres() as repo:
                yield repo
            return
        from segur_workflow.adapters.postgres import PostgresRepository

        repo = PostgresRepository(os.environ["SEGUR_TEST_PG_DSN"], key=KEY, schema=args.schema)
        try:
            yield repo
        finally:
            repo.close()
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = SQLiteRepository(args.path or os.path.join(tmp, "large.sqlite3"), key=KEY)
        try:
            yield repo
        finally:
            repo.close()


def _verify(args: argparse.Namespace) -> tuple[str, list[Row]]:
    """Build ``--dossiers`` end-of-life dossiers (only those a kept database lacks), then ``verify`` them all."""
    from segur_workflow.testing.contract import fournisseur

    if args.db == "postgres" and not os.environ.get("SEGUR_TEST_PG_DSN"):
        raise SystemExit("verify --db postgres: SEGUR_TEST_PG_DSN must name the server")
    args.section = f"verify-{args.db}"
    states, count = _life(fournisseur(0)), args.dossiers
    with _verify_repository(args) as repo:
        if args.db == "sqlite":
            repo._conn.execute("PRAGMA synchronous=OFF")  # building only; verify only reads
        with repo._reading() as cur:
            present = int(cur.execute("SELECT count(*) FROM dossiers", ()).fetchone()[0])

        def tell(what: str, done: int, total: int) -> None:
            if done % 10_000 == 0 or done == total:
                print(f"  {what} : {done:,}/{total:,}", file=sys.stderr, flush=True)

        built = clone_sealed(repo, states, max(0, count - present), start_at=present + 1, batch=1_000,
                             progress=lambda done: tell("construits", present + done, count))
        wall, cpu = time.perf_counter(), time.process_time()
        problems = sum(1 for _ in repo.verify(progress=lambda done, total: tell("vérifiés", done, total)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        size = ""
        if args.db == "sqlite":
            on_disk = sum(os.path.getsize(f) for f in (repo.path, repo.path + "-wal") if os.path.exists(f))
            size = f", {on_disk / 1e9:.2f} GB on disk"
    name = "SQLite (WAL)" if args.db == "sqlite" else "PostgreSQL"
    kept = f" ({count - present:,} added to the {present:,} kept from an earlier run)" if present else ""
    rows = [
        Row(f"building {count:,} end-of-life dossiers ({len(states[-1].history)} history entries, {len(states)} "
            f"journal rows each, HMAC-SHA256), {name}, `clone_sealed`{kept}", f"{built:,.0f} s{size}"),
        Row(f"`verify` of {count:,} dossiers, {name}: wall time", f"{wall:,.0f} s ({wall / count * 1e6:,.0f} µs per "
            f"dossier), {problems} problem(s)", "measured (issue 11)", "—"),
        Row(f"`verify` of {count:,} dossiers, {name}: CPU time of this process"
            + (" (the server's own work not counted)" if args.db == "postgres" else ""),
            f"{cpu:,.0f} s ({cpu / count * 1e6:,.0f} µs per dossier)"),
        Row("peak memory of the process (building and verifying)",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"),
    ]
    return f"## `verify` over {count:,} dossiers, {name} (issue 11)", rows


def _verify_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dossiers", type=int, default=100_000, help="dossiers in the database (default 100,000)")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--path", help="SQLite: keep the database in this file (default: a temporary one)")
    p.add_argument("--schema", help="PostgreSQL: use and keep this schema (default: a new one, dropped after)")


Part = tuple[Callable[[argparse.Namespace], tuple[str, list[Row]]], Callable[[argparse.ArgumentParser], None]]
#: Each part: what it measures (its section's title and rows), and its options.
PARTS: dict[str, Part] = {"desk": (_desk, _desk_options), "verify": (_verify, _verify_options)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.large", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PAGE, help="the page to write (default docs/benchmarks-large.md)")
    sub = parser.add_subparsers(dest="part", required=True)
    for name, (_, options) in PARTS.items():
        options(sub.add_parser(name, help=f"the {name} measurements"))
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), _load()
    title, rows = PARTS[args.part][0](args)
    took = time.perf_counter() - started
    # the niceness it really ran at (the page used to say 10 whatever it was)
    command = f"nice -n {os.nice(0)} python -m bench.large " + " ".join(argv if argv is not None else sys.argv[1:])
    section = getattr(args, "section", args.part)  # a part may write one section per variant (verify-<db>)
    write_section(section, f"{title}\n\n{_machine(command, took, (load_start, _load()))}\n\n{table(rows)}",
                  args.out)
    print(f"{args.out}: section « {section} » written ({len(rows)} rows, {took:.0f} s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
