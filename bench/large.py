"""Measurements at full size, too long for ``make bench``: ``nice -n 10 python -m bench.large <part> [options]``.

Each part (sub-command) measures the targets of its issue on a database of the issue's size and writes
its own section of docs/benchmarks-large.md (between ``<!-- <part>:start -->`` and ``<!-- <part>:end -->``,
replaced on the next run, the other sections left as they are), with the machine's load at the start and
the end of the run: the figures of a shared machine are read with it.

* ``desk`` (issue 16): ``search`` of one status page among N dossiers on SQLite and PostgreSQL, the
  1,000-entry vs 3-entry history comparison, ``workload``, and the export of N rows to CSV, XLSX and ODS
  (:func:`bench.case_desk.large`). PostgreSQL: ``--pg DSN``, else ``SEGUR_BENCH_PG_DSN``, else skipped.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

try:
    from . import case_desk
    from .report import Row, table
except ImportError:  # run as a script
    from bench import case_desk
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


Part = tuple[Callable[[argparse.Namespace], tuple[str, list[Row]]], Callable[[argparse.ArgumentParser], None]]
#: Each part: what it measures (its section's title and rows), and its options.
PARTS: dict[str, Part] = {"desk": (_desk, _desk_options)}


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
    command = "nice -n 10 python -m bench.large " + " ".join(argv if argv is not None else sys.argv[1:])
    write_section(args.part, f"{title}\n\n{_machine(command, took, (load_start, _load()))}\n\n{table(rows)}",
                  args.out)
    print(f"{args.out}: section « {args.part} » written ({len(rows)} rows, {took:.0f} s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
