"""The application service: load → ``engine.handle`` → save, as one unit of work.

The e-mails a command sends go to the repository's outbox in the same transaction as the new
state (a mailer drains ``pending_emails`` and calls ``mark_sent``). A stale save is retried from
a fresh load up to ``max_attempts`` times; a command carrying a ``command_id`` that was already
applied returns the recorded outcome without changing anything; new dossiers get the next free
number (``FINSAS`` + 6 digits) without gaps or duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from . import engine
from .commands import Command, DeposerAvance
from .emails import Email
from .engine import Event
from .errors import ConcurrencyConflict, DuplicateFinancingRequest, InvalidInput, WorkflowError
from .model import SAS, Corridor, Dossier
from .ports import AppliedCommand, Clock, DossierRepository, Stored

__all__ = [
    "AssignmentPolicy",
    "BulkResult",
    "LeastLoaded",
    "NumerosEpuises",
    "Result",
    "SteppingClock",
    "SystemClock",
    "WorkflowService",
    "next_numero",
]

#: Who gets a new dossier: called with the deposit command and the repository before the dossier is
#: created; returns a gestionnaire's actor id, or ``None`` to leave the dossier unassigned.
AssignmentPolicy = Callable[[DeposerAvance, DossierRepository], "str | None"]

#: Digits after the corridor's prefix in a dossier number.
DIGITS = 6


class NumerosEpuises(WorkflowError):
    """The corridor's numbering space (``prefix`` + 6 digits) is exhausted."""

    code = "numero.epuise"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        super().__init__(f"Plus aucun numéro de dossier disponible après {prefix}{'9' * DIGITS}.")


@attrs.frozen
class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.define
class SteppingClock:
    """A clock for tests and demos: ``start``, then ``step`` later at each call."""

    start: datetime
    step: timedelta = timedelta(minutes=1)
    _calls: int = 0

    def now(self) -> datetime:
        moment = self.start + self._calls * self.step
        self._calls += 1
        return moment


@attrs.frozen
class Result:
    """What the service did for one command.

    ``dossier`` and ``version`` are the state the command produced; for a replayed command
    (``replayed``) they are the dossier as stored now and the version the command produced then,
    ``emails`` are the e-mails recorded then, and ``events`` is empty (nothing happened again).
    """

    numero: str
    version: int
    dossier: Dossier
    emails: tuple[Email, ...]
    events: tuple[Event, ...]
    replayed: bool = False
    attempts: int = 1


@attrs.frozen
class BulkResult:
    """What one dossier of a bulk instruction became: its :class:`Result`, or the error that refused it."""

    numero: str
    result: Result | None = None
    error: WorkflowError | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


def _names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", value)
    return tuple(value)


@attrs.frozen
class LeastLoaded:
    """The default assignment policy: the gestionnaire of ``pool`` with the fewest dossiers still under
    way (not in a final status); ties go to the first in ``pool``. An empty pool assigns nobody.

    Two deposits at the same moment may both see the same load and pick the same gestionnaire: the
    balance is kept over time, not to the dossier (see docs/desk.md).
    """

    pool: tuple[str, ...] = attrs.field(converter=_names)

    def __attrs_post_init__(self) -> None:
        for name in self.pool:
            if not isinstance(name, str) or not name.strip():
                raise InvalidInput("gestionnaires", "des identifiants de gestionnaires non vides", name)

    def __call__(self, command: DeposerAvance, repository: DossierRepository) -> str | None:
        if not self.pool:
            return None
        load = repository.workload(self.pool)
        return min(self.pool, key=lambda name: load.get(name, 0))


def next_numero(last: str | None, corridor: Corridor = SAS) -> str:
    """The number after ``last`` (``None``: the first one, ``FINSAS000001``)."""
    prefix = corridor.prefixe_numero
    if last is None:
        n = 1
    else:
        digits = last[len(prefix):]
        if not (last.startswith(prefix) and len(digits) == DIGITS and digits.isdigit()):
            raise InvalidInput("last_numero", f"un numéro {prefix} suivi de {DIGITS} chiffres", last)
        n = int(digits) + 1
    if n >= 10**DIGITS:
        raise NumerosEpuises(prefix)
    return f"{prefix}{n:0{DIGITS}d}"


