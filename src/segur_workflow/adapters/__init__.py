"""Reference adapters of :class:`~segur_workflow.ports.DossierRepository`.

* :class:`.memory.InMemoryRepository` — thread-safe, for tests and prototypes;
* :class:`.sqlite.SQLiteRepository` — stdlib ``sqlite3`` (WAL), the embedded default;
* :class:`.postgres.PostgresRepository` — psycopg 3 (``pip install 'segur-workflow[postgres]'``).

The PostgreSQL module is not imported here, so that the package works without psycopg.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..emails import Email
from ..errors import InvalidInput
from ..model import Dossier

__all__ = ["applied_command_id", "check_dossier", "check_gestionnaires", "check_limit", "check_outbox", "check_text",
           "check_version"]


def check_dossier(dossier: object) -> Dossier:
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    return dossier


def check_outbox(outbox: object) -> tuple[Email, ...]:
    """The outbox as a tuple of :class:`Email`, checked before anything is written."""
    if isinstance(outbox, str | bytes) or not isinstance(outbox, Sequence):
        raise InvalidInput("outbox", "une liste d'Email", outbox)
    for item in outbox:
        if not isinstance(item, Email):
            raise InvalidInput("outbox", "une liste d'Email", item)
    return tuple(outbox)


def check_version(expected_version: object) -> int:
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 1:
        raise InvalidInput("expected_version", "un numéro de version entier ≥ 1", expected_version)
    return expected_version


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput("limit", "un entier ≥ 1", limit)
    return limit


def check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput(name, "une chaîne de caractères", value)
    return value


def applied_command_id(dossier: Dossier) -> str | None:
    """The ``command_id`` of the command that produced ``dossier`` (its last history entry)."""
    return dossier.history[-1].command_id if dossier.history else None


def check_gestionnaires(gestionnaires: object) -> tuple[str, ...]:
    """A list of gestionnaire ids (``workload``), without repeats, in the order given."""
    if isinstance(gestionnaires, str | bytes) or not isinstance(gestionnaires, Sequence):
        raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", gestionnaires)
    for item in gestionnaires:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", item)
    return tuple(dict.fromkeys(gestionnaires))
