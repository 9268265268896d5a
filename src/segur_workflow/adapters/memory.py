"""In-memory repository: thread-safe, for tests, prototypes and the QA kit.

One lock serialises every operation; a write prepares all its changes first, checks every
constraint, then publishes them at once, so a failure part-way leaves nothing behind.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

import attrs

from ..emails import Email
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest
from ..model import Dossier
from ..ports import AppliedCommand, DossierSummary, OutboxEmail, Stored, check_search
from ..states import Status
from . import (
    applied_command_id,
    check_dossier,
    check_gestionnaires,
    check_limit,
    check_outbox,
    check_text,
    check_version,
)

__all__ = ["InMemoryRepository"]


@attrs.frozen
class _Command:
    numero: str
    trigger: str
    version: int


class InMemoryRepository:
    """A :class:`~segur_workflow.ports.DossierRepository` kept in process memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dossiers: dict[str, Stored] = {}
        self._providers: dict[str, str] = {}
        self._commands: dict[str, _Command] = {}
        self._outbox: list[OutboxEmail] = []
        self._sent: set[int] = set()
        # the worklist: one summary per dossier and the numbers in order (keyset paging by bisection)
        self._summaries: dict[str, DossierSummary] = {}
        self._numeros: list[str] = []

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        with self._lock:
            existing = self._providers.get(dossier.fournisseur.ans_id)
            if existing is not None:
                raise DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
            if dossier.numero in self._dossiers:
                raise ConcurrencyConflict(dossier.numero, 0, self._dossiers[dossier.numero].version)
            self._write(dossier, 1, emails, provider_to_drop=None)
        return 1

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails = check_outbox(outbox)
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
            self._write(dossier, expected_version + 1, emails, provider_to_drop=old_provider)
        return expected_version + 1

    def _write(self, dossier: Dossier, version: int, emails: tuple[Email, ...], *,
               provider_to_drop: str | None) -> None:
        """Stage every change, check the command id, then publish: all or nothing (lock held)."""
        dossiers = {**self._dossiers, dossier.numero: Stored(dossier, version)}
        providers = dict(self._providers)
        if provider_to_drop is not None:
            providers.pop(provider_to_drop, None)
        providers[dossier.fournisseur.ans_id] = dossier.numero
        self._after_state_written(dossier.numero)
        next_id = (self._outbox[-1].id if self._outbox else 0) + 1
        outbox = [*self._outbox, *(OutboxEmail(next_id + i, dossier.numero, version, e) for i, e in enumerate(emails))]
        commands = self._commands
        command_id = applied_command_id(dossier)
        if command_id is not None:
            if command_id in commands:
                raise ConcurrencyConflict(dossier.numero, version - 1, None)
            commands = {**commands, command_id: _Command(dossier.numero, dossier.history[-1].trigger, version)}
        self._dossiers, self._providers, self._outbox, self._commands = dossiers, providers, outbox, commands
        if dossier.numero not in self._summaries:
            bisect.insort(self._numeros, dossier.numero)
        self._summaries[dossier.numero] = DossierSummary.of(dossier, version)

    def _after_state_written(self, numero: str) -> None:
        """Test hook: called after the state is written and before the outbox (fault injection)."""

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
            return [e for e in self._outbox if e.id not in self._sent][:limit]

    def mark_sent(self, email_id: int) -> None:
        with self._lock:
            self._sent.add(email_id)

    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._lock:
            return max((n for n in self._dossiers if n.startswith(prefix)), default=None)

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
            emails = tuple(e.email for e in self._outbox if e.numero == found.numero and e.version == found.version)
        return AppliedCommand(command_id, found.numero, found.trigger, found.version, emails)
