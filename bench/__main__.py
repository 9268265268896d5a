"""``python -m bench``: run the benchmarks, print the table, write docs/benchmarks.md.

Every case runs in a child process of its own (``python -m bench --child CASE``) with a deadline:
a case that crashes or overruns is killed and reported as a **missed** row saying why, the rows it
measured before are kept, and the page is written whatever happened. The whole run has a budget
(``--budget``, 9 minutes 30 by default, so that ``make bench`` ends within 10 on this 2-core machine);
a case that would start after it is spent is reported as not run.

Cases come from :data:`bench.cases.CASES` and from any ``bench/case_*.py`` module another part of
the project adds (see :mod:`bench.registry` for what such a module provides).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import registry
from .report import MISSED, CaseRun, Row, machine_line, text_table, write_page

DEFAULT_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent

#: Seconds kept aside at the end of the budget to stop services and write the page.
RESERVE = 15.0
#: Seconds a full run spends before its first case: the durable PostgreSQL cluster's start.
STARTUP = 15.0
#: The whole run's budget (seconds): ``make bench`` must end within 10 minutes on the project's 2-core machine.
DEFAULT_BUDGET = 570.0


#: The most a loaded machine stretches the deadlines and the budget of a full run (see :func:`stretch`).
MAX_STRETCH = 1.75


def stretch(load: float, cpus: int) -> float:
    """How much a full run's deadlines and budget stretch for the load at its start.

    The deadlines are about 1.3 times what each case takes with the machine's two cores shared by a few
    other jobs (a load of about 2 per core); beyond that every case slows down alike, and a deadline
    that cut them all would leave the page without its rows. At most :data:`MAX_STRETCH`, so that even
    a crowded machine ends the run in bounded time; 1 on a machine that is not crowded.
    """
    return min(MAX_STRETCH, max(1.0, load / max(cpus, 1) / 2.0))


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return 0.0


def _child(name: str, quick: bool, rows_file: Path) -> int:
    """Run one case in this process, appending each row to ``rows_file`` as soon as it is measured."""
    case = registry.cases()[name]
    cfg = registry.config(quick)
    with rows_file.open("a", encoding="utf-8") as out:
        for row in registry.run(case, cfg):
            out.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
            out.flush()
    return 0


def _read_rows(path: Path) -> list[Row]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(Row.from_json(json.loads(line)))
            except (ValueError, TypeError):  # a line cut by a kill: the rows before it stand
                continue
    return rows


def _tail(text: str, lines: int = 6) -> str:
    kept = [x for x in text.strip().splitlines() if x.strip()][-lines:]
    return " / ".join(x.strip() for x in kept) or "(no output)"


def run_case(name: str, quick: bool, timeout: float, env: dict[str, str]) -> list[Row]:
    """The rows of case ``name`` run in a child process killed after ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="segur-bench-") as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        cmd = [sys.executable, "-m", "bench", "--child", name, "--rows", str(rows_file)]
        if quick:
            cmd.append("--quick")
        started = time.perf_counter()
        # A session of its own: on timeout the whole group (pytest workers, helpers) is killed.
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            _out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _out, err = proc.communicate()
            rows = _read_rows(rows_file)
            return [*rows, Row(f"`{name}` case", f"timed out after {timeout:.0f} s and was stopped"
                               + (f"; the {len(rows)} row(s) above were measured before" if rows else ""),
                               f"ends within {timeout:.0f} s", MISSED,
                               note=f"`{name}` overran its deadline; last output: {_tail(err)}")]
        took = time.perf_counter() - started
        rows = _read_rows(rows_file)
        if proc.returncode != 0:
            rows.append(Row(f"`{name}` case", f"crashed after {took:.1f} s (exit {proc.returncode})",
                            "runs to the end", MISSED, note=f"`{name}` failed: {_tail(err)}"))
        elif not rows:
            rows.append(Row(f"`{name}` case", "produced no row", "at least one row", MISSED,
                            note=f"`{name}` output: {_tail(err)}"))
        return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few rounds: checks the harness, figures mean little")
    parser.add_argument("--only", action="append", metavar="CASE",
                        help="run only this case (repeatable); see --list")
    parser.add_argument("--list", action="store_true", help="list the cases and their deadlines")
    parser.add_argument("--out", type=Path, default=None,
                        help="page to write (default docs/benchmarks.md; --quick writes none unless given)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole run (default 570, or 240 with --quick)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return _child(args.child, args.quick, args.rows)

    cases = registry.cases()
    if args.list:
        for name, case in cases.items():
            print(f"{name:16s} {case.timeout(args.quick):5.0f} s  {case.title}")
        return 0
    unknown = sorted(set(args.only or ()) - set(cases))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose among {', '.join(cases)}")
    started = time.perf_counter()
    load_start = _load()
    factor = 1.0 if args.quick or args.budget is not None else stretch(load_start, os.cpu_count() or 1)
    budget = args.budget if args.budget is not None else (240.0 if args.quick else DEFAULT_BUDGET * factor)
    rows: list[Row] = []
    runs: list[CaseRun] = []
    out = args.out if args.out is not None else (None if args.quick or args.only else DEFAULT_PAGE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    services = registry.Services(quick=args.quick)
    try:
        selected = [n for n in cases if not args.only or n in args.only]
        if any(cases[n].needs_postgres or cases[n].title.startswith("from bench/") for n in selected):
            env.update(services.postgres_env())
        for name in selected:
            case = cases[name]
            left = budget - (time.perf_counter() - started) - RESERVE
            if left < min(30.0, case.timeout(args.quick) * factor):
                rows.append(Row(f"`{name}` case", f"not run: {left:.0f} s left of the run's {budget:.0f} s budget",
                                "runs within the budget", MISSED))
                runs.append(CaseRun(name, case.timeout(args.quick) * factor, None, "not run"))
                continue
            print(f"… {name}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            child_env = env
            if case.title.startswith("from bench/") and registry.PG_ENV in env:
                # a case file written against the test suite's variable measures the durable cluster too
                child_env = {"SEGUR_TEST_PG_DSN": env[registry.PG_ENV], **env}
            child_env = {**case.env, **child_env}
            deadline = min(case.timeout(args.quick) * factor, left)
            measured = run_case(name, args.quick, deadline, child_env)
            rows.extend(measured)
            took = time.perf_counter() - t0
            ended = ("timed out" if any("timed out after" in r.figure for r in measured[-1:]) else
                     "crashed" if any("crashed after" in r.figure for r in measured[-1:]) else "ended")
            runs.append(CaseRun(name, deadline, took, ended))
            print(f"  {name}: {took:.1f} s", file=sys.stderr, flush=True)
    finally:
        services.stop()
        took = time.perf_counter() - started
        print(text_table(rows))
        if out is not None and not args.no_write:
            write_page(out, rows, machine_line("quick" if args.quick else "full", took, (load_start, _load())),
                       [*services.notes(), *([f"The load at the start ({load_start:.1f} on {os.cpu_count()} CPUs) "
                                             f"stretched every deadline and the budget ×{factor:.2f}."]
                                           if factor > 1 else [])], runs)
            print(f"written: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
