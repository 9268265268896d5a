"""The application service: load → ``engine.handle`` → save, as one unit of work.

The e-mails a command sends and its integration events go to the repository's outbox in the same
transaction as the new state (:mod:`segur_workflow.delivery` relays them). A stale save is retried
from a fresh load up to ``max_attempts`` times. A command carrying a ``command_id`` that was already
applied by the same actor, to the same dossier, with the same content, is replayed: the recorded
outcome (e-mails and events) comes back and nothing changes; any other reuse of the id is refused
with ``CommandIdReused``, after the permission check. New dossiers get the next number of their
corridor (``FINSAS`` + 6 digits) from a counter row updated in the inserting transaction: no gap, no
duplicate, no retry storm among concurrent deposits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

import attrs

from . import engine
from ._email import Email
from ._format import format_montant
from .adapters import NUMERO_DIGITS as DIGITS
from .commands import Command, DeposerAvance
from .engine import Event, Outcome
from .errors import (
    CommandIdReused,
    ConcurrencyConflict,
    DuplicateFinancingRequest,
    InvalidInput,
    NumerosEpuises,
    PermissionDenied,
    WorkflowError,
)
from .model import SAS, Corridor, Dossier
from .ports import (
    AppliedCommand,
    Clock,
    CommandRecord,
    DossierRepository,
    NewDossier,
    SteppingClock,
    Stored,
    SystemClock,
)
from .states import DOSSIER
from .vocabulary import Phase

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

logger = logging.getLogger(__name__)


@attrs.frozen
class Result:
    """What the service did for one command.

    ``dossier`` and ``version`` are the state the command produced; for a replayed command
    (``replayed``) they are the dossier as stored now and the version the command produced then,
    ``emails`` and ``events`` those recorded when it was applied (a retried ``Decider`` still
    reports its ``PaiementDeclenche``, with the same ``event_id``: nothing happened twice).
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
        self._warned: set[Phase] = set()
        self._warned_lock = threading.Lock()

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

    def _warn_placeholder(self, result: Result) -> Result:
        """Log once per phase (per service) that a request was filed under a placeholder amount."""
        for event in result.events:
            if not isinstance(event, engine.DossierDepose) or not self.corridor.montant_provisoire(event.phase):
                continue
            with self._warned_lock:
                if event.phase in self._warned:
                    continue
                self._warned.add(event.phase)
            logger.warning(
                "Dossier %s : %s déposée au montant provisoire du couloir %s (%s €), qui n'a pas de source "
                "connue (les guides de l'ASP ne donnent pas ce montant). Configurez le montant réel : "
                "corridor.avec_montant(Phase.%s, Decimal(…), source=…). Cet avertissement n'est donné "
                "qu'une fois par service.",
                event.numero, "la demande d'avance" if event.phase is Phase.AVANCE else "la demande de solde",
                self.corridor.code, format_montant(event.montant), event.phase.name,
            )
        return result

    def _start_once(self, command: DeposerAvance, attempt: int) -> Result:
        repo = self.repository
        prefix = self.corridor.prefixe_numero
        existing = repo.find_by_provider(command.fournisseur.ans_id)
        # chosen before the transaction: a policy may read the repository (the team's workload)
        gestionnaire = self._assign(command) if existing is None else None
        now = self.clock.now()
        record = _record(command, command.fournisseur.ans_id)
        outcomes: list[Outcome] = []

        def build(numero: str) -> NewDossier:
            # Called by the repository inside the transaction that holds the counter row.
            if len(numero) - len(prefix) > DIGITS:
                raise NumerosEpuises(prefix)
            outcome = engine.start(command, numero=numero, now=now, corridor=self.corridor,
                                   existing_request=existing, gestionnaire=gestionnaire)
            outcomes.append(outcome)
            return NewDossier(outcome.dossier, outcome.emails, outcome.events, record)

        try:
            create = getattr(repo, "create", None)
            if create is not None:
                create(prefix, build)
            else:  # a host adapter without a counter: the next number after the greatest one
                new = build(next_numero(repo.last_numero(prefix), self.corridor))
                # A ConcurrencyConflict here means the number (or the command id) was taken meanwhile.
                repo.add(new.dossier, outbox=new.outbox, events=new.events, command=new.command)
        except DuplicateFinancingRequest:
            # Lost a race against the same provider: the same command sent twice is a replay.
            replay = self._replay(command, numero=None)
            if replay is not None:
                return replay
            raise
        outcome = outcomes[-1]
        return self._warn_placeholder(
            Result(outcome.dossier.numero, 1, outcome.dossier, outcome.emails, outcome.events, attempts=attempt))

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
        version = self.repository.save(outcome.dossier, expected_version=stored.version, outbox=outcome.emails,
                                       events=outcome.events, command=_record(command, numero))
        return self._warn_placeholder(
            Result(numero, version, outcome.dossier, outcome.emails, outcome.events, attempts=attempt))

    def _replay(self, command: Command, *, numero: str | None) -> Result | None:
        """The recorded outcome of ``command`` if its id was applied; ``CommandIdReused`` if by another command.

        The permission check comes first, so an id never tells a caller who may not send the command
        anything about what it did; then the id's binding (actor, dossier, trigger, content) must match.
        """
        if command.command_id is None:
            return None
        applied: AppliedCommand | None = self.repository.find_command(command.command_id)
        if applied is None:
            return None
        stored = self.repository.get(numero) if numero is not None else None
        owner = stored.dossier.fournisseur.ans_id if stored is not None else None
        problem = engine.permission_problem(DOSSIER, command.actor, command.TRIGGER, owner)
        if problem is not None:
            raise PermissionDenied(command.actor.role.value, command.actor.id, command.TRIGGER, problem)
        subject = numero if numero is not None else _subject(command)
        expected = _record(command, subject)
        assert expected is not None
        bound = (applied.trigger, applied.actor_role, applied.actor_id, applied.subject, applied.digest)
        if bound != (expected.trigger, expected.actor_role, expected.actor_id, expected.subject, expected.digest):
            raise CommandIdReused(command.command_id, command.TRIGGER)
        current = stored if stored is not None else self.repository.get(applied.numero)
        return Result(applied.numero, applied.version, current.dossier, applied.emails, applied.events,
                      replayed=True)


def _subject(command: Command) -> str:
    """What a deposit's id is bound to: the provider (its dossier does not exist before it)."""
    assert isinstance(command, DeposerAvance)
    return command.fournisseur.ans_id


def _record(command: Command, subject: str) -> CommandRecord | None:
    """The binding stored with an applied ``command_id`` (``None`` for a command without one)."""
    if command.command_id is None:
        return None
    return CommandRecord(command.command_id, command.TRIGGER, command.actor.role.value, command.actor.id, subject,
                         command.digest())
