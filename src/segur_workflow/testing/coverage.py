"""Coverage of the machine definitions: which transitions, rule outcomes and transition pairs ran.

A :class:`Recorder` is an :class:`~segur_workflow.observation.Observer`: installed for a test session
(``pytest --segur-coverage``, see :mod:`.plugin`) or a ``with observing(recorder):`` block, it counts

* every edge ``(source, trigger, target)`` fired through an engine, per machine;
* every outcome of every guard rule run on a command: ``"ok"`` (passed) or each violation code;
  plus the codes the engines check themselves (their binding's own rules,
  :attr:`segur_workflow.binding.Binding.own_codes`);
* every pair of consecutive edges in one subject's life (the previous edge is read from its history).

:func:`build_report` compares the counts with what the definitions declare (``definition.edges()``,
the guards' :attr:`~segur_workflow.rules.Rule.codes`, minus the outcomes a rule declares
:attr:`~segur_workflow.rules.Rule.unreachable`) and gives a :class:`Report`: French text, a JSON
document, one percentage. Pure Python: needs neither pytest nor hypothesis.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .. import observation
from .._machines import BINDINGS
from ..observation import INITIAL, Edge, Observer
from ..rules import RULES
from ..states import DEFINITIONS, MachineDefinition

__all__ = [
    "ENGINE", "FORMAT", "OK", "MachineInfo", "Recorder", "Report", "build_report", "load_definition",
]

#: The outcome of a rule that passed.
OK = "ok"
#: The pseudo-rule of the checks the engines make themselves (``date.anterieure``, ``numero.format``).
ENGINE = "(moteur)"
#: Format tag of the JSON documents (the recording and the report).
FORMAT = "segur-coverage/1"

Outcome = tuple[str, str]  # (rule name or ENGINE, "ok" or a violation code)
Pair = tuple[Edge, Edge]


@attrs.frozen
class MachineInfo:
    """What coverage needs of a machine definition, as plain data (it travels between xdist processes)."""

    name: str
    title: str
    edges: tuple[Edge, ...]
    triggers: tuple[str, ...]
    guards: tuple[str, ...]

    @classmethod
    def of(cls, definition: MachineDefinition) -> MachineInfo:
        guards: dict[str, None] = {}
        for t in definition.transitions:
            guards.update(dict.fromkeys(t.guards))
        return cls(definition.name, definition.title,
                   tuple((src, t.trigger, dst) for src, t, dst in definition.edges()),
                   definition.triggers, tuple(guards))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "edges": [list(e) for e in self.edges],
                "triggers": list(self.triggers), "guards": list(self.guards)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> MachineInfo:
        return cls(doc["name"], doc["title"], tuple(_edge(e) for e in doc["edges"]), tuple(doc["triggers"]),
                   tuple(doc["guards"]))

    # -- what the machine declares -------------------------------------------------------------------------
    def pairs(self) -> tuple[Pair, ...]:
        """Every (edge, next edge) the graph allows: the second leaves the state the first reached."""
        return tuple((a, b) for a in self.edges for b in self.edges if b[0] == a[2] and b[0] != INITIAL)

    def outcomes(self) -> tuple[Outcome, ...]:
        """Every outcome of its guard rules (passed, each code) and the engine codes that apply to it."""
        out: list[Outcome] = []
        for name in self.guards:
            rule = RULES.get(name)
            if rule is not None:
                out += [(name, OK), *((name, c) for c in rule.codes)]
        out += [(ENGINE, code) for code in (BINDINGS[self.name].own_codes if self.name in BINDINGS else ())]
        return tuple(out)


def unreachable_reason(outcome: Outcome) -> str | None:
    """Why ``outcome`` cannot be produced through the public API, when its rule says so."""
    rule = RULES.get(outcome[0])
    return rule.unreachable.get(outcome[1]) if rule is not None else None


def load_definition(spec: str) -> MachineDefinition:
    """``"package.module:ATTRIBUTE"`` → the :class:`MachineDefinition` it names (a host's machine);
    a bare name (``"compte"``) names a machine of the library."""
    if spec in DEFINITIONS:
        return DEFINITIONS[spec]
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"machine {spec!r} : attendu « module:attribut » (ex. monhote.etats:MACHINE) "
                         f"ou une machine de la bibliothèque ({', '.join(DEFINITIONS)})")
    value = getattr(importlib.import_module(module), attr)
    if not isinstance(value, MachineDefinition):
        raise ValueError(f"machine {spec!r} : {type(value).__name__} n'est pas une MachineDefinition")
    return value


def _edge(value: Iterable[str]) -> Edge:
    s, t, d = value
    return (s, t, d)


class Recorder(Observer):
    """Counts what the engines report, and passes it on to ``parent``.

    ``parent`` defaults to the observer installed when the recorder is made: a ``with observing(Recorder())``
    block inside a test run under ``--segur-coverage`` hides nothing from the session's report.
    ``alone=True`` tells nobody else."""

    def __init__(self, parent: Observer | None = None, *, alone: bool = False) -> None:
        self.parent = None if alone else parent if parent is not None else observation.current()
        self.machines: dict[str, MachineInfo] = {}
        self.transitions: Counter[tuple[str, Edge]] = Counter()
        self.pairs: Counter[tuple[str, Pair]] = Counter()
        self.outcomes: Counter[Outcome] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()  # (machine, code) of refused commands

    # -- Observer ---------------------------------------------------------------------------------------
    def _machine(self, definition: MachineDefinition) -> str:
        if definition.name not in self.machines:
            self.machines[definition.name] = MachineInfo.of(definition)
        return definition.name

    def transition(self, definition: MachineDefinition, edge: Edge, previous: Edge | None, subject: str) -> None:
        name = self._machine(definition)
        self.transitions[(name, edge)] += 1
        if previous is not None:
            self.pairs[(name, (previous, edge))] += 1
        if self.parent is not None:
            self.parent.transition(definition, edge, previous, subject)

    def rule(self, rule: str, codes: tuple[str, ...]) -> None:
        for code in codes or (OK,):
            self.outcomes[(rule, code)] += 1
        if self.parent is not None:
            self.parent.rule(rule, codes)

    def violations(self, definition: MachineDefinition, trigger: str, codes: tuple[str, ...]) -> None:
        name = self._machine(definition)
        for code in codes:
            self.refusals[(name, code)] += 1
        if self.parent is not None:
            self.parent.violations(definition, trigger, codes)

    # -- travelling between processes ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The counts as JSON-ready data (what an xdist worker sends to the controller)."""
        return {
            "format": FORMAT,
            "machines": [m.to_json() for m in self.machines.values()],
            "transitions": [[m, list(e), n] for (m, e), n in self.transitions.items()],
            "pairs": [[m, list(a), list(b), n] for (m, (a, b)), n in self.pairs.items()],
            "outcomes": [[r, o, n] for (r, o), n in self.outcomes.items()],
            "refusals": [[m, c, n] for (m, c), n in self.refusals.items()],
        }

    def merge(self, doc: Mapping[str, Any]) -> None:
        """Add the counts of another recorder's :meth:`to_json`."""
        if doc.get("format") != FORMAT:
            raise ValueError(f"enregistrement de couverture d'un autre format : {doc.get('format')!r}")
        for m in doc["machines"]:
            self.machines.setdefault(m["name"], MachineInfo.from_json(m))
        for m, e, n in doc["transitions"]:
            self.transitions[(m, _edge(e))] += n
        for m, a, b, n in doc["pairs"]:
            self.pairs[(m, (_edge(a), _edge(b)))] += n
        for r, o, n in doc["outcomes"]:
            self.outcomes[(r, o)] += n
        for m, c, n in doc["refusals"]:
            self.refusals[(m, c)] += n

    def outcome_count(self, machine: str, outcome: Outcome) -> int:
        if outcome[0] == ENGINE:
            return self.refusals[(machine, outcome[1])]
        return self.outcomes[outcome]


# -- the report ----------------------------------------------------------------------------------------------
@attrs.frozen
class Section:
    """One kind of item of one machine: how many declared, which were exercised, which were not."""

    hits: tuple[tuple[Any, int], ...]  # every counted item with its count (0: never exercised)
    excluded: tuple[tuple[Any, str], ...] = ()  # items left out, with the reason

    @property
    def total(self) -> int:
        return len(self.hits)

    @property
    def covered(self) -> int:
        return sum(1 for _item, n in self.hits if n)

    @property
    def missing(self) -> tuple[Any, ...]:
        return tuple(item for item, n in self.hits if not n)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0


@attrs.frozen
class MachineReport:
    info: MachineInfo
    transitions: Section
    outcomes: Section
    pairs: Section


@attrs.frozen
class Report:
    """Coverage of every machine. :attr:`percent` counts transitions and rule outcomes (not the pairs,
    many of which the guards make impossible: they are reported for information)."""

    machines: tuple[MachineReport, ...]
    fail_under: float | None = None
    #: machines of the library that nothing in the run touched: listed, not counted
    untouched: tuple[MachineInfo, ...] = ()

    @property
    def covered(self) -> int:
        return sum(m.transitions.covered + m.outcomes.covered for m in self._dedup())

    @property
    def total(self) -> int:
        return sum(m.transitions.total + m.outcomes.total for m in self._dedup())

    def _dedup(self) -> tuple[MachineReport, ...]:
        # a rule shared by two machines is one outcome of the run, counted with the first machine only
        seen: set[Outcome] = set()
        out = []
        for m in self.machines:
            hits = tuple((o, n) for o, n in m.outcomes.hits if o[0] == ENGINE or o not in seen)
            seen.update(o for o, _n in m.outcomes.hits if o[0] != ENGINE)
            out.append(attrs.evolve(m, outcomes=attrs.evolve(m.outcomes, hits=hits)))
        return tuple(out)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0

    @property
    def failed(self) -> bool:
        return self.fail_under is not None and self.percent < self.fail_under

    # -- views ----------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def outcome(o: Outcome) -> dict[str, str]:
            return {"rule": o[0], "outcome": o[1]}

        def edge(e: Edge) -> dict[str, str | None]:
            return {"source": None if e[0] == INITIAL else e[0], "trigger": e[1], "target": e[2]}

        def section(s: Section, item: Any) -> dict[str, Any]:
            doc: dict[str, Any] = {
                "covered": s.covered, "total": s.total, "percent": round(s.percent, 2),
                "items": [{**item(i), "count": n} for i, n in s.hits],
                "missing": [item(i) for i in s.missing],
            }
            if s.excluded:
                doc["excluded"] = [{**item(i), "reason": why} for i, why in s.excluded]
            return doc

        return {
            "format": FORMAT,
            "percent": round(self.percent, 2), "covered": self.covered, "total": self.total,
            "fail_under": self.fail_under, "failed": self.failed,
            "untouched": [m.name for m in self.untouched],
            "machines": {
                m.info.name: {
                    "title": m.info.title,
                    "transitions": section(m.transitions, edge),
                    "rule_outcomes": section(m.outcomes, outcome),
                    "pairs": section(m.pairs, lambda p: {"first": edge(p[0]), "then": edge(p[1])}),
                }
                for m in self.machines
            },
        }

    def to_text(self, *, show_pairs: bool = True) -> str:
        """The report in French: figures per machine, then what was never exercised and what is excluded."""
        lines = [f"Couverture de la définition segur_workflow : {_pct(self.percent)} "
                 f"({self.covered}/{self.total} transitions et issues de règles)"]
        for m in self.machines:
            lines += [
                "",
                f"machine « {m.info.name} » — {m.info.title}",
                f"  transitions                        : {_fig(m.transitions)}",
                f"  issues de règles                   : {_fig(m.outcomes)}"
                + (f", {len(m.outcomes.excluded)} exclue(s)" if m.outcomes.excluded else ""),
                f"  paires de transitions consécutives : {_fig(m.pairs)} (pour information)",
            ]
            missing = [f"transition {_edge_text(e)}" for e in m.transitions.missing]
            missing += _outcomes_text(m.outcomes.missing)
            if missing:
                lines.append("  jamais exercé :")
                lines += [f"    - {x}" for x in missing]
            if show_pairs and m.pairs.missing:
                lines.append("  paires jamais exercées :")
                lines += [f"    - {_edge_text(a)} —{b[1]}→ {b[2]}" for a, b in m.pairs.missing]
            if m.outcomes.excluded:
                lines.append("  exclu (inatteignable par l'API publique) :")
                lines += [f"    - {_outcome_text(o)} : {why}" for o, why in m.outcomes.excluded]
        for info in self.untouched:
            lines += ["", f"machine « {info.name} » — {info.title} : jamais exercée, non comptée "
                          "(nommez-la dans segur_coverage_machines pour la compter)"]
        if self.fail_under is not None:
            verdict = "ÉCHEC" if self.failed else "atteint"
            lines += ["", f"Seuil --segur-coverage-fail-under={_num(self.fail_under)} % : {verdict} "
                          f"({_pct(self.percent)})"]
        return "\n".join(lines)


def _num(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _pct(value: float) -> str:
    return f"{_num(value)} %"


def _fig(s: Section) -> str:
    return f"{s.covered}/{s.total} ({_pct(s.percent)})"


def _edge_text(e: Edge) -> str:
    source = "(création)" if e[0] == INITIAL else e[0]
    return f"{source} —{e[1]}→ {e[2]}"


def _outcomes_text(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per rule: whether it never passed, and the refusals never seen."""
    by_rule: dict[str, list[str]] = {}
    for rule, outcome in outcomes:
        by_rule.setdefault(rule, []).append(outcome)
    lines = []
    for rule, seen in by_rule.items():
        codes = ", ".join(f"« {c} »" for c in seen if c != OK)
        if rule == ENGINE:
            lines.append(f"contrôles du moteur : refus jamais vus : {codes}")
            continue
        parts = ["jamais passée"] if OK in seen else []
        if codes:
            parts.append(f"refus jamais vus : {codes}")
        lines.append(f"règle {rule} : {' ; '.join(parts)}")
    return lines


def _outcome_text(o: Outcome) -> str:
    if o[0] == ENGINE:
        return f"contrôle du moteur : refus « {o[1]} »"
    if o[1] == OK:
        return f"règle {o[0]} : passée"
    return f"règle {o[0]} : refus « {o[1]} »"


def build_report(recorder: Recorder, definitions: Iterable[MachineDefinition | MachineInfo] = (),
                 *, fail_under: float | None = None) -> Report:
    """Compare ``recorder``'s counts with what the machines declare.

    Counted: every machine the recorder saw (a transition fired or a command refused) and every one of
    ``definitions`` (a host's, or a library machine it wants counted even if its tests never touch it).
    The library's other machines are listed as untouched: a host using only dossiers is not held to the
    account machine."""
    infos: dict[str, MachineInfo] = {}
    for d in definitions:
        info = d if isinstance(d, MachineInfo) else MachineInfo.of(d)
        infos.setdefault(info.name, info)
    for name, info in recorder.machines.items():
        infos.setdefault(name, info)
    untouched = tuple(MachineInfo.of(d) for d in DEFINITIONS.values() if d.name not in infos)
    out = []
    for info in infos.values():
        transitions = Section(tuple((e, recorder.transitions[(info.name, e)]) for e in info.edges))
        counted, excluded = [], []
        for o in info.outcomes():
            reason = unreachable_reason(o)
            if reason is None:
                counted.append((o, recorder.outcome_count(info.name, o)))
            else:
                excluded.append((o, reason))
        pairs = Section(tuple((p, recorder.pairs[(info.name, p)]) for p in info.pairs()))
        out.append(MachineReport(info, transitions, Section(tuple(counted), tuple(excluded)), pairs))
    return Report(tuple(out), fail_under=fail_under, untouched=untouched)
