"""What a host implements to keep dossiers in its own database: the repository port and a clock.

The five methods of the public contract (``add``, ``get``, ``save``, ``pending_emails``,
``mark_sent``) plus three look-ups the service needs for gap-free numbering, the one-request-per-
provider rule and idempotent commands (``last_numero``, ``find_by_provider``, ``find_command``).
Run :mod:`segur_workflow.testing.contract` against your adapter: it checks every promise below.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from .emails import Email
from .errors import InvalidInput
from .model import Dossier
from .states import Status

__all__ = ["MAX_PAGE", "AppliedCommand", "Clock", "DossierRepository", "DossierSummary", "OutboxEmail", "Stored",
           "SummaryFilter", "check_search"]

#: The largest page ``search`` returns (a bounded read, whatever a caller asks).
MAX_PAGE = 10_000


@attrs.frozen
class Stored:
    """A dossier as stored, with its version (1 after ``add``, +1 for each ``save``)."""

    dossier: Dossier
    version: int


@attrs.frozen
class DossierSummary:
    """A worklist row: what a gestionnaire's list shows of a dossier, read without its history."""

    numero: str
    status: Status
    ans_id: str
    siret: str
    raison_sociale: str
    gestionnaire: str | None
    date_depot: datetime
    date_changement_statut: datetime
    version: int

    @classmethod
    def of(cls, dossier: Dossier, version: int) -> DossierSummary:
        """The summary of ``dossier`` stored at ``version`` (what adapters write next to the dossier)."""
        f = dossier.fournisseur
        return cls(numero=dossier.numero, status=dossier.status, ans_id=f.ans_id, siret=f.siret,
                   raison_sociale=f.raison_sociale, gestionnaire=dossier.gestionnaire,
                   date_depot=dossier.date_depot, date_changement_statut=dossier.date_changement_statut,
                   version=version)


@attrs.frozen
class SummaryFilter:
    """The checked arguments of ``search``: every adapter filters and pages the same way."""

    status: Status | None
    gestionnaire: str | None
    ans_id: str | None
    siret: str | None
    limit: int
    after: str | None

    def matches(self, summary: DossierSummary) -> bool:
        """Whether ``summary`` is on a page of this search (for adapters that filter in Python)."""
        return (
            (self.status is None or summary.status is self.status)
            and (self.gestionnaire is None or summary.gestionnaire == self.gestionnaire)
            and (self.ans_id is None or summary.ans_id == self.ans_id)
            and (self.siret is None or summary.siret == self.siret)
            and (self.after is None or summary.numero > self.after)
        )


def _optional_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(name, "une chaîne de caractères ou None", value)
    return value


def check_search(*, status: object, gestionnaire: object, ans_id: object, siret: object, limit: object,
                 after: object) -> SummaryFilter:
    """The arguments of ``search`` checked (a wrong type or an unknown status is ``InvalidInput``)."""
    wanted: Status | None = None
    if status is not None:
        if not isinstance(status, str):
            raise InvalidInput("status", "un Status ou None", status)
        try:
            wanted = Status(status)
        except ValueError:
            raise InvalidInput("status", "un statut parmi " + ", ".join(s.value for s in Status), status) from None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"un entier entre 1 et {MAX_PAGE}", limit)
    return SummaryFilter(wanted, _optional_text("gestionnaire", gestionnaire), _optional_text("ans_id", ans_id),
                         _optional_text("siret", siret), limit, _optional_text("after", after))


@attrs.frozen
class OutboxEmail:
    """An e-mail waiting in the outbox; ``id`` grows in the order e-mails were written.

    ``version`` is the dossier version whose transaction wrote it (the command that sent it).
    """

    id: int
    numero: str
    version: int
    email: Email


@attrs.frozen
class AppliedCommand:
    """The recorded outcome of a command that carried a ``command_id``.

    Recorded by ``add``/``save`` from the last history entry of the dossier they write (the engine
    puts the command's ``command_id`` there), in the same transaction.
    """

    command_id: str
    numero: str
    trigger: str
    version: int
    emails: tuple[Email, ...]


@runtime_checkable
class DossierRepository(Protocol):
    """Storage of dossiers with optimistic concurrency and a transactional outbox.

    Every write is one transaction: the dossier, its outbox e-mails and its applied command id are
    all written, or none of them is. Uniqueness (numbers, providers, command ids) and the version
    check must be enforced by the storage itself (constraints, conditional update), so that
    concurrent writers from several processes are safe.
    """

    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        """Store a new dossier at version 1 with its e-mails; return 1.

        Raises ``DuplicateFinancingRequest`` if the provider (``fournisseur.ans_id``) already has a
        dossier, ``ConcurrencyConflict`` (expected version 0) if the number is already taken.
        """
        ...

    def get(self, numero: str) -> Stored:
        """The dossier and its version; ``DossierNotFound`` if there is none."""
        ...

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        """Replace the stored dossier if it is still at ``expected_version``; return the new version.

        ``ConcurrencyConflict`` if the stored version differs (nothing written),
        ``DossierNotFound`` if there is no such dossier.
        """
        ...

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        """Up to ``limit`` unsent e-mails, oldest first (by ``id``)."""
        ...

    def mark_sent(self, email_id: int) -> None:
        """Mark an outbox e-mail as sent. Idempotent; an unknown id is ignored."""
        ...

    def last_numero(self, prefix: str) -> str | None:
        """The greatest stored dossier number starting with ``prefix`` (None: no dossier yet)."""
        ...

    def find_by_provider(self, ans_id: str) -> str | None:
        """The number of the dossier of provider ``ans_id``, if any."""
        ...

    def find_command(self, command_id: str) -> AppliedCommand | None:
        """The recorded outcome of the command ``command_id``, if it was applied."""
        ...

    def search(self, *, status: Status | str | None = None, gestionnaire: str | None = None,
               ans_id: str | None = None, siret: str | None = None, limit: int = 100,
               after: str | None = None) -> list[DossierSummary]:
        """One page of a worklist: the dossiers matching every given filter, ordered by ``numero``.

        ``after`` is the last ``numero`` of the previous page (keyset paging: a page costs the same
        wherever it is, and a dossier written meanwhile is neither skipped nor shown twice). Read from
        summary columns stored with the dossier: the cost does not grow with the dossiers' history.
        """
        ...

    def workload(self, gestionnaires: Sequence[str]) -> dict[str, int]:
        """For each of ``gestionnaires``, how many dossiers not in a final status are assigned to them."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Where the service gets ``now`` (the core never reads a clock). Must return an aware datetime."""

    def now(self) -> datetime: ...
