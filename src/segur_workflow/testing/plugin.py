"""pytest plugin of segur_workflow, registered as the ``pytest11`` entry point ``segur_workflow``.

Installed with the package, it gives every host test suite these fixtures (see ``pytest --fixtures``):
a fixed aware clock, the seed's actors and provider, and sample dossiers in every status; and the
coverage of the machine definitions (``pytest --segur-coverage[=PATH.json]
[--segur-coverage-fail-under=PCT]``, see :mod:`.coverage` and docs/qa.md). It needs only pytest and
the core: not hypothesis.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .. import examples, observation
from ..model import Actor, Dossier, Fournisseur
from ..ports import SteppingClock
from ..states import Status
from .coverage import Recorder, Report, build_report, load_definition

__all__ = [
    "DEFAULT_REPORT",
    "DefinitionCoverage",
    "FixedClock",
    "pytest_addoption",
    "pytest_collection_finish",
    "pytest_configure",
    "segur_clock",
    "segur_dossier",
    "segur_dossier_factory",
    "segur_fiche_fournisseur",
    "segur_fournisseur",
    "segur_gestionnaire",
    "segur_now",
]

#: Where ``--segur-coverage`` without a value writes its JSON report (relative to the invocation directory).
DEFAULT_REPORT = "segur-coverage.json"
_WORKER_KEY = "segur_coverage"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segur_workflow", "segur_workflow : couverture des définitions de machines")
    group.addoption(
        "--segur-coverage", dest="segur_coverage", nargs="?", const=DEFAULT_REPORT, default=None,
        metavar="PATH.json",
        help=("enregistrer les transitions, les issues de règles et les paires de transitions exercées par la "
              f"session, afficher ce qui ne l'a jamais été et écrire le rapport JSON (défaut : {DEFAULT_REPORT})"),
    )
    group.addoption(
        "--segur-coverage-fail-under", dest="segur_coverage_fail_under", type=float, default=None, metavar="PCT",
        help="échouer (code de sortie non nul) si la couverture des transitions et des issues de règles est < PCT",
    )
    parser.addini("segur_coverage_machines", type="linelist", default=[],
                  help=("machines à compter même si les tests ne les touchent pas : module:attribut d'une "
                        "MachineDefinition de l'hôte, ou le nom d'une machine de segur_workflow (dossier, compte)"))


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("segur_coverage")
    fail_under = config.getoption("segur_coverage_fail_under")
    if path is None and fail_under is None:
        return
    if path is not None and not str(path).endswith(".json"):
        raise pytest.UsageError(
            f"--segur-coverage : {path!r} n'est pas un fichier .json ; écrivez --segur-coverage=rapport.json, "
            "ou placez --segur-coverage après les chemins des tests"
        )
    if fail_under is not None and not 0 <= fail_under <= 100:
        raise pytest.UsageError(f"--segur-coverage-fail-under : {fail_under} n'est pas un pourcentage (0 à 100)")
    machines = []
    for spec in config.getini("segur_coverage_machines"):
        try:
            machines.append(load_definition(spec))
        except (ImportError, AttributeError, ValueError) as exc:
            raise pytest.UsageError(f"segur_coverage_machines : {exc}") from exc
    config.pluginmanager.register(DefinitionCoverage(config, path, fail_under, machines), "segur_workflow_coverage")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once the test modules are imported, ``st.from_type`` also covers the command classes they define
    (only when the suite uses the strategies: the plugin itself never imports hypothesis)."""
    strategies = sys.modules.get("segur_workflow.testing.strategies")
    if strategies is not None:
        strategies.register_type_strategies()


