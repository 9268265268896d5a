"""The cases the runner knows, the services they share, and how a case file plugs in.

A case is a function ``case(cfg: Config) -> Iterable[Row]`` (a generator is best: each row is kept
as soon as it is yielded, so a case stopped at its deadline keeps what it measured). The runner's
own cases are in :mod:`bench.cases` and :mod:`bench.service`.

Another part of the project adds cases with a module ``bench/case_<name>.py`` defining ``CASES``, a
mapping of case names to such functions, or simply a function ``<name>(cfg)`` (a function taking no
argument is called without the config; a row may also be a ``dict`` or a ``(case, figure, target,
verdict)`` tuple; ``cfg.quick_mode`` says whether this is a ``--quick`` run). Optional:
``TIMEOUTS`` (name -> seconds of a full run; 120 by default), ``POSTGRES`` (names of the cases that
need the durable PostgreSQL server, whose DSN they read from ``SEGUR_BENCH_PG_DSN``). A module that
fails to import is reported as a missed row, never a crash of the run.
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

from .report import MISSED, Row

ROOT = Path(__file__).resolve().parent.parent
#: The environment variable holding the DSN of the benchmark's durable PostgreSQL cluster.
PG_ENV = "SEGUR_BENCH_PG_DSN"

#: Full-run deadlines (seconds) the runner gives the case files it knows, whatever their ``TIMEOUTS`` ask:
#: the deadlines of a full run add up to less than its budget, so that no case is left without time
#: (tests/test_bench_harness.py holds that sum). A case file the runner does not know gets at most
#: :data:`CASE_FILE_CAP`.
CASE_FILE_DEADLINES: Mapping[str, float] = {"delivery": 45.0, "files": 35.0, "storage": 60.0}
CASE_FILE_CAP = 30.0

#: Environment the runner gives a case file's process. ``storage``'s verify row runs on a database it
#: can build in seconds: the runner's own ``verify`` case measures the large database.
CASE_ENV: Mapping[str, Mapping[str, str]] = {"storage": {"SEGUR_BENCH_VERIFY_DOSSIERS": "500"}}


@attrs.frozen
class Case:
    run: Callable[..., Any]
    title: str
    timeout_full: float = 120.0
    timeout_quick: float = 60.0
    needs_postgres: bool = False
    env: Mapping[str, str] = attrs.field(factory=dict)  # set in the case's process unless already set

    def timeout(self, quick: bool) -> float:
        return self.timeout_quick if quick else self.timeout_full


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
            found = _cases_of(module, module_name)
            timeouts: Mapping[str, float] = getattr(module, "TIMEOUTS", {})
            postgres = set(getattr(module, "POSTGRES", ()))
        except Exception as exc:  # a broken case file is a row, not a crash
            out[module_name] = Case(_broken(module_name, _last_line(exc)), f"bench/{path.name} (not loadable)")
            continue
        for name, run in found.items():
            key = name if name not in out else f"{module_name}.{name}"
            # the whole run must end within 10 minutes: the runner, not the file, has the last word
            timeout = CASE_FILE_DEADLINES.get(key, min(float(timeouts.get(name, 120.0)), CASE_FILE_CAP))
            out[key] = Case(run, f"from bench/{path.name}", timeout, min(timeout, 60.0), name in postgres,
                            CASE_ENV.get(key, {}))
    for name in last:
        out[name] = {**own.CASES, **service.CASES}[name]
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


def config(quick: bool) -> Any:
    from .cases import Config

    return Config.quick_run() if quick else Config.full_run()


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
