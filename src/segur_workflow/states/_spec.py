"""What a machine definition is made of: :class:`StateSpec`, :class:`TransitionSpec`, :class:`MachineDefinition`.

A definition checks itself when it is built (unknown, unreachable or trap states, duplicates) and compiles
one ``transitions.Machine`` without models, whose event table resolves ``(status, trigger)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType

import attrs
from transitions import Machine, State

from .._display import DRAWING
from .._graph import reachable
from ..errors import DefinitionError
from ..vocabulary import Role

__all__ = ["INITIAL", "MachineDefinition", "StateSpec", "TransitionSpec"]

#: Name of the pseudo-state before a creating trigger (``deposer_avance``, ``creer_compte``).
INITIAL = "__initial__"


@attrs.frozen
class StateSpec:
    """A state: its name, French label, group (phase) for diagrams, and whether it is final."""

    name: str
    label: str
    group: str | None = None
    final: bool = False
    description: str = ""


@attrs.frozen
class TransitionSpec:
    """One row of the transition table.

    ``sources`` empty means the trigger creates the subject (from :data:`INITIAL`).
    ``dest`` ``None`` means an internal transition: the status stays the same.
    ``guards`` name rules of :mod:`segur_workflow.rules`; all of them run, and all violations are reported.
    ``owner_only``: a provider may fire it only on its own subject.
    ``email``: the template sent to the provider when it fires, if any.
    ``assigned_only``: when the corridor reserves instruction (``Corridor.instruction_reservee``), only
    the gestionnaire the dossier is assigned to may fire it.
    ``label``: the transition in the process's words, as diagrams and tables show it ("Déposer la demande
    d'avance"); the trigger stays the identifier (tooltips, SCXML, legends). ``recit``: what happened,
    as a history entry tells it ("Demande d'avance déposée").
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    roles: frozenset[Role]
    guards: tuple[str, ...] = ()
    owner_only: bool = False
    email: str | None = None
    description: str = ""
    assigned_only: bool = False
    recit: str = ""
    #: further templates sent when it fires, after ``email`` (the account's creation sends two mails)
    extra_emails: tuple[str, ...] = ()
    label: str = ""

    @property
    def emails(self) -> tuple[str, ...]:
        """Every template sent when it fires, in order."""
        return ((self.email,) if self.email is not None else ()) + self.extra_emails

    @property
    def libelle(self) -> str:
        """``label``, or the trigger in words when a definition gives none."""
        return self.label or self.trigger.replace("_", " ").capitalize()

    @property
    def creates(self) -> bool:
        return not self.sources

    @property
    def internal(self) -> bool:
        return self.dest is None

    def target(self, source: str) -> str:
        """The state reached from ``source``."""
        return source if self.dest is None else self.dest