class DefinitionCoverage:
    """The ``--segur-coverage`` session: records in every process, reports in the controller.

    Under pytest-xdist each worker sends its counts to the controller in ``workeroutput`` (as
    pytest-cov does); the controller merges them in ``pytest_testnodedown``.
    """

    def __init__(self, config: pytest.Config, path: str | None, fail_under: float | None,
                 machines: list[Any]) -> None:
        self.config = config
        self.path = None if path is None else Path(config.invocation_params.dir, path)
        self.fail_under = fail_under
        self.machines = machines
        self.worker = hasattr(config, "workerinput")
        self.recorder = Recorder(parent=observation.current())
        self.report: Report | None = None
        self._token = observation.install(self.recorder)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        observation.uninstall(self._token)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
        if data is not None:
            self.recorder.merge(data)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, None, None]:
        yield
        if self.worker:
            return
        self.report = build_report(self.recorder, self.machines, fail_under=self.fail_under)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.report.to_json(), ensure_ascii=False, indent=2) + "\n",
                                 encoding="utf-8")
        if self.report.failed:
            session.testsfailed += 1  # the exit status becomes 1 (TESTS_FAILED), as pytest-cov does

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker:
            self.config.workeroutput[_WORKER_KEY] = self.recorder.to_json()  # type: ignore[attr-defined]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is None:
            return
        terminalreporter.write_sep("-", "segur_workflow : couverture des définitions")
        terminalreporter.write_line(self.report.to_text())
        if self.path is not None:
            terminalreporter.write_line(f"Rapport JSON : {self.path}")


class FixedClock(SteppingClock):
    """A clock that only moves when told: ``clock()`` or ``clock.now()`` give the current instant,
    ``clock.advance(delta)`` moves it (the service's :class:`~segur_workflow.ports.SteppingClock`, step 0)."""

    def __init__(self, start: datetime) -> None:
        if start.utcoffset() is None:
            raise ValueError("FixedClock attend une date avec fuseau horaire")
        super().__init__(start, timedelta(0))

    def __call__(self) -> datetime:
        return self.now()

    def __repr__(self) -> str:
        return f"FixedClock({self.start.isoformat()})"


@pytest.fixture
def segur_now() -> datetime:
    """segur_workflow: a fixed aware instant, 23/05/2023 10:00 Europe/Paris (the seed's deposit date)."""
    return examples.T0


@pytest.fixture
def segur_clock(segur_now: datetime) -> FixedClock:
    """segur_workflow: a FixedClock starting at ``segur_now``; ``clock()``/``clock.now()``, ``clock.advance(delta)``."""
    return FixedClock(segur_now)


@pytest.fixture
def segur_fournisseur() -> Actor:
    """segur_workflow: the seed's provider as an Actor (role fournisseur, id tndSAS0032)."""
    return examples.FOURNISSEUR_ACTOR


@pytest.fixture
def segur_gestionnaire() -> Actor:
    """segur_workflow: an ASP gestionnaire as an Actor."""
    return examples.GESTIONNAIRE


@pytest.fixture
def segur_fiche_fournisseur() -> Fournisseur:
    """segur_workflow: the seed's provider record (LE SELECT, tndSAS0032), enrolled and referenced."""
    return examples.FOURNISSEUR


@pytest.fixture
def segur_dossier_factory(segur_now: datetime) -> Callable[..., Dossier]:
    """segur_workflow: ``factory(status, *, numero="FINSAS009250", start_at=segur_now)`` returns a
    dossier brought to ``status`` by a legal path of example commands (one per hour)."""
    def factory(status: Status | str = Status.AVANCE_EN_INSTRUCTION, *, numero: str = examples.NUMERO,
                start_at: datetime | None = None) -> Dossier:
        return examples.dossier_at(Status(status), numero=numero, start_at=start_at or segur_now)

    return factory


@pytest.fixture(params=list(Status), ids=[s.value for s in Status])
def segur_dossier(request: pytest.FixtureRequest, segur_dossier_factory: Callable[..., Dossier]) -> Dossier:
    """segur_workflow: a sample dossier in each status (the test runs once per status)."""
    return segur_dossier_factory(request.param)
