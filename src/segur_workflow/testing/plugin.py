"""pytest plugin of segur_workflow, registered as the ``pytest11`` entry point ``segur_workflow``.

Installed with the package, it gives every host test suite these fixtures (see ``pytest --fixtures``):
a fixed aware clock, the seed's actors and provider, and sample dossiers in every status. It needs
only pytest and the core: not hypothesis.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from .. import examples
from ..model import Actor, Dossier, Fournisseur
from ..states import Status


class FixedClock:
    """A clock that only moves when told: ``clock()`` or ``clock.now()`` give the current instant."""

    def __init__(self, start: datetime) -> None:
        if start.utcoffset() is None:
            raise ValueError("FixedClock attend une date avec fuseau horaire")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta = timedelta(hours=1)) -> datetime:
        """Move forward by ``delta`` (never backwards) and return the new instant."""
        if delta < timedelta(0):
            raise ValueError("une horloge de test n'avance que vers le futur")
        self._now += delta
        return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


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