@attrs.frozen(eq=False)
class MachineDefinition:
    """States and transitions of one machine, checked and compiled once."""

    name: str
    title: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    #: why a provider may not fire an owner-only trigger on another's subject, in people's words
    owner_refusal: str = attrs.field(kw_only=True, default=attrs.Factory(
        lambda self: f"réservée au titulaire de ce {self.name}", takes_self=True))

    def __attrs_post_init__(self) -> None:
        self.check()
        # Build the shared machine and index eagerly so a broken definition fails at import.
        _ = self.machine, self._index

    # -- lookups -----------------------------------------------------------------------------
    @cached_property
    def _states(self) -> Mapping[str, StateSpec]:
        return MappingProxyType({s.name: s for s in self.states})

    def state(self, name: str) -> StateSpec:
        return self._states[name]

    @cached_property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return tuple(seen)

    @cached_property
    def permissions(self) -> Mapping[str, tuple[frozenset[Role], bool]]:
        """Per trigger: the roles that may fire it (over all its transitions) and whether only the owner may.

        Computed once per definition: the engine asks on every command.
        """
        table: dict[str, tuple[frozenset[Role], bool]] = {}
        for trigger in self.triggers:
            specs = [t for t in self.transitions if t.trigger == trigger]
            table[trigger] = (frozenset().union(*(t.roles for t in specs)), any(t.owner_only for t in specs))
        return MappingProxyType(table)

    @cached_property
    def assigned_only(self) -> frozenset[str]:
        """Triggers reserved to the assigned gestionnaire when the corridor reserves instruction."""
        return frozenset(t.trigger for t in self.transitions if t.assigned_only)

    @cached_property
    def labels(self) -> Mapping[str, str]:
        """Per trigger, the action in people's words (the trigger itself when no label is declared)."""
        return MappingProxyType({t: next(s.libelle for s in self.transitions if s.trigger == t)
                                 for t in self.triggers})

    @cached_property
    def machine(self) -> Machine:
        """The one ``transitions.Machine`` of this definition (no models are ever attached)."""
        states = [State(INITIAL)] + [State(s.name, final=s.final) for s in self.states]
        rows = [
            {
                "trigger": t.trigger,
                "source": list(t.sources) if t.sources else [INITIAL],
                "dest": t.dest,
                "conditions": list(t.guards),
            }
            for t in self.transitions
        ]
        return Machine(
            model=None,
            states=states,
            initial=INITIAL,
            transitions=rows,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    @cached_property
    def _index(self) -> Mapping[tuple[str, str], TransitionSpec]:
        by_key = {(t.trigger, t.dest, t.sources or (INITIAL,)): t for t in self.transitions}
        index: dict[tuple[str, str], TransitionSpec] = {}
        for trigger, event in self.machine.events.items():
            for source, compiled in event.transitions.items():
                for tr in compiled:
                    spec = next(
                        s for (trg, dest, srcs), s in by_key.items()
                        if trg == trigger and dest == tr.dest and source in srcs
                    )
                    index[(source, trigger)] = spec
        return MappingProxyType(index)

    def resolve(self, state: str | None, trigger: str) -> TransitionSpec | None:
        """The transition ``trigger`` fires from ``state`` (``None``: before creation), if any."""
        return self._index.get((INITIAL if state is None else state, trigger))

    def outgoing(self, state: str | None) -> tuple[TransitionSpec, ...]:
        """Transitions that leave ``state`` (``None``: the creating ones), in declaration order."""
        src = INITIAL if state is None else state
        return tuple(t for t in self.transitions if src in (t.sources or (INITIAL,)))

    def triggers_from(self, state: str | None) -> frozenset[str]:
        return frozenset(self.machine.get_triggers(INITIAL if state is None else state))

    def edges(self) -> Iterable[tuple[str, TransitionSpec, str]]:
        """Every (source, transition, target) edge; the source is :data:`INITIAL` for creation."""
        for t in self.transitions:
            for src in t.sources or (INITIAL,):
                yield src, t, t.target(src)

    # -- display in notebooks (IPython's protocol; the drawing is the diagrams', see ``_display``) ---
    def _repr_svg_(self) -> str | None:
        return DRAWING.get().svg(self)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        return DRAWING.get().bundle(self, include, exclude)

    # -- checks ------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a definition with unknown states, duplicates, unreachable or trap states."""
        problems: list[str] = []
        names = [s.name for s in self.states]
        known = set(names)
        if len(known) != len(names):
            problems.append("état déclaré deux fois")
        if not any(t.creates for t in self.transitions):
            problems.append("aucune transition de création")
        seen_pairs: set[tuple[str, str]] = set()
        for t in self.transitions:
            for s in (*t.sources, *((t.dest,) if t.dest else ())):
                if s not in known:
                    problems.append(f"{t.trigger} : état inconnu {s!r}")
            if t.creates and t.dest is None:
                problems.append(f"{t.trigger} : une création doit avoir une destination")
            if not t.roles:
                problems.append(f"{t.trigger} : aucun rôle ne peut la déclencher")
            if t.assigned_only and Role.GESTIONNAIRE not in t.roles:
                problems.append(f"{t.trigger} : réservée au gestionnaire affecté mais pas aux gestionnaires")
            for s in t.sources or (INITIAL,):
                if (s, t.trigger) in seen_pairs:
                    problems.append(f"{t.trigger} : deux transitions depuis {s!r}")
                seen_pairs.add((s, t.trigger))
            for s in t.sources:
                if s in known and self._states[s].final:
                    problems.append(f"{t.trigger} : part de l'état final {s!r}")
        if problems:
            raise DefinitionError(self.name, problems)

        succ: dict[str, set[str]] = {n: set() for n in (INITIAL, *names)}
        for src, _t, dst in self.edges():
            succ[src].add(dst)
        from_start = reachable(INITIAL, succ.__getitem__)
        for n in names:
            if n not in from_start:
                problems.append(f"état inaccessible {n!r}")
            elif not self._states[n].final and not (succ[n] - {n}):
                problems.append(f"état piège {n!r} (ni final ni sortie)")
            elif not (reachable(n, succ.__getitem__) & self.final_states):
                problems.append(f"l'état {n!r} n'atteint aucun état final")
        if not self.final_states:
            problems.append("aucun état final")
        if problems:
            raise DefinitionError(self.name, problems)
