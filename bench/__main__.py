"""``python -m bench``: run the benchmarks, print the table, write docs/benchmarks.md.

Every case runs in a child process of its own (``python -m bench --child CASE``) with a deadline:
a case that crashes or overruns is killed and reported as a **missed** row saying why, the rows it
measured before are kept, and the page is written whatever happened. The whole run has a budget
(``--budget``, 7 minutes 30 by default, so that ``make bench`` ends within 8 on this 2-core machine
even when it is shared): before each case, :mod:`bench.plan` gives it a scale (the share of its rounds
and sizes) and a deadline that fit the time left at the slowdown measured so far, or refuses it when
even its least scale would not fit; the page says which cases ran at which scale.

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

import attrs

from . import plan, registry
from .report import MISSED, CaseRun, Row, machine_line, text_table, write_page

DEFAULT_PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
ROOT = Path(__file__).resolve().parent.parent

#: Seconds kept aside at the end of the budget to stop services and write the page.
RESERVE = 15.0
#: Seconds a full run spends before its first case: the durable PostgreSQL cluster's start (quiet machine).
STARTUP = 15.0
#: The whole run's budget (seconds): ``make bench`` ends within 8 minutes on the project's 2-core machine.
DEFAULT_BUDGET = 450.0
#: The most a loaded machine stretches the deadlines of a ``--quick`` run (which has no budget of its own).
QUICK_STRETCH = 8.0


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return 0.0


def cpu_slowdown(seconds: float = 0.3) -> float:
    """How much slower than a free CPU this process computes right now: wall time over CPU time of a short
    busy loop (the planner's first guess, before any case has run; the load average counts waiting and
    niced jobs alike, and guessed three times too slow on a crowded run)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    n = 0
    while time.perf_counter() - wall0 < seconds:
        n += sum(range(1_000))
    cpu = time.process_time() - cpu0
    return (time.perf_counter() - wall0) / max(cpu, 1e-3)


def _child(name: str, quick: bool, rows_file: Path, scale: float, deadline: float | None) -> int:
    """Run one case in this process, appending each row to ``rows_file`` as soon as it is measured."""
    case = registry.cases()[name]
    cfg = registry.config(quick, scale, deadline)
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


def run_case(name: str, quick: bool, timeout: float, env: dict[str, str], scale: float = 1.0) -> list[Row]:
    """The rows of case ``name`` run at ``scale`` in a child process killed after ``timeout`` seconds."""
    with tempfile.TemporaryDirectory(prefix="segur-bench-") as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        cmd = [sys.executable, "-m", "bench", "--child", name, "--rows", str(rows_file), "--scale", f"{scale:.4f}",
               "--deadline", f"{timeout:.1f}"]
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