class WorkflowService:
    """Runs commands against a :class:`~segur_workflow.ports.DossierRepository`.

    ``max_attempts`` bounds the tries on ``ConcurrencyConflict`` (1 = never retry). A retry reloads
    the dossier and decides again from the new state, so a command that became impossible meanwhile
    is refused with the engine's error rather than forced through.
    """

    def __init__(self, repository: DossierRepository, *, clock: Clock | None = None, corridor: Corridor = SAS,
                 max_attempts: int = 5, gestionnaires: Sequence[str] = (),
                 assignment: AssignmentPolicy | None = None) -> None:
        """``gestionnaires``: the instruction team; each new dossier goes to the least loaded of them
        (:class:`LeastLoaded`). ``assignment``: the host's own policy instead. Neither: new dossiers are
        left unassigned (``dossier.gestionnaire is None``)."""
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise InvalidInput("max_attempts", "un entier ≥ 1", max_attempts)
        if isinstance(gestionnaires, str) or not isinstance(gestionnaires, Sequence):
            raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", gestionnaires)
        if assignment is not None and not callable(assignment):
            raise InvalidInput("assignment", "une fonction (commande, dépôt) -> gestionnaire ou None", assignment)
        if assignment is not None and gestionnaires:
            raise InvalidInput("assignment", "une politique ou une équipe (gestionnaires), pas les deux", assignment)
        self.repository = repository
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.corridor = corridor
        self.max_attempts = max_attempts
        self.assignment: AssignmentPolicy | None = assignment if assignment is not None else (
            LeastLoaded(tuple(gestionnaires)) if gestionnaires else None)

    # -- reading ----------------------------------------------------------------------------------------------
    def get(self, numero: str) -> Stored:
        return self.repository.get(numero)

    # -- commands ---------------------------------------------------------------------------------------------
    def start(self, command: DeposerAvance) -> Result:
        """File an advance request: allocate the next number and store the new dossier."""
        if not isinstance(command, DeposerAvance):
            raise InvalidInput("command", "une commande DeposerAvance", command)
        return self._retrying(command, None, lambda attempt: self._start_once(command, attempt))

    def handle(self, numero: str, command: Command) -> Result:
        """Apply ``command`` to dossier ``numero`` (load, decide, save with its e-mails)."""
        if not isinstance(command, Command) or isinstance(command, DeposerAvance):
            raise InvalidInput("command", "une commande sur un dossier existant (pas DeposerAvance)", command)
        return self._retrying(command, numero, lambda attempt: self._handle_once(numero, command, attempt))

    def handle_many(self, numeros: Iterable[str], command: Command) -> list[BulkResult]:
        """Apply ``command`` to each dossier of ``numeros`` (bulk instruction), each in its own transaction.

        One :class:`BulkResult` per distinct number, in the order given: accepted, or the
        ``WorkflowError`` that refused it (that dossier unchanged; the others go on). A command carrying
        a ``command_id`` is applied to dossier N under ``<command_id>.<N>``: running the same bulk
        again replays what was done instead of doing it twice.
        """
        if isinstance(numeros, str) or not isinstance(numeros, Iterable):
            raise InvalidInput("numeros", "une liste de numéros de dossier", numeros)
        wanted = list(dict.fromkeys(numeros))
        for numero in wanted:
            if not isinstance(numero, str):
                raise InvalidInput("numeros", "une liste de numéros de dossier", numero)
        if not isinstance(command, Command) or isinstance(command, DeposerAvance):
            raise InvalidInput("command", "une commande sur un dossier existant (pas DeposerAvance)", command)
        out: list[BulkResult] = []
        for numero in wanted:
            one = command
            if command.command_id is not None:
                try:
                    one = attrs.evolve(command, command_id=f"{command.command_id}.{numero}")
                except WorkflowError as exc:  # the derived id is malformed (too long…) for this number
                    out.append(BulkResult(numero, error=exc))
                    continue
            try:
                out.append(BulkResult(numero, result=self.handle(numero, one)))
            except WorkflowError as exc:
                out.append(BulkResult(numero, error=exc))
        return out

    def _retrying(self, command: Command, numero: str | None, attempt_once: Callable[[int], Result]) -> Result:
        """``attempt_once(attempt)`` until no concurrent write beats it, at most ``max_attempts`` times.

        Before each try, a command already applied (same ``command_id``) is replayed instead.
        """
        conflict: ConcurrencyConflict | None = None
        for attempt in range(1, self.max_attempts + 1):
            replay = self._replay(command, numero=numero)
            if replay is not None:
                return replay
            try:
                return attempt_once(attempt)
            except ConcurrencyConflict as exc:  # someone wrote first: reload and decide again
                conflict = exc
        assert conflict is not None
        raise conflict

    def _start_once(self, command: DeposerAvance, attempt: int) -> Result:
        repo = self.repository
        existing = repo.find_by_provider(command.fournisseur.ans_id)
        numero = next_numero(repo.last_numero(self.corridor.prefixe_numero), self.corridor)
        gestionnaire = self._assign(command) if existing is None else None
        outcome = engine.start(command, numero=numero, now=self.clock.now(), corridor=self.corridor,
                               existing_request=existing, gestionnaire=gestionnaire)
        try:
            # A ConcurrencyConflict here means the number (or the command id) was taken meanwhile.
            version = repo.add(outcome.dossier, outbox=outcome.emails)
        except DuplicateFinancingRequest:
            # Lost a race against the same provider: the same command sent twice is a replay.
            replay = self._replay(command, numero=None)
            if replay is not None:
                return replay
            raise
        return Result(numero, version, outcome.dossier, outcome.emails, outcome.events, attempts=attempt)

    def _assign(self, command: DeposerAvance) -> str | None:
        if self.assignment is None:
            return None
        chosen = self.assignment(command, self.repository)
        if chosen is not None and (not isinstance(chosen, str) or not chosen.strip()):
            raise InvalidInput("assignment", "une politique qui rend un identifiant de gestionnaire ou None", chosen)
        return chosen

    def _handle_once(self, numero: str, command: Command, attempt: int) -> Result:
        stored = self.repository.get(numero)
        outcome = engine.handle(stored.dossier, command, now=self.clock.now(), corridor=self.corridor)
        version = self.repository.save(outcome.dossier, expected_version=stored.version, outbox=outcome.emails)
        return Result(numero, version, outcome.dossier, outcome.emails, outcome.events, attempts=attempt)

    def _replay(self, command: Command, *, numero: str | None) -> Result | None:
        if command.command_id is None:
            return None
        applied: AppliedCommand | None = self.repository.find_command(command.command_id)
        if applied is None:
            return None
        if applied.trigger != command.TRIGGER or (numero is not None and applied.numero != numero):
            raise InvalidInput(
                "command_id",
                f"un identifiant neuf (déjà utilisé par « {applied.trigger} » sur {applied.numero})",
                command.command_id,
            )
        stored = self.repository.get(applied.numero)
        return Result(applied.numero, applied.version, stored.dossier, applied.emails, (), replayed=True)
