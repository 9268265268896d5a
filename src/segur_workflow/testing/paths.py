"""Model-based test paths computed from a machine definition's graph.

Three families, all derived from ``definition.edges()`` (never from a hand-written list):

* :func:`shortest_paths` — one shortest path from creation to every state;
* :func:`edge_cover` — a small set of paths that together fire every (source, trigger) edge;
* :func:`simple_paths` — every path that never revisits a state, up to a length bound.

A :class:`Path` is a list of triggers; :meth:`Path.walk` replays it on the engine with the example
commands of :func:`segur_workflow.examples.commands_to_fire` (which get past the guards; the account
machine's come from :func:`~segur_workflow.examples.compte_commands_to_fire`), so a path is directly
runnable as a pytest parametrization (:func:`parametrize`). This module needs neither hypothesis nor
pytest at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from .. import examples
from .._graph import breadth_first, reachable, walk_to
from ..binding import Binding
from ..commands import Command
from ..engine import DOSSIER_BINDING, Outcome, handle, start
from ..model import SAS, Corridor, Dossier
from ..states import COMPTE, DOSSIER, INITIAL, MachineDefinition, TransitionSpec

__all__ = [
    "Driver",
    "Edge",
    "Path",
    "Step",
    "all_edges",
    "covered_edges",
    "edge_cover",
    "parametrize",
    "parametrize_states",
    "reaching",
    "shipped_driver",
    "shortest_path_between",
    "shortest_paths",
    "simple_paths",
]

if TYPE_CHECKING:
    import pytest

#: An edge of the graph as coverage counts it: (source state or INITIAL, trigger).
Edge = tuple[str, str]


@attrs.frozen
class Step:
    """One trigger of a walked path: the commands sent, their outcomes, and the subject after them."""

    trigger: str
    source: str
    dest: str
    commands: tuple[Command, ...]
    outcomes: tuple[Any, ...]  # what the machine's engine returns: Outcome, CompteOutcome, a host's own
    subject: Any = None  # the dossier, the account, a host's subject, as the last command left it

    @property
    def dossier(self) -> Dossier:
        dossier: Dossier = self.subject
        return dossier


@attrs.frozen
class Path:
    """A walk through a definition from :data:`INITIAL`: ``triggers[i]`` leads to ``states[i]``."""

    triggers: tuple[str, ...]
    states: tuple[str, ...]
    definition: MachineDefinition = attrs.field(default=DOSSIER, eq=False, repr=False)

    @property
    def id(self) -> str:
        """A readable pytest id: ``deposer_avance>decider>deposer_solde``."""
        return ">".join(self.triggers) or "(vide)"

    @property
    def end(self) -> str:
        return self.states[-1] if self.states else INITIAL

    @property
    def sources(self) -> tuple[str, ...]:
        return (INITIAL, *self.states)[: len(self.triggers)]

    @property
    def edges(self) -> tuple[Edge, ...]:
        """The (source, trigger) edges this path fires, in order."""
        return tuple(zip(self.sources, self.triggers, strict=True))

    def __len__(self) -> int:
        return len(self.triggers)

    def then(self, source: str, spec: TransitionSpec) -> Path:
        """This path extended by firing ``spec`` from ``source`` (which must be :attr:`end`)."""
        if source != self.end:
            raise ValueError(f"{spec.trigger} part de {source!r}, le chemin finit en {self.end!r}")
        return Path((*self.triggers, spec.trigger), (*self.states, spec.target(source)), self.definition)

    def walk(
        self,
        *,
        now: datetime = examples.T0,
        step: timedelta = timedelta(hours=1),
        numero: str = examples.NUMERO,
        corridor: Corridor = SAS,
        driver: Driver | None = None,
    ) -> tuple[Step, ...]:
        """Replay the path on its engine with the example commands; one command per ``step``.

        Raises whatever the engine raises: a path that cannot be walked is a failing test. ``driver`` says
        how (:class:`Driver`: the machine's binding and its example commands); the library's two machines
        have theirs (:func:`~segur_workflow.examples.commands_to_fire`,
        :func:`~segur_workflow.examples.compte_commands_to_fire`), a host's machine passes its own.
        ``numero`` and ``corridor`` apply to the dossier.
        """
        drive = driver if driver is not None else shipped_driver(self.definition, numero=numero, corridor=corridor)
        if drive.binding.definition.name != self.definition.name:
            raise ValueError(f"le pilote est celui de la machine {drive.binding.definition.name!r}, "
                             f"le chemin parcourt {self.definition.name!r}")
        steps: list[Step] = []
        subject: Any = None
        for trigger, source, dest in zip(self.triggers, self.sources, self.states, strict=True):
            commands = tuple(drive.commands(subject, trigger))
            outcomes = []
            for command in commands:
                if subject is not None:
                    now += step
                outcome = drive.fire(subject, command, now)
                outcomes.append(outcome)
                subject = drive.subject(outcome)
            if subject.status.value != dest:
                raise AssertionError(f"{self.id} : {trigger} mène à {subject.status.value}, {dest} attendu")
            steps.append(Step(trigger, source, dest, commands, tuple(outcomes), subject))
        return tuple(steps)

    def run(self, **kwargs: Any) -> Dossier:
        """Walk the path and return the last dossier."""
        return self.reach(**kwargs)  # type: ignore[no-any-return]

    def reach(self, **kwargs: Any) -> Any:
        """Walk the path and return the subject it ends with (a dossier, an account…)."""
        steps = self.walk(**kwargs)
        if not steps:
            raise ValueError("chemin vide : aucun sujet n'est créé")
        return steps[-1].subject

    def commands(self, **kwargs: Any) -> tuple[tuple[str, tuple[Command, ...]], ...]:
        """(trigger, commands sent for it) for each step: what a host replays through its service."""
        return tuple((s.trigger, s.commands) for s in self.walk(**kwargs))


@attrs.frozen
class Driver:
    """How the QA kit drives one machine: its :class:`~segur_workflow.binding.Binding`, the example commands
    of a trigger (``commands(subject, trigger)``, ``subject`` ``None`` before creation: the last command fires
    the trigger, those before it prepare the subject), and, optionally, how one command is applied (by
    default ``binding.fire``; a host may go through its service). What the engine returns is read through
    the binding: the outcome's field holding a subject of the machine's status type."""

    binding: Binding[Any, Any]
    commands: Callable[[Any, str], Sequence[Command]]
    apply: Callable[[Any, Command, datetime], Any] | None = None

    @property
    def definition(self) -> MachineDefinition:
        return self.binding.definition

    def fire(self, subject: Any, command: Command, now: datetime) -> Any:
        if self.apply is not None:
            return self.apply(subject, command, now)
        return self.binding.fire(subject, command, now=now)

    def subject(self, outcome: Any) -> Any:
        """The subject an outcome carries (``Outcome.dossier``, ``CompteOutcome.compte``, a host's own)."""
        values = ([getattr(outcome, a.name) for a in attrs.fields(type(outcome))] if attrs.has(type(outcome))
                  else list(vars(outcome).values()))
        for value in values:
            if isinstance(getattr(value, "status", None), self.binding.status):
                return value
        raise TypeError(f"{type(outcome).__name__} ne porte aucun sujet de statut {self.binding.status.__name__}")


def shipped_driver(definition: MachineDefinition, *, numero: str = examples.NUMERO, corridor: Corridor = SAS
                   ) -> Driver:
    """The :class:`Driver` of one of the library's machines (the dossier, the account), with its example
    commands; the dossier's goes through :func:`~segur_workflow.engine.start` and
    :func:`~segur_workflow.engine.handle`."""
    if definition.name == DOSSIER.name:
        def commands(dossier: Dossier | None, trigger: str) -> tuple[Command, ...]:
            if dossier is None:
                return (examples.deposer_avance(corridor=corridor),)
            return examples.commands_to_fire(dossier, trigger, corridor)

        def apply(dossier: Dossier | None, command: Command, now: datetime) -> Outcome:
            if dossier is None:
                return start(command, numero=numero, now=now, corridor=corridor)  # type: ignore[arg-type]
            return handle(dossier, command, now=now, corridor=corridor)

        return Driver(DOSSIER_BINDING, commands, apply)
    if definition.name == COMPTE.name:
        from ..compte import COMPTE_BINDING  # loaded on first use, like the package does

        def compte_commands(compte: Any, trigger: str) -> tuple[Command, ...]:
            return (examples.creer_compte(),) if compte is None else examples.compte_commands_to_fire(compte, trigger)

        return Driver(COMPTE_BINDING, compte_commands)
    raise ValueError(f"la machine {definition.name!r} n'est pas de la bibliothèque : passez driver=Driver(binding, "
                     "commands), ses commandes d'exemple")


# -- graph --------------------------------------------------------------------------------------------
def _outgoing(definition: MachineDefinition) -> Mapping[str, tuple[tuple[str, TransitionSpec, str], ...]]:
    out: dict[str, list[tuple[str, TransitionSpec, str]]] = {INITIAL: [], **{s: [] for s in definition.state_names}}
    for src, spec, dst in definition.edges():
        out[src].append((src, spec, dst))
    return MappingProxyType({k: tuple(v) for k, v in out.items()})


def all_edges(definition: MachineDefinition = DOSSIER) -> frozenset[Edge]:
    """Every (source, trigger) edge of the definition, creation included (source :data:`INITIAL`)."""
    return frozenset((src, spec.trigger) for src, spec, _dst in definition.edges())


def covered_edges(paths: Iterable[Path]) -> frozenset[Edge]:
    return frozenset(e for p in paths for e in p.edges)


def shortest_paths(definition: MachineDefinition = DOSSIER) -> Mapping[str, Path]:
    """A shortest path (fewest triggers, declaration order breaking ties) to every state."""
    outgoing = _outgoing(definition)
    tree = breadth_first(INITIAL, lambda here: (((src, spec), dst) for src, spec, dst in outgoing[here]))
    best: dict[str, Path] = {INITIAL: Path((), (), definition)}
    for state, step in tree.items():  # met in order: the state before is already there
        if step is not None:
            before, (src, spec) = step
            best[state] = best[before].then(src, spec)
    del best[INITIAL]
    return MappingProxyType({s: best[s] for s in definition.state_names if s in best})


def shortest_path_between(source: str, target: str, definition: MachineDefinition = DOSSIER) -> tuple[str, ...]:
    """The triggers of a shortest walk from ``source`` to ``target`` (empty if equal).

    Raises ``ValueError`` when ``target`` cannot be reached from ``source``.
    """
    outgoing = _outgoing(definition)
    tree = breadth_first(source, lambda here: ((spec.trigger, dst) for _src, spec, dst in outgoing[here]))
    if target not in tree:
        raise ValueError(f"{target!r} est inaccessible depuis {source!r}")
    return tuple(walk_to(tree, target))


def reaching(target: str, definition: MachineDefinition = DOSSIER) -> frozenset[str]:
    """States (and :data:`INITIAL`) from which ``target`` can be reached, ``target`` included."""
    preds: dict[str, set[str]] = {}
    for src, _spec, dst in definition.edges():
        preds.setdefault(dst, set()).add(src)
    return frozenset(reachable(target, lambda state: preds.get(state, ())))


def edge_cover(definition: MachineDefinition = DOSSIER) -> tuple[Path, ...]:
    """Paths that together fire every edge of ``definition.edges()``.

    Each path reaches an uncovered edge by a shortest path, fires it, then keeps following
    uncovered edges while there are some leaving where it stands; paths whose edges another path
    already fires are dropped.
    """
    outgoing = _outgoing(definition)
    short = shortest_paths(definition)
    covered: set[Edge] = set()
    paths: list[Path] = []
    for src, spec, _dst in definition.edges():
        if (src, spec.trigger) in covered:
            continue
        path = (short[src] if src != INITIAL else Path((), (), definition)).then(src, spec)
        covered.add((src, spec.trigger))
        while True:
            here = path.end
            nxt = next(((s, t) for s, t, _d in outgoing[here] if (s, t.trigger) not in covered), None)
            if nxt is None:
                break
            covered.add((nxt[0], nxt[1].trigger))
            path = path.then(*nxt)
        paths.append(path)
    kept = [p for p in paths if not any(q is not p and set(p.edges) < set(q.edges) for q in paths)]
    return tuple(kept)


def simple_paths(
    max_length: int | None = None,
    definition: MachineDefinition = DOSSIER,
    *,
    ending: Callable[[str], bool] | None = None,
) -> tuple[Path, ...]:
    """Every path from creation that visits no state twice, with at most ``max_length`` triggers.

    Internal transitions (``controler_bloc``) stay in their state, so they never appear here:
    :func:`edge_cover` covers them. ``ending`` keeps only paths whose last state satisfies it
    (e.g. ``lambda s: s in DOSSIER.final_states``).
    """
    outgoing = _outgoing(definition)
    out: list[Path] = []

    def dfs(path: Path, visited: frozenset[str]) -> Iterator[Path]:
        if max_length is not None and len(path) >= max_length:
            return
        for src, spec, dst in outgoing[path.end]:
            if spec.internal or dst in visited:
                continue
            longer = path.then(src, spec)
            yield longer
            yield from dfs(longer, visited | {dst})

    for p in dfs(Path((), (), definition), frozenset({INITIAL})):
        if ending is None or ending(p.end):
            out.append(p)
    return tuple(out)


# -- pytest --------------------------------------------------------------------------------------------
def parametrize(paths: Iterable[Path], argname: str = "path") -> pytest.MarkDecorator:
    """``@pytest.mark.parametrize(argname, paths)`` with the paths' readable ids.

    Example::

        @parametrize(edge_cover())
        def test_path(path: Path) -> None:
            for step in path.walk():
                assert step.dossier.status.value == step.dest
    """
    import pytest

    items = tuple(paths)
    return pytest.mark.parametrize(argname, items, ids=[p.id for p in items])


def parametrize_states(
    argname: str = "path", definition: MachineDefinition = DOSSIER
) -> pytest.MarkDecorator:
    """Parametrize over :func:`shortest_paths`, one case per state, the state's name as id."""
    import pytest

    short = shortest_paths(definition)
    return pytest.mark.parametrize(argname, tuple(short.values()), ids=tuple(short))
