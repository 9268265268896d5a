"""The graph every diagram format draws, built once per call from the definition (and a dossier's path).

A renderer never walks the definition itself: it reads :class:`Graph` (groups of states with their safe
ids and labels, edges with their label lines, tooltip and the steps of the highlighted path).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ..model import Dossier
from ..states import DEFINITIONS, INITIAL, MachineDefinition, TransitionSpec
from ._errors import DiagramError
from ._labels import INITIAL_LABEL, edge_lines, edge_tooltip, group_title

__all__ = [
    "Edge",
    "Graph",
    "Group",
    "Highlight",
    "Node",
    "Step",
    "definition",
    "graph",
    "group_id",
    "highlight_of",
    "path_of",
    "state_ids",
]


@attrs.frozen
class Step:
    """One step of a dossier's path: the n-th history entry, as an edge of the machine."""

    number: int
    source: str
    trigger: str
    dest: str


@attrs.frozen
class Highlight:
    """The dossier's current state and the path it took, as edges of the machine."""

    numero: str
    current: str
    steps: tuple[Step, ...]

    def visited(self) -> frozenset[str]:
        return frozenset({self.current} | {s.source for s in self.steps} | {s.dest for s in self.steps})

    def numbers(self, source: str, trigger: str, dest: str) -> tuple[int, ...]:
        """The step numbers at which this edge was taken (empty: never)."""
        return tuple(s.number for s in self.steps if (s.source, s.trigger, s.dest) == (source, trigger, dest))


def path_of(dossier: Dossier) -> Highlight:
    """The path ``dossier`` took: one step per history entry (the creation starts from :data:`INITIAL`)."""
    if not isinstance(dossier, Dossier):
        raise DiagramError("Seul un dossier (Dossier) peut être mis en évidence sur le diagramme.")
    steps = tuple(
        Step(i, INITIAL if e.source is None else e.source.value, e.trigger, e.dest.value)
        for i, e in enumerate(dossier.history, 1)
    )
    return Highlight(dossier.numero, dossier.status.value, steps)


def definition(machine: str | MachineDefinition) -> MachineDefinition:
    """The definition named ``machine`` (``dossier`` or ``compte``)."""
    if isinstance(machine, MachineDefinition):
        return machine
    try:
        return DEFINITIONS[machine]
    except (KeyError, TypeError):
        known = ", ".join(DEFINITIONS)
        raise DiagramError(f"Machine inconnue « {machine} » : choisissez parmi {known}.") from None


def highlight_of(d: MachineDefinition, highlight: Dossier | None) -> Highlight | None:
    """The path of ``highlight`` on ``d`` (``None`` without a dossier); only the dossier machine has dossiers."""
    if highlight is None:
        return None
    if d.name != "dossier":
        raise DiagramError(f"Un dossier ne peut être mis en évidence que sur la machine « dossier », pas « {d.name} ».")
    return path_of(highlight)


_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def state_ids(d: MachineDefinition) -> Mapping[str, str]:
    """A safe identifier per state: its name when it is a plain word, else a numbered one."""
    out = {INITIAL: "debut"}
    for i, s in enumerate(d.states):
        out[s.name] = s.name if _ID.fullmatch(s.name) and s.name not in {"debut", "end", "state"} else f"etat_{i}"
    return MappingProxyType(out)


def group_id(group: str, first_state_id: str) -> str:
    return f"phase_{group}" if _ID.fullmatch(group) else f"phase_{first_state_id}"


@attrs.frozen
class Node:
    """A state as drawn: its safe ``id``, label, whether final, and its place on the highlighted path."""

    name: str
    id: str
    label: str
    description: str
    final: bool
    current: bool = False
    #: passed through by the highlighted dossier (its current state excepted)
    visited: bool = False


@attrs.frozen
class Group:
    """The states of one phase (``key`` ``None``: states outside any phase), in definition order."""

    key: str | None
    title: str | None
    id: str | None
    nodes: tuple[Node, ...]


@attrs.frozen
class Edge:
    """A transition from one state to another, with every text a format shows of it."""

    source: str
    dest: str
    source_id: str
    dest_id: str
    spec: TransitionSpec
    #: the label's lines, in the process's words (:func:`~segur_workflow.diagrams.edge_lines`)
    lines: tuple[str, ...]
    tooltip: str
    #: the rank(s) of this edge in the highlighted dossier's history (empty: not taken, or no highlight)
    steps: tuple[int, ...] = ()

    @property
    def trigger(self) -> str:
        return self.spec.trigger


@attrs.frozen
class Graph:
    """One machine (and optionally a dossier's path) ready to draw."""

    definition: MachineDefinition
    ids: Mapping[str, str]
    #: every state, in definition order
    nodes: tuple[Node, ...]
    #: the same states by phase, phases in order of first appearance
    groups: tuple[Group, ...]
    edges: tuple[Edge, ...]
    highlight: Highlight | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def title(self) -> str:
        return self.definition.title

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def label(self, name: str) -> str:
        """The French label of a state, or of the pseudo-state before creation."""
        return INITIAL_LABEL if name == INITIAL else self.node(name).label


def graph(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> Graph:
    """The graph of ``machine``, with ``highlight``'s path marked when a dossier is given."""
    d = definition(machine)
    hl = highlight_of(d, highlight)
    ids = state_ids(d)
    visited = hl.visited() if hl is not None else frozenset()
    current = hl.current if hl is not None else None
    nodes = tuple(Node(s.name, ids[s.name], s.label, s.description, s.final,
                       current=s.name == current, visited=s.name in visited and s.name != current)
                  for s in d.states)
    by_group: dict[str | None, list[Node]] = {}
    for s, n in zip(d.states, nodes, strict=True):
        by_group.setdefault(s.group, []).append(n)
    groups = tuple(
        Group(key, None if key is None else group_title(key), None if key is None else group_id(key, nodes[0].id),
              tuple(nodes))
        for key, nodes in by_group.items()
    )
    edges = tuple(
        Edge(src, dst, ids[src], ids[dst], t, tuple(edge_lines(t)), edge_tooltip(t),
             hl.numbers(src, t.trigger, dst) if hl is not None else ())
        for src, t, dst in d.edges()
    )
    return Graph(d, ids, nodes, groups, edges, hl)
