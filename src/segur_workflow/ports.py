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
from .model import Dossier

__all__ = ["AppliedCommand", "Clock", "DossierRepository", "OutboxEmail", "Stored"]


@attrs.frozen
class Stored:
    """A dossier as stored, with its version (1 after ``add``, +1 for each ``save``)."""

    dossier: Dossier
    version: int


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


@runtime_checkable
class Clock(Protocol):
    """Where the service gets ``now`` (the core never reads a clock). Must return an aware datetime."""

    def now(self) -> datetime: ...
