"""In-memory repository: thread-safe, for tests, prototypes and the QA kit.

One lock serialises every operation; a write prepares all its changes first, checks every
constraint, then publishes them at once, so a failure part-way leaves nothing behind. The outbox
(e-mails and integration events) supports the same claims and leases as the SQL adapters, within
one process.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from ..emails import Email
from ..engine import Event
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest, InvalidInput
from ..model import Dossier
from ..ports import (
    AppliedCommand,
    Claim,
    CommandRecord,
    DeadLetter,
    DossierSummary,
    EntryKind,
    NewDossier,
    OutboxEmail,
    Stored,
    check_search,
)
from ..states import Status
from . import (
    check_claim,
    check_claim_value,
    check_dossier,
    check_gestionnaires,
    check_kinds,
    check_limit,
    check_new,
    check_now,
    check_text,
    check_version,
    check_writes,
    command_record,
    format_numero,
    number_value,
)

__all__ = ["InMemoryRepository"]


@attrs.define
class _Entry:
    """One outbox row (e-mail or event) and its delivery state."""

    kind: EntryKind
    id: int
    numero: str
    version: int
    email: Email | None = None
    event: Event | None = None
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    not_before: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    dead_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return (self.sent_at is None and self.dead_at is None
                and (self.claimed_by is None or (self.lease_until is not None and self.lease_until <= now))
                and (self.not_before is None or self.not_before <= now))


class InMemoryRepository:
    """A :class:`~segur_workflow.ports.DossierRepository` kept in process memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dossiers: dict[str, Stored] = {}
        self._providers: dict[str, str] = {}
        self._commands: dict[str, tuple[CommandRecord, str, int]] = {}
        self._entries: dict[EntryKind, list[_Entry]] = {"event": [], "email": []}
        self._event_ids: set[str] = set()
        self._counters: dict[str, int] = {}
        # the worklist: one summary per dossier and the numbers in order (keyset paging by bisection)
        self._summaries: dict[str, DossierSummary] = {}
        self._numeros: list[str] = []

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email], events: Sequence[Event] = (),
            command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        emails, checked_events, command = check_writes(outbox, events, command)
        with self._lock:
            self._check_new(dossier)
            self._write(dossier, 1, emails, checked_events, command, provider_to_drop=None)
        return 1

    def _check_new(self, dossier: Dossier) -> None:
        existing = self._providers.get(dossier.fournisseur.ans_id)
        if existing is not None:
            raise DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
        if dossier.numero in self._dossiers:
            raise ConcurrencyConflict(dossier.numero, 0, self._dossiers[dossier.numero].version)

    def create(self, prefix: str, build: Callable[[str], NewDossier]) -> NewDossier:
        prefix = check_text("prefix", prefix)
        with self._lock:
            last = self._counters.get(prefix)
            if last is None:
                last = number_value(prefix, self._last(prefix))
            numero = format_numero(prefix, last + 1)
            new = check_new(build(numero), numero)
            self._check_new(new.dossier)
            self._write(new.dossier, 1, new.outbox, new.events, new.command, provider_to_drop=None)
            self._counters[prefix] = last + 1  # only once everything was written: no gap
        return new

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email],
             events: Sequence[Event] = (), command: CommandRecord | None = None) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails, checked_events, command = check_writes(outbox, events, command)
        with self._lock:
            current = self._dossiers.get(dossier.numero)
            if current is None:
                raise DossierNotFound(dossier.numero)
            if current.version != expected_version:
                raise ConcurrencyConflict(dossier.numero, expected_version, current.version)
            old_provider = current.dossier.fournisseur.ans_id
            owner = self._providers.get(dossier.fournisseur.ans_id)
            if owner is not None and owner != dossier.numero:
                raise DuplicateFinancingRequest(dossier.fournisseur.ans_id, owner)
            self._write(dossier, expected_version + 1, emails, checked_events, command,
                        provider_to_drop=old_provider)
        return expected_version + 1

    def _write(self, dossier: Dossier, version: int, emails: tuple[Email, ...],
               events: tuple[Event, ...], command: CommandRecord | None, *, provider_to_drop: str | None) -> None:
        """Stage every change, check the command and event ids, then publish: all or nothing (lock held)."""
        dossiers = {**self._dossiers, dossier.numero: Stored(dossier, version)}
        providers = dict(self._providers)
        if provider_to_drop is not None:
            providers.pop(provider_to_drop, None)
        providers[dossier.fournisseur.ans_id] = dossier.numero
        self._after_state_written(dossier.numero)
        record = command_record(dossier, command)
        commands = self._commands
        if record is not None:
            if record.command_id in commands:
                raise ConcurrencyConflict(dossier.numero, version - 1, None)
            commands = {**commands, record.command_id: (record, dossier.numero, version)}
        if any(e.event_id in self._event_ids for e in events) or len({e.event_id for e in events}) < len(events):
            raise ConcurrencyConflict(dossier.numero, version - 1, None)
        new_events = [_Entry("event", self._next_id("event") + i, dossier.numero, version, event=e)
                      for i, e in enumerate(events)]
        new_emails = [_Entry("email", self._next_id("email") + i, dossier.numero, version, email=e)
                      for i, e in enumerate(emails)]
        self._dossiers, self._providers, self._commands = dossiers, providers, commands
        self._entries["event"] += new_events
        self._entries["email"] += new_emails
        self._event_ids |= {e.event_id for e in events}
        if dossier.numero not in self._summaries:
            bisect.insort(self._numeros, dossier.numero)
        self._summaries[dossier.numero] = DossierSummary.of(dossier, version)

    def _next_id(self, kind: EntryKind) -> int:
        entries = self._entries[kind]
        return (entries[-1].id if entries else 0) + 1

    def _after_state_written(self, numero: str) -> None:
        """Test hook: called after the state is written and before the outbox (fault injection)."""

    def mark_sent(self, email_id: int) -> None:
        with self._lock:
            for entry in self._entries["email"]:
                if entry.id == email_id and entry.sent_at is None and entry.claimed_by is None:
                    entry.sent_at = datetime.now(UTC)

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        with self._lock:
            stored = self._dossiers.get(numero)
        if stored is None:
            raise DossierNotFound(numero)
        return stored

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._lock:
            pending = [e for e in self._entries["email"] if e.sent_at is None and e.dead_at is None][:limit]
            return [OutboxEmail(e.id, e.numero, e.version, e.email) for e in pending if e.email is not None]

    def _last(self, prefix: str) -> str | None:
        return max((n for n in self._dossiers if n.startswith(prefix)), default=None)

    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._lock:
            return self._last(prefix)

    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._lock:
            return self._providers.get(ans_id)

    def search(self, *, status: Status | str | None = None, gestionnaire: str | None = None,
               ans_id: str | None = None, siret: str | None = None, limit: int = 100,
               after: str | None = None) -> list[DossierSummary]:
        wanted = check_search(status=status, gestionnaire=gestionnaire, ans_id=ans_id, siret=siret, limit=limit,
                              after=after)
        out: list[DossierSummary] = []
        with self._lock:
            start = 0 if wanted.after is None else bisect.bisect_right(self._numeros, wanted.after)
            for numero in self._numeros[start:]:
                summary = self._summaries[numero]
                if wanted.matches(summary):
                    out.append(summary)
                    if len(out) == wanted.limit:
                        break
        return out

    def workload(self, gestionnaires: Sequence[str]) -> dict[str, int]:
        names = check_gestionnaires(gestionnaires)
        load = dict.fromkeys(names, 0)
        with self._lock:
            for summary in self._summaries.values():
                if summary.gestionnaire in load and not summary.status.final:
                    load[summary.gestionnaire] += 1
        return load

    def find_command(self, command_id: str) -> AppliedCommand | None:
        command_id = check_text("command_id", command_id)
        with self._lock:
            found = self._commands.get(command_id)
            if found is None:
                return None
            record, numero, version = found
            emails = tuple(e.email for e in self._entries["email"]
                           if e.numero == numero and e.version == version and e.email is not None)
            events = tuple(e.event for e in self._entries["event"]
                           if e.numero == numero and e.version == version and e.event is not None)
        return AppliedCommand(command_id, numero, record.trigger, version, emails, actor_role=record.actor_role,
                              actor_id=record.actor_id, subject=record.subject, digest=record.digest, events=events)

    # -- the relay ---------------------------------------------------------------------------------------------
    def claim(self, worker_id: str, *, now: datetime, lease: timedelta, limit: int = 100,
              kinds: Sequence[EntryKind] = ("event", "email")) -> list[Claim]:
        worker_id, now, lease, limit = check_claim(worker_id, now, lease, limit)
        until = now + lease
        claims: list[Claim] = []
        with self._lock:
            for kind in check_kinds(kinds):
                for entry in self._entries[kind]:
                    if len(claims) >= limit:
                        break
                    if entry.due(now):
                        entry.claimed_by, entry.lease_until = worker_id, until
                        entry.attempts += 1
                        claims.append(Claim(kind, entry.id, entry.numero, entry.version, worker_id, entry.attempts,
                                            until, email=entry.email, event=entry.event))
        return claims

    def _held(self, claim: Claim) -> _Entry | None:
        claim = check_claim_value(claim)
        for entry in self._entries[claim.kind]:
            if (entry.id == claim.id and entry.claimed_by == claim.worker_id and entry.attempts == claim.attempt
                    and entry.sent_at is None and entry.dead_at is None):
                return entry
        return None

    def mark_delivered(self, claim: Claim, *, now: datetime) -> bool:
        now = check_now(now)
        with self._lock:
            entry = self._held(claim)
            if entry is None:
                return False
            entry.sent_at, entry.claimed_by, entry.lease_until = now, None, None
            return True

    def mark_failed(self, claim: Claim, *, now: datetime, error: str, retry_at: datetime | None) -> bool:
        now = check_now(now)
        error = check_text("error", error)[:2000]
        if retry_at is not None:
            retry_at = check_now(retry_at)
        with self._lock:
            entry = self._held(claim)
            if entry is None:
                return False
            entry.claimed_by, entry.lease_until, entry.last_error = None, None, error
            if retry_at is None:
                entry.dead_at = now
            else:
                entry.not_before = retry_at
            return True

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        limit = check_limit(limit)
        with self._lock:
            letters = [
                DeadLetter(e.kind, e.id, e.numero, e.version, e.attempts, e.last_error or "", e.dead_at,
                           f"{e.email.to} : {e.email.subject}" if e.email is not None
                           else f"{type(e.event).__name__} {e.event.event_id if e.event else ''}")
                for kind in ("event", "email") for e in self._entries[kind] if e.dead_at is not None
            ]
        return sorted(letters, key=lambda d: (d.dead_at, d.kind, d.id))[:limit]

    def requeue(self, kind: EntryKind, entry_id: int) -> bool:
        if kind not in self._entries:
            raise InvalidInput("kind", "« email » ou « event »", kind)
        with self._lock:
            for entry in self._entries[kind]:
                if entry.id == entry_id and entry.dead_at is not None:
                    entry.dead_at = entry.not_before = entry.claimed_by = entry.lease_until = None
                    entry.attempts = 0
                    return True
        return False
