"""The cases the runner knows, the services they share, and how a case file plugs in.

A case is a function ``case(cfg: Config) -> Iterable[Row]`` (a generator is best: each row is kept
as soon as it is yielded, so a case stopped at its deadline keeps what it measured). The runner's
own cases are in :mod:`bench.cases` and :mod:`bench.service`.

Another part of the project adds cases with a module ``bench/case_<name>.py`` defining ``CASES``, a
mapping of case names to such functions, or simply a function ``<name>(cfg)`` (a function taking no
argument is called without the config; a row may also be a ``dict`` or a ``(case, figure, target,
verdict)`` tuple; ``cfg.quick_mode`` says whether this is a ``--quick`` run). Optional:

* ``COSTS`` (name -> wall seconds of a full run of the case on the project's 2-core machine when it is
  quiet; what :mod:`bench.plan` divides the budget with; at most :data:`CASE_FILE_CAP`). A file with
  only the older ``TIMEOUTS`` (name -> deadline) is read as costing a deadline over the planner's margin;
* ``SCALES`` (names of the cases, or ``True`` for all, that read ``cfg.scale``: the share of their
  rounds and sizes the runner asks for, at most 1, so that the run fits its budget; a case that does not
  declare it is planned at its whole cost, and its deadline still bounds it), and ``FIXED`` (name ->
  seconds of its cost that do not shrink with the scale: processes to start, data to build);
* ``POSTGRES`` (names of the cases that need the durable PostgreSQL server, whose DSN they read from
  ``SEGUR_BENCH_PG_DSN``);
* rows with a profile: ``Row(..., profile=bench.profiles.top(op))`` (see :mod:`bench.profiles`) puts the
  operation's cProfile table on docs/benchmarks-profiles.md, linked from the row's note. A missed row
  should say what holds it back in its ``note`` and carry the profile that shows it.

A module that fails to import is reported as a missed row, never a crash of the run.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import subprocess
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .plan import FIXED, MARGIN, Need
from .report import MISSED, Row

ROOT = Path(__file__).resolve().parent.parent
#: The environment variable holding the DSN of the benchmark's durable PostgreSQL cluster.
PG_ENV = "SEGUR_BENCH_PG_DSN"

#: The most a case file may claim to cost (seconds, quiet machine, full scale; see :mod:`bench.plan`).
CASE_FILE_CAP = 60.0

#: Environment the runner gives a case file's process. ``storage``'s verify row runs on a database it
#: can build in seconds: the runner's own ``verify`` case measures the large database.
CASE_ENV: Mapping[str, Mapping[str, str]] = {"storage": {"SEGUR_BENCH_VERIFY_DOSSIERS": "500"}}


@attrs.frozen
class Case:
    """A case: its function, its title, what a full run of it costs and how long a quick one may take.

    ``cost`` is the wall seconds of a full run at scale 1 on the project's machine when quiet (what
    :mod:`bench.plan` divides the budget with); ``timeout_quick`` the deadline of a ``--quick`` run on a
    quiet machine (stretched by the load, see :func:`bench.plan.load_slowdown`); ``scalable``: the case
    reads ``cfg.scale``; ``fixed`` the part of its cost that does not shrink with the scale.
    """

    run: Callable[..., Any]
    title: str
    cost: float = 30.0
    timeout_quick: float = 60.0
    needs_postgres: bool = False
    env: Mapping[str, str] = attrs.field(factory=dict)  # set in the case's process unless already set
    scalable: bool = True
    fixed: float = FIXED  # seconds of ``cost`` that do not shrink with the scale (processes, set-up)

    def need(self) -> Need:
        return Need(self.cost, self.scalable, min(self.fixed, self.cost))


def _broken(name: str, error: str) -> Callable[..., Iterable[Row]]:
    def run(_cfg: object) -> Iterable[Row]:
        yield Row(f"`{name}` (bench/{name}.py)", "could not be loaded", "loads", MISSED, note=error)

    return run


def cases() -> dict[str, Case]:
    """Every case, in the order of the page: the runner's own, then those of ``bench/case_*.py``."""
    from . import cases as own
    from . import service

    # The long, least informative runs go last, so that a spent budget only ever costs them.
    last = ("verify", "property")
    out = {k: v for k, v in {**own.CASES, **service.CASES}.items() if k not in last}
    for path in sorted((ROOT / "bench").glob("case_*.py")):
        module_name = path.stem
        try:
            module = importlib.import_module(f"bench.{module_name}")
            out.update(file_cases(module, module_name, set(out)))
        except Exception as exc:  # a broken case file is a row, not a crash
            out[module_name] = Case(_broken(module_name, _last_line(exc)), f"bench/{path.name} (not loadable)")
    for name in last:
        out[name] = {**own.CASES, **service.CASES}[name]
    return out


def file_cases(module: Any, module_name: str, taken: set[str]) -> dict[str, Case]:
    """The cases of case file ``module`` (``bench/<module_name>.py``), named apart from those ``taken``.

    Its costs come from ``COSTS`` (or ``TIMEOUTS`` over the planner's margin), held to at most
    :data:`CASE_FILE_CAP`: the whole run must end within its budget, and the runner, not the file, has the
    last word.
    """
    found = _cases_of(module, module_name)
    costs: Mapping[str, float] = getattr(module, "COSTS", {})
    timeouts: Mapping[str, float] = getattr(module, "TIMEOUTS", {})
    postgres = set(getattr(module, "POSTGRES", ()))
    scales = getattr(module, "SCALES", ())
    fixed: Mapping[str, float] = getattr(module, "FIXED", {})
    out: dict[str, Case] = {}
    for name, run in found.items():
        key = name if name not in taken else f"{module_name}.{name}"
        claimed = float(costs.get(name) or float(timeouts.get(name, 45.0)) / MARGIN)
        cost = min(claimed, CASE_FILE_CAP)
        out[key] = Case(run, f"from bench/{module_name}.py", cost, min(max(cost, 30.0), 90.0), name in postgres,
                        CASE_ENV.get(key, {}), scales is True or name in set(scales or ()),
                        float(fixed.get(name, FIXED)))
    return out


