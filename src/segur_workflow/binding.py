"""One generic engine, and the typed binding that puts a machine definition to work.

A machine is its definition (:mod:`.states`: states, triggers, roles, guard names, e-mail templates) plus
one :class:`Binding`: a table keyed by command class that ties each transition row to its command class
and its effect function. Building the binding resolves everything once, into one :class:`Route` per
(status, command class): the row, the status reached, the effect, the guard :class:`~.rules.Rule`
objects and the e-mail templates. A trigger without a command class, a command class without a trigger,
a row without an effect, an unknown guard or an unknown template refuses to build (``DefinitionError``).

:meth:`Binding.fire` is the engine every machine runs on: resolve the command's class, check the role and
the ownership, resolve the status, run every guard (all violations at once), run the effect, append the
chained history entry, render the e-mails, number the events. Pure: no I/O, no clock; on any refusal a
``WorkflowError`` is raised before anything is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import attrs

from . import observation, rules
from ._email import Email
from ._rebuild import _rebuilder, rebuild, rebuilder
from .commands import Command
from .emails import TEMPLATES, render
from .errors import DefinitionError, InvalidInput, PermissionDenied, RuleViolations, TransitionNotAllowed, Violation
from .history import extended, is_automatic, link
from .model import SAS, Actor, Corridor, EmailRecord, HistoryEntry
from .rules import Rule, RuleContext
from .states import INITIAL, MachineDefinition, TransitionSpec
from .vocabulary import Role

__all__ = [
    "ORDRE_CHRONOLOGIQUE", "Bind", "Binding", "Change", "Effect", "Route", "Step", "check_now", "permission_problem",
    "rebuild", "rebuilder",
]

S = TypeVar("S")  # the subject: a Dossier, a Compte…
R = TypeVar("R")  # what an accepted command gives back (Outcome, CompteOutcome…)


# -- input checks shared by every machine -----------------------------------------------------------------
def check_now(now: object) -> datetime:
    """``now`` itself, when it is an aware datetime; otherwise a clear ``InvalidInput``."""
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInput("now", "une date avec fuseau horaire (datetime aware, ex. datetime.now(UTC))", now)
    return now


def permission_problem(
    definition: MachineDefinition, actor: Actor, trigger: str, owner_id: str | None
) -> str | None:
    """Why ``actor`` may not fire ``trigger`` of ``definition`` on a subject owned by ``owner_id``
    (``None``: nothing owned yet), or ``None`` when permitted."""
    roles, owner_only = definition.permissions.get(trigger, (frozenset(), False))
    if actor.role not in roles:
        allowed = ", ".join(sorted(r.label for r in roles)) or "personne"
        return f"réservée à : {allowed}"
    if owner_id is not None and actor.role is Role.FOURNISSEUR and owner_only and actor.id != owner_id:
        return definition.owner_refusal
    return None


_set = object.__setattr__


# -- what an effect sees and decides ------------------------------------------------------------------------
@attrs.frozen
class Step:
    """What an effect knows besides the subject and the command: the row, the status it reaches, when,
    the corridor, and what the caller passed for a creation (``start``'s ``numero``…)."""

    spec: TransitionSpec
    dest: Any
    now: datetime
    corridor: Corridor
    args: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class Change:
    """What an effect decided.

    ``created`` is the new subject of a creating transition (its history empty); otherwise ``updates``
    are the subject's changed fields. ``details`` and ``comment`` go into the history entry, ``events``
    are the domain events (the status change is added by the engine). ``entries`` are further history
    entries, after the command's own, at the same instant and status: ``(actor, trigger, comment,
    details)`` each (the portal's own controls after a deposit).
    """

    updates: Mapping[str, Any] = attrs.field(factory=dict)
    details: Mapping[str, str] = attrs.field(factory=dict)
    events: tuple[Any, ...] = ()
    comment: str | None = None
    created: Any = None
    entries: tuple[tuple[Actor, str, str | None, Mapping[str, str]], ...] = ()


#: An effect: (subject before — ``None`` on creation, command, step) -> what changes.
Effect = Callable[[Any, Any, Step], Change]


@attrs.frozen
class Bind:
    """One entry of a binding, as written: a command class, what firing it does, and the checks the machine
    makes on this command besides the guards of its row (``Rule`` objects run with them, all violations
    reported together; their context has ``now`` and ``args``)."""

    command: type[Command]
    effect: Effect
    checks: tuple[Rule, ...] = ()
    #: refusals the machine gives for this command alone before its guards (see :attr:`Binding.refusals`)
    refusals: tuple[Rule, ...] = ()


@attrs.frozen
class Route:
    """One transition row resolved for one source status: everything the engine needs, typed."""

    spec: TransitionSpec
    source: Any  # the source status member, None on creation
    dest: Any  # the status member reached
    command: type[Command]
    effect: Effect
    guards: tuple[Rule, ...]
    emails: tuple[str, ...]
    #: the machine's own checks of this command: its entry's, then the binding's (:attr:`Binding.checks`)
    checks: tuple[Rule, ...] = ()

    @property
    def changes_status(self) -> bool:
        return self.source is not self.dest


def _time_order(ctx: RuleContext) -> tuple[Violation, ...]:
    subject = ctx.subject
    if subject is None or ctx.now is None:
        return ()
    history = subject.history
    last = history[-1].at if history else subject.date_changement_statut
    return (rules.violation("date.anterieure"),) if ctx.now < last else ()


#: A command dated before the subject's last operation is refused: history is ordered by time, so it is a
#: clock or replay error. The check every machine makes besides its guards, unless its binding says otherwise.
ORDRE_CHRONOLOGIQUE = Rule("ordre_chronologique", "La commande n'est pas antérieure à la dernière opération.",
                           _time_order, codes=("date.anterieure",))


def _known_template(name: str) -> bool:
    return name in TEMPLATES


@attrs.frozen(eq=False)
class Binding(Generic[S, R]):
    """A machine definition bound to its command classes and effects, with how its subject is read.

    ``status`` is the subject's status enum (its values are the definition's state names); ``owner``,
    ``key`` and ``recipient`` read a subject's owner id, its identifier (events and observation) and the
    address its e-mails go to; ``email_context`` gives every variable its templates may use;
    ``rule_context`` builds what the guards see; ``status_event`` builds the status-change event and
    ``outcome`` what ``fire`` returns. ``rules`` resolves guard names (the package's rules by default,
    plus a host's own); ``templates`` says which template names exist and ``render`` renders one (the
    package's templates and renderer by default: a host's machine brings its own).
    """

    definition: MachineDefinition
    status: type[Any]
    entries: tuple[Bind, ...]
    owner: Callable[[Any], str]
    key: Callable[[Any], str]
    recipient: Callable[[Any], str]
    email_context: Callable[[Any, Any, Step], Mapping[str, object]]
    status_event: Callable[..., Any]
    outcome: Callable[[Any, tuple[Any, ...], tuple[Email, ...]], R]
    rule_context: Callable[[Any, Any, Corridor], RuleContext] = attrs.field(
        default=lambda subject, command, corridor: RuleContext(command=command, corridor=corridor, subject=subject))
    rules: Mapping[str, Rule] = attrs.field(factory=lambda: rules.RULES)
    templates: Callable[[str], bool] = _known_template
    #: renders one template for one address (the package's Jinja renderer by default)
    render: Callable[..., Email] = render
    #: what the machine checks on every command besides the guards of the row (violations reported with theirs)
    checks: tuple[Rule, ...] = (ORDRE_CHRONOLOGIQUE,)
    #: the reasons the machine gives when it refuses a command before its guards (permission, status), as
    #: rules: the codes its ``explain`` and its refusals can carry, on every trigger
    refusals: tuple[Rule, ...] = ()
    #: whether the e-mails sent are recorded on the subject (its ``emails_sent``)
    records_emails: bool = False
    #: the subject's history entry class (``at, actor, trigger, source, dest, comment, command_id, details,
    #: hash``): every machine's history is chained the same way (:mod:`.history`)
    entry_type: type[Any] | None = None

    _routes: Mapping[tuple[str, type[Command]], Route] = attrs.field(init=False, repr=False)
    _commands: Mapping[str, type[Command]] = attrs.field(init=False, repr=False)
    _classes: frozenset[type[Command]] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # resolved once: a broken binding fails when it is built
        routes, commands = self._build()
        _set(self, "_routes", routes)
        _set(self, "_commands", commands)
        _set(self, "_classes", frozenset(commands.values()))

    @property
    def commands(self) -> Mapping[str, type[Command]]:
        """Every command class of the machine, by trigger."""
        return self._commands

    @property
    def routes(self) -> Mapping[tuple[str, type[Command]], Route]:
        """(source status name — :data:`INITIAL` on creation, command class) -> its resolved route."""
        return self._routes

    def _build(self) -> tuple[Mapping[tuple[str, type[Command]], Route], Mapping[str, type[Command]]]:
        d = self.definition
        problems: list[str] = []
        by_trigger: dict[str, Bind] = {}
        for entry in self.entries:
            trigger = entry.command.TRIGGER
            if trigger not in d.triggers:
                problems.append(f"commande sans transition : {entry.command.__name__} ({trigger})")
            elif trigger in by_trigger:
                problems.append(f"deux commandes pour {trigger}")
            by_trigger[trigger] = entry
        problems += [f"commande manquante : {t}" for t in d.triggers if t not in by_trigger]
        if set(d.state_names) != {m.value for m in self.status}:
            problems.append(f"{self.status.__name__} ne correspond pas aux états déclarés")
        for t in d.transitions:
            problems += [f"{t.trigger} : règle inconnue : {g}" for g in t.guards if g not in self.rules]
            problems += [f"{t.trigger} : modèle de courriel inconnu : {e}" for e in t.emails if not self.templates(e)]
        if problems:
            raise DefinitionError(d.name, problems)
        routes: dict[tuple[str, type[Command]], Route] = {}
        for src, t, dst in d.edges():
            entry = by_trigger[t.trigger]
            source = None if src == INITIAL else self.status(src)
            routes[(src, entry.command)] = Route(
                spec=t, source=source, dest=self.status(dst), command=entry.command, effect=entry.effect,
                guards=tuple(self.rules[g] for g in t.guards), emails=t.emails, checks=entry.checks + self.checks)
        commands = {t: by_trigger[t].command for t in d.triggers}
        return MappingProxyType(routes), MappingProxyType(commands)

    @property
    def own_rules(self) -> tuple[tuple[Rule, tuple[str, ...]], ...]:
        """The machine's own checks and refusals (not its guards), each with the triggers it applies to, in
        the definition's order: with the guards, every code a command of this machine can be refused with."""
        found: dict[str, tuple[Rule, dict[str, None]]] = {}
        for entry in self.entries:
            for rule in (*entry.checks, *self.checks, *entry.refusals, *self.refusals):
                found.setdefault(rule.name, (rule, {}))[1][entry.command.TRIGGER] = None
        return tuple((rule, tuple(t for t in self.definition.triggers if t in where))
                     for rule, where in found.values())

    @property
    def own_codes(self) -> Mapping[str, tuple[str, ...]]:
        """Every code of :attr:`own_rules`, with the triggers where it can come."""
        out: dict[str, tuple[str, ...]] = {}
        for rule, triggers in self.own_rules:
            for code in rule.codes:
                out[code] = tuple(dict.fromkeys((*out.get(code, ()), *triggers)))
        return MappingProxyType(out)

    def command_of(self, trigger: str) -> type[Command]:
        """The command class that fires ``trigger``."""
        return self.commands[trigger]

    # -- questions about a subject --------------------------------------------------------------------------
    def triggers_for(self, subject: S | None, actor: Actor) -> frozenset[str]:
        """Triggers leaving the subject's status (the creating ones for ``None``) that this actor's role and
        ownership permit."""
        if subject is None:
            return frozenset(t.trigger for t in self.definition.outgoing(None))
        owner = self.owner(subject)
        return frozenset(t.trigger for t in self.definition.outgoing(subject.status.value)  # type: ignore[attr-defined]
                         if permission_problem(self.definition, actor, t.trigger, owner) is None)

    def allowed(self, subject: S, actor: Actor, corridor: Corridor = SAS) -> frozenset[str]:
        """:meth:`triggers_for`, less those a guard that looks at the subject alone refuses now."""
        ctx = self.rule_context(subject, None, corridor)
        out = set()
        for trigger in self.triggers_for(subject, actor):
            route = self.routes[(subject.status.value, self.commands[trigger])]  # type: ignore[attr-defined]
            if not rules.check_all(route.guards, ctx, scope="dossier"):
                out.add(trigger)
        return frozenset(out)

    # -- the engine ------------------------------------------------------------------------------------------
    def fire(self, subject: S | None, command: Command, *, now: datetime, corridor: Corridor = SAS,
             args: Mapping[str, Any] = MappingProxyType({})) -> R:
        """Apply ``command`` to ``subject`` (``None``: a creating command) at ``now``.

        Checks, in order: the command's class, permission (role, then ownership), status, then every guard
        (all violations together) and the order of time. Raises ``InvalidInput``, ``PermissionDenied``,
        ``TransitionNotAllowed`` or ``RuleViolations``; ``subject`` is never modified.
        """
        cls = type(command)
        if cls not in self._classes:
            names = ", ".join(c.__name__ for c in list(self.commands.values())[:2])
            raise InvalidInput("command", f"une commande ({names}, …)", command)
        trigger = cls.TRIGGER
        actor = command.actor
        problem = permission_problem(self.definition, actor, trigger,
                                     self.owner(subject) if subject is not None else None)
        if problem is not None:
            raise PermissionDenied(actor.role.value, actor.id, trigger, problem)
        current: Any = subject
        state = INITIAL if current is None else current.status
        route = self._routes.get((state, cls))
        if route is None:
            raise TransitionNotAllowed(None if current is None else current.status.value, trigger,
                                       self.triggers_for(subject, actor))
        step = Step(route.spec, route.dest, now, corridor, args)
        violations: tuple[Violation, ...] = ()
        if route.guards or route.checks:  # neither: no context to build
            ctx = self.rule_context(subject, command, corridor)
            if route.guards:
                violations = rules.check_all(route.guards, ctx)
            if route.checks:
                ctx = rebuild(ctx, now=now, args=args)
                for check in route.checks:
                    violations += check.check(ctx)
        if violations:
            observation.violations(self.definition, trigger, violations)
            raise RuleViolations(violations, trigger=trigger)
        return self._finish(subject, command, route, step, route.effect(subject, command, step))

    def _finish(self, before: S | None, command: Command, route: Route, step: Step, change: Change) -> R:
        """The new subject (built once, without re-running the checks of parts already checked), its chained
        history entry, its e-mails and its numbered events."""
        base: Any = change.created if before is None else before
        now, dest, source, trigger = step.now, route.dest, route.source, route.spec.trigger
        previous = base.history
        entry_type = self.entry_type or HistoryEntry  # history.append's default
        history = link(previous, entry_type, now, command.actor, trigger, source, dest, change.comment,
                       command.command_id, change.details)
        for actor, extra_trigger, comment, details in change.entries:
            history = link(history, entry_type, now, actor, extra_trigger, dest, dest, comment, None, details)
        changed = source is not dest
        kind: Any = type(base)
        after = _rebuilder(kind)(base, **change.updates, status=dest, history=history,
                                 date_changement_statut=now if changed else base.date_changement_statut)
        emails: tuple[Email, ...] = ()
        if route.emails:
            to, context = self.recipient(after), self.email_context(after, command, step)
            emails = tuple(self.render(name, to=to, context=context) for name in route.emails)
            if self.records_emails:
                records = tuple(EmailRecord(at=now, template=e.template, subject=e.subject, to=e.to) for e in emails)
                # Frozen for everyone else; ``after`` is not shared yet (the e-mails are rendered from it).
                _set(after, "emails_sent", extended(after.emails_sent, records))
        key = self.key(after)
        events = change.events
        if changed:
            events = (*events, self.status_event(key, now, trigger, source, dest))
        entry = len(history)
        for i, e in enumerate(events, 1):
            # The effect built these events for this command: no one else holds them yet (as for ``after``).
            _set(e, "event_id", f"{key}/{entry}/{i}")
        if observation.current() is not None:  # nobody observes (the usual case): nothing to look up
            # the previous transition is the previous command's, not the portal's controls that may follow it
            if previous and is_automatic(previous[-1]):
                previous = tuple(e for e in previous if not is_automatic(e))
            observation.transition(self.definition, subject=key, source=source, trigger=trigger, target=dest,
                                   history=previous)
        return self.outcome(after, events, emails)

