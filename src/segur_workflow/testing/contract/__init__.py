"""The contract every :class:`~segur_workflow.ports.DossierRepository` adapter must pass.

Subclass :class:`RepositoryContract` in your test suite and override the ``repository`` fixture
(the factory hook) so that it returns a fresh, empty repository::

    from segur_workflow.testing.contract import RepositoryContract

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self, tmp_path):
            return MyRepository(tmp_path / "db")

Multi-process checks (:func:`run_race`, :func:`run_service_race`, :func:`crash_between_state_and_outbox`)
take a picklable factory (e.g. ``functools.partial(MyRepository, dsn)``): each OS process opens its
own repository on the same storage.

Tampering. A stored dossier is evidence: an adapter that keeps dossiers outside the process must
refuse, with :class:`~segur_workflow.errors.DossierAltere`, a dossier whose stored form was edited,
truncated or rolled back behind its back. Override the ``tampering`` fixture to return a
:class:`Tampering` for your storage (``SQLTampering`` does it for the layout of our SQL adapters);
the default ``None`` skips those cases (right for a repository that keeps nothing outside the process).
"""

from ._cases import RepositoryContract
from ._data import fournisseur, make_dossier, postgres_dsn, step
from ._processes import (
    RaceReport,
    RepositoryFactory,
    check_race,
    crash_between_state_and_outbox,
    run_race,
    run_service_race,
)
from ._tampering import SQLTampering, Tampering

__all__ = [
    "RaceReport",
    "RepositoryContract",
    "RepositoryFactory",
    "SQLTampering",
    "Tampering",
    "check_race",
    "crash_between_state_and_outbox",
    "fournisseur",
    "make_dossier",
    "postgres_dsn",
    "run_race",
    "run_service_race",
    "step",
]