def _cases_of(module: Any, module_name: str) -> Mapping[str, Callable[..., Any]]:
    """``CASES`` of a case file; failing that, its function named after it (``case_x.py``: ``x(cfg)``),
    or its ``run`` / ``case_*`` / ``bench_*`` functions."""
    declared = getattr(module, "CASES", None)
    if isinstance(declared, Mapping):
        return {str(k): v.run if isinstance(v, Case) else v for k, v in declared.items()}
    short = module_name.removeprefix("case_")

    def own(name: str) -> bool:
        value = getattr(module, name, None)
        return inspect.isfunction(value) and value.__module__ == module.__name__

    if own(short):
        return {short: getattr(module, short)}
    found = {name: getattr(module, name) for name in dir(module)
             if (name == "run" or name.startswith(("case_", "bench_"))) and own(name)}
    if not found:
        raise LookupError(f"bench/{module_name}.py defines neither CASES nor {short}(cfg) / run(cfg)")
    return {short if name == "run" else f"{short}.{name.split('_', 1)[1]}": f for name, f in found.items()}


def _last_line(exc: BaseException) -> str:
    return " ".join(traceback.format_exception_only(type(exc), exc)).strip()


def config(quick: bool, scale: float = 1.0, deadline: float | None = None) -> Any:
    """The configuration a case is run with: a quick run's tiny sizes, or a full run's at ``scale``."""
    from .cases import Config

    return Config.quick_run(deadline) if quick else Config.full_run(scale, deadline)


def _as_row(value: object) -> Row:
    if isinstance(value, Row):
        return value
    if isinstance(value, Mapping):
        return Row(**{k: str(v) for k, v in value.items()})
    if isinstance(value, tuple | list):
        return Row(*(str(v) for v in value))
    if attrs.has(type(value)):
        return Row(**{k: str(v) for k, v in attrs.asdict(value).items()})  # type: ignore[arg-type]
    raise TypeError(f"a case returned {type(value).__name__}, not a row")


def run(case: Case, cfg: Any) -> Iterator[Row]:
    """The rows of ``case``, normalised; an exception inside becomes a missed row after those measured."""
    try:
        params = inspect.signature(case.run).parameters
        result = case.run(cfg) if params else case.run()
        for value in result or ():
            yield _as_row(value)
    except Exception as exc:  # reported on the page, with where it happened
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        yield Row(f"{case.title}", f"stopped by an error: {_last_line(exc)}", "runs to the end", MISSED,
                  note=f"raised at {where}")


class Services:
    """What the cases share and the runner owns: the durable PostgreSQL cluster, started on demand."""

    SCRIPT = ROOT / "scripts" / "postgres-test-server.sh"

    def __init__(self, *, quick: bool) -> None:
        self.quick = quick
        # One state directory per run: two runs in one checkout (a test and a `make bench`) never stop
        # each other's cluster.
        self.state = ROOT / ".pgbench" / f"run-{os.getpid()}"
        self._started = False
        self._problem: str | None = None

    def postgres_env(self) -> dict[str, str]:
        """``{PG_ENV: dsn}`` once the cluster runs; empty (and a note) when it cannot be started."""
        if os.environ.get(PG_ENV):
            return {PG_ENV: os.environ[PG_ENV]}
        env = {**os.environ, "SEGUR_PG_STATE": str(self.state)}
        try:
            proc = subprocess.run(["bash", str(self.SCRIPT), "start", "--durable"], env=env, capture_output=True,
                                  text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self._problem = f"the durable PostgreSQL cluster could not be started: {exc}"
            return {}
        if proc.returncode != 0 or "=" not in proc.stdout:
            self._problem = ("the durable PostgreSQL cluster could not be started: "
                             + (proc.stderr.strip().splitlines() or ["?"])[-1])
            return {}
        self._started = True
        dsn = proc.stdout.strip().split("=", 1)[1].strip().strip("'")
        location = self.state / "location"
        if location.exists():
            fs = subprocess.run(["stat", "-f", "-c", "%T", location.read_text().strip()], capture_output=True,
                                text=True, check=False).stdout.strip()
            if fs in {"tmpfs", "ramfs"}:
                self._problem = (f"the durable PostgreSQL cluster's data directory is on {fs}: its fsync "
                                 "reaches no disk, so its figures are not those of a durable server")
        return {PG_ENV: dsn}

    def stop(self) -> None:
        if self._started:
            env = {**os.environ, "SEGUR_PG_STATE": str(self.state)}
            subprocess.run(["bash", str(self.SCRIPT), "stop"], env=env, capture_output=True, timeout=120,
                           check=False)
            self._started = False
            with contextlib.suppress(OSError):
                self.state.parent.rmdir()  # .pgbench/ itself, once no run uses it

    def notes(self) -> list[str]:
        return [self._problem] if self._problem else []
