"""What a host implements to keep dossiers in its own database: the repository port and a clock.

The five methods of the public contract (``add``, ``get``, ``save``, ``pending_emails``,
``mark_sent``) plus three look-ups the service needs for gap-free numbering, the one-request-per-
provider rule and idempotent commands (``last_numero``, ``find_by_provider``, ``find_command``).
:class:`OutboxRelay` is what :mod:`segur_workflow.delivery` needs on top (claims with leases).
Run :mod:`segur_workflow.testing.contract` against your adapter: it checks every promise below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol, runtime_checkable

import attrs

from ._checks import ensure_str, to_enum
from ._email import Email
from .engine import Event
from .errors import InvalidInput
from .model import Dossier
from .states import Status

__all__ = [
    "MAX_PAGE", "AppliedCommand", "Claim", "Clock", "CommandRecord", "DeadLetter", "DossierRepository",
    "DossierSummary", "NewDossier", "OutboxEmail", "OutboxRelay", "SteppingClock", "Stored", "SummaryFilter",
    "SystemClock", "check_search",
]

#: What an outbox entry carries: an e-mail to send, or an integration event for the host's ``on_event``.
EntryKind = Literal["email", "event"]

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
    return ensure_str(name, value, optional=True)


def check_search(*, status: object, gestionnaire: object, ans_id: object, siret: object, limit: object,
                 after: object) -> SummaryFilter:
    """The arguments of ``search`` checked (a wrong type or an unknown status is ``InvalidInput``)."""
    wanted: Status | None = None
    if status is not None:
        if not isinstance(status, str):
            raise InvalidInput("status", "un Status ou None", status)
        wanted = to_enum("status", Status, "un statut")(status)
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
class CommandRecord:
    """What binds an applied ``command_id``: who sent it, about what, and what it asked.

    ``subject`` is the dossier number, or the provider's ``ans_id`` for a deposit (the dossier does
    not exist before it); ``digest`` is :meth:`Command.digest` of the command's content.
    """

    command_id: str
    trigger: str
    actor_role: str
    actor_id: str
    subject: str
    digest: str


@attrs.frozen
class AppliedCommand:
    """The recorded outcome of a command that carried a ``command_id``.

    Recorded by ``add``/``save`` in the same transaction as the state: from the ``command`` record
    the service passes, or else from the last history entry of the dossier they write (then
    ``subject`` is the number and ``digest`` is empty, which never matches a real command).
    ``events`` are the integration events the command produced, as stored.
    """

    command_id: str
    numero: str
    trigger: str
    version: int
    emails: tuple[Email, ...]
    actor_role: str = ""
    actor_id: str = ""
    subject: str = ""
    digest: str = ""
    events: tuple[Event, ...] = ()


@attrs.frozen
class NewDossier:
    """What :meth:`DossierRepository.create` stores once it has allocated the number."""

    dossier: Dossier
    outbox: tuple[Email, ...] = ()
    events: tuple[Event, ...] = ()
    command: CommandRecord | None = None


@attrs.frozen
class Claim:
    """An outbox entry claimed by ``worker_id`` until ``lease_until``.

    ``attempt`` counts the claims of this entry so far (this one included): with ``worker_id`` it is
    the fencing token, so a worker whose lease expired and whose entry was claimed again cannot
    settle it any more. An e-mail claim has ``email``, an event claim has ``event``.
    """

    kind: EntryKind
    id: int
    numero: str
    version: int
    worker_id: str
    attempt: int
    lease_until: datetime
    email: Email | None = None
    event: Event | None = None


@attrs.frozen
class DeadLetter:
    """An entry given up after too many attempts, with the last error; :meth:`OutboxRelay.requeue` revives it."""

    kind: EntryKind
    id: int
    numero: str
    version: int
    attempts: int
    last_error: str
    dead_at: datetime
    #: the e-mail's subject and recipient, or the event's type and id: what an operator reads first
    summary: str


@runtime_checkable
class DossierRepository(Protocol):
    """Storage of dossiers with optimistic concurrency and a transactional outbox.

    Every write is one transaction: the dossier, its outbox e-mails and its applied command id are
    all written, or none of them is. Uniqueness (numbers, providers, command ids) and the version
    check must be enforced by the storage itself (constraints, conditional update), so that
    concurrent writers from several processes are safe.
    """

    def add(self, dossier: Dossier, *, outbox: Sequence[Email], events: Sequence[Event] = (),
            command: CommandRecord | None = None) -> int:
        """Store a new dossier at version 1 with its e-mails, events and applied command; return 1.

        Raises ``DuplicateFinancingRequest`` if the provider (``fournisseur.ans_id``) already has a
        dossier, ``ConcurrencyConflict`` (expected version 0) if the number is already taken.
        """
        ...

    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        """Allocate the next number of ``prefix`` and store what ``build(numero)`` returns, in one transaction.

        The per-prefix counter is incremented in the transaction that inserts the dossier: a refusal
        raised by ``build`` or by the insert leaves no gap, and concurrent deposits queue on the counter
        instead of racing for the same number. Returns what ``build`` returned (stored at version 1).
        """
        ...

    def get(self, numero: str) -> Stored:
        """The dossier and its version; ``DossierNotFound`` if there is none."""
        ...

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email],
             events: Sequence[Event] = (), command: CommandRecord | None = None) -> int:
        """Replace the stored dossier if it is still at ``expected_version``; return the new version.

        ``ConcurrencyConflict`` if the stored version differs (nothing written),
        ``DossierNotFound`` if there is no such dossier.
        """
        ...

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        """Up to ``limit`` e-mails still to deliver (neither sent nor dead-lettered), oldest first (by ``id``)."""
        ...

    def mark_sent(self, email_id: int) -> None:
        """Mark an outbox e-mail as sent. Idempotent; an unknown id is ignored.

        An e-mail currently claimed by a dispatcher is left to it (only the claim's holder settles it).
        """
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
class OutboxRelay(Protocol):
    """Claims with leases over the outbox (e-mails and integration events): what a dispatcher uses.

    Several dispatchers may share one outbox: a claim is one atomic statement in the database, so an
    entry is held by one of them at a time; an entry whose lease ran out is claimable again. Only the
    holder of the current claim (``worker_id`` and ``attempt``) may settle it.
    """

    def claim(self, worker_id: str, *, now: datetime, lease: timedelta, limit: int = 100,
              kinds: Sequence[EntryKind] = ("event", "email")) -> list[Claim]:
        """Claim up to ``limit`` due entries of ``kinds`` (in that order, oldest first) until ``now + lease``."""
        ...

    def mark_delivered(self, claim: Claim, *, now: datetime) -> bool:
        """Settle ``claim`` as delivered; ``False`` (nothing changed) if the claim is no longer held."""
        ...

    def mark_failed(self, claim: Claim, *, now: datetime, error: str, retry_at: datetime | None) -> bool:
        """Release ``claim`` after a failure: due again at ``retry_at``, or dead-lettered when it is ``None``."""
        ...

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The dead-lettered entries, oldest first."""
        ...

    def requeue(self, kind: EntryKind, entry_id: int) -> bool:
        """Give a dead letter a fresh start (attempts back to 0, due now); ``False`` if it is not dead."""
        ...


@runtime_checkable
class Clock(Protocol):
    """Where the service gets ``now`` (the core never reads a clock). Must return an aware datetime."""

    def now(self) -> datetime: ...


@attrs.frozen
class SystemClock:
    """The real time, in UTC: the clock of the service and of the outbox relay unless they are given one."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.define
class SteppingClock:
    """A clock for tests and demos: ``start``, then ``step`` later at each call (``step=0``: it stays put, and
    moves only when :meth:`advance` is called, as the QA kit's ``FixedClock``)."""

    start: datetime
    step: timedelta = timedelta(minutes=1)
    _calls: int = 0

    def now(self) -> datetime:
        moment = self.start + self._calls * self.step
        self._calls += 1
        return moment

    def advance(self, delta: timedelta = timedelta(hours=1)) -> datetime:
        """Move forward by ``delta`` (never backwards); returns the instant the next ``now()`` gives."""
        if delta < timedelta(0):
            raise ValueError("une horloge de test n'avance que vers le futur")
        self.start += delta
        return self.start + self._calls * self.step