def _note_for(rows: list[Row]) -> list[Row]:
    """A missed row a case gave without saying why gets a note that says so (the page must explain it)."""
    return [r if r.verdict != MISSED or r.note else attrs.evolve(
        r, note="The case gave no reason for this missed target (it should say what holds it back, with a profile: "
                "bench/registry.py).") for r in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes and few rounds: checks the harness, figures mean little")
    parser.add_argument("--only", action="append", metavar="CASE",
                        help="run only this case (repeatable); see --list")
    parser.add_argument("--list", action="store_true", help="list the cases and their costs")
    parser.add_argument("--out", type=Path, default=None,
                        help="page to write (default docs/benchmarks.md; --quick writes none unless given)")
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--budget", type=float, default=None,
                        help=f"seconds for the whole run (default {DEFAULT_BUDGET:.0f}; a --quick run has none "
                             "unless given: its deadlines stretch with the load)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return _child(args.child, args.quick, args.rows, args.scale, args.deadline)

    cases = registry.cases()
    if args.list:
        for name, case in cases.items():
            quick = f"quick ≤ {case.timeout_quick:3.0f} s"
            print(f"{name:16s} {case.cost:5.0f} s {'scalable' if case.scalable else 'fixed   '} {quick}  {case.title}")
        return 0
    unknown = sorted(set(args.only or ()) - set(cases))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose among {', '.join(cases)}")
    started = time.perf_counter()
    cpus = os.cpu_count() or 1
    load_start = _load()
    budget = args.budget if args.budget is not None else (None if args.quick else DEFAULT_BUDGET)
    rows: list[Row] = []
    runs: list[CaseRun] = []
    out = args.out if args.out is not None else (None if args.quick or args.only else DEFAULT_PAGE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    services = registry.Services(quick=args.quick)
    selected = [n for n in cases if not args.only or n in args.only]
    prior = 1.0 if args.quick else min(plan.SLOWDOWN_BOUNDS[1], max(1.0, cpu_slowdown()))
    planner = plan.Planner({n: cases[n].need() for n in selected}, selected, prior)
    try:
        if any(cases[n].needs_postgres or cases[n].title.startswith("from bench/") for n in selected):
            env.update(services.postgres_env())
        for name in selected:
            case = cases[name]
            left = float("inf") if budget is None else budget - (time.perf_counter() - started) - RESERVE
            if args.quick:
                # tiny sizes: nothing to scale; a loaded machine only makes them slower, so their deadlines
                # stretch with the load (bounded), and a case that hangs is still stopped
                stretch = min(QUICK_STRETCH, max(planner.slowdown, plan.load_slowdown(_load(), cpus)))
                wanted = case.timeout_quick * stretch
                slot = plan.Slot(1.0, min(left, wanted), stretch)
                if left < min(30.0, wanted):
                    slot = attrs.evolve(slot, refused=f"{max(left, 0):.0f} s left of the run's {budget:.0f} s budget")
            else:
                slot = planner.slot(name, left)
            if slot.refused:
                rows.append(Row(f"`{name}` case", f"not run: {slot.refused}", "runs within the budget", MISSED,
                                note=f"the run's budget ({budget:.0f} s) was spent at the measured slowdown "
                                     f"×{slot.slowdown:.1f} of the machine"))
                runs.append(CaseRun(name, 0.0, None, "not run", 1.0, case.cost, slot.refused))
                continue
            print(f"… {name}" + (f" (scale {100 * slot.scale:.0f} %)" if slot.scale < 1 else ""), file=sys.stderr,
                  flush=True)
            t0 = time.perf_counter()
            child_env = env
            if case.title.startswith("from bench/") and registry.PG_ENV in env:
                # a case file written against the test suite's variable measures the durable cluster too
                child_env = {"SEGUR_TEST_PG_DSN": env[registry.PG_ENV], **env}
            child_env = {**case.env, **child_env}
            measured = _note_for(run_case(name, args.quick, slot.deadline, child_env, slot.scale))
            rows.extend(measured)
            took = time.perf_counter() - t0
            planner.done(name, slot, took)
            ended = ("timed out" if any("timed out after" in r.figure for r in measured[-1:]) else
                     "crashed" if any("crashed after" in r.figure for r in measured[-1:]) else "ended")
            runs.append(CaseRun(name, slot.deadline, took, ended, slot.scale, case.cost))
            print(f"  {name}: {took:.1f} s", file=sys.stderr, flush=True)
    finally:
        services.stop()
        took = time.perf_counter() - started
        print(text_table(rows))
        if out is not None and not args.no_write:
            write_page(out, rows, machine_line("quick" if args.quick else "full", took, (load_start, _load())),
                       [*services.notes(), *_scale_notes(runs, budget, planner)], runs)
            print(f"written: {out}", file=sys.stderr)
    return 0


def _scale_notes(runs: Sequence[CaseRun], budget: float | None, planner: plan.Planner) -> list[str]:
    """What the run's line says of its budget: the slowdown measured, the cases scaled down or refused."""
    if budget is None:
        return []
    scaled = [r for r in runs if r.took is not None and r.scale < 1]
    refused = [r for r in runs if r.took is None]
    words = [f"Budget {budget:.0f} s; the machine ran the cases ×{planner.slowdown:.1f} slower than quiet "
             "(measured on them, bench/plan.py)"]
    if scaled:
        low, high = min(r.scale for r in scaled), max(r.scale for r in scaled)
        share = f"{100 * low:.0f} %" if low == high else f"{100 * low:.0f}–{100 * high:.0f} %"
        words.append(f"{len(scaled)} case(s) ran at {share} of their rounds and sizes to fit it")
    if refused:
        words.append(f"not run for lack of time: {', '.join(f'`{r.name}`' for r in refused)}")
    if not scaled and not refused:
        words.append("every case ran at full scale")
    return ["; ".join(words) + "."]


if __name__ == "__main__":
    raise SystemExit(main())
