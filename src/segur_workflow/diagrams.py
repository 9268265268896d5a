"""Diagrams of the machines, derived from the one definition (:mod:`segur_workflow.states`).

Formats: Mermaid (``stateDiagram-v2``), Graphviz DOT, W3C SCXML and PlantUML, plus SVG/PNG rendered
by Graphviz when its ``dot`` command is installed. Every format shows the same facts:

* states with their French label, grouped by phase (``StateSpec.group``: avance, solde, …);
* final states marked;
* each transition labelled in the process's words (``TransitionSpec.label``), with the role(s) that may
  fire it, its *gardes* (rules that look only at the dossier, so they decide whether the trigger is
  possible at all) and the *règles* that can refuse what the command carries, each by its French
  description, and the title of the e-mail it sends; the identifiers (trigger, rule and template names)
  are in DOT/SVG tooltips and edge ids, SCXML attributes and the docs' legends.

``highlight=dossier`` marks the dossier's current state and the path it took (from its history), with a
colour legend (:data:`COULEURS`). :class:`Diagramme` displays either in Jupyter (``_repr_svg_``).

Text built here never trusts its input: labels go through one escaping function per format.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from collections.abc import Callable, Mapping
from typing import Literal, TypeAlias
from xml.etree import ElementTree as ET

import attrs

# re-exported (explicit aliases): the diagrams' errors live in errors.py with every other error
from .errors import DiagramError as DiagramError  # noqa: PLC0414
from .errors import GraphvizFailed as GraphvizFailed  # noqa: PLC0414
from .errors import GraphvizMissing as GraphvizMissing  # noqa: PLC0414
from .model import Dossier
from .rules import RULES
from .states import DEFINITIONS, INITIAL, MachineDefinition, TransitionSpec
from .vocabulary import Role

TextFormat: TypeAlias = Literal["mermaid", "dot", "scxml", "plantuml"]
ImageFormat: TypeAlias = Literal["svg", "png"]
FORMATS: tuple[str, ...] = ("mermaid", "dot", "scxml", "plantuml", "svg", "png")

#: Namespace of our annotations in SCXML (labels, roles, rules); SCXML allows foreign attributes.
SCXML_NS = "http://www.w3.org/2005/07/scxml"
SW_NS = "urn:segur-workflow:diagramme"

_GROUP_TITLES = {"avance": "Demande d'avance", "solde": "Demande de solde", "connexion": "Première connexion"}
_INITIAL_LABEL = "Avant le dépôt"


# -- what every format shows ----------------------------------------------------------------------
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


def _highlight(d: MachineDefinition, highlight: Dossier | None) -> Highlight | None:
    if highlight is None:
        return None
    if d.name != "dossier":
        raise DiagramError(f"Un dossier ne peut être mis en évidence que sur la machine « dossier », pas « {d.name} ».")
    return path_of(highlight)


def role_label(t: TransitionSpec) -> str:
    roles = " ou ".join(r.label for r in Role if r in t.roles)
    return f"{roles} (propriétaire)" if t.owner_only else roles


def rule_scope(name: str) -> str:
    # a host's machine may guard with its own rules, unknown to the package's registry: a rule on the command
    rule = RULES.get(name)
    return rule.scope if rule is not None else "command"


def rule_description(name: str) -> str:
    rule = RULES.get(name)
    return rule.description if rule is not None else name.replace("_", " ").capitalize()


def gardes(t: TransitionSpec) -> tuple[str, ...]:
    """Rules that look only at the dossier: they decide whether the trigger is possible right now."""
    return tuple(g for g in t.guards if rule_scope(g) == "dossier")


def regles(t: TransitionSpec) -> tuple[str, ...]:
    """Rules that can refuse what the command carries (pieces, amounts, comments…)."""
    return tuple(g for g in t.guards if rule_scope(g) != "dossier")


def edge_title(t: TransitionSpec) -> str:
    """The first line of an edge: the transition in the process's words."""
    return t.libelle + (" (statut inchangé)" if t.internal else "")


def email_title(name: str) -> str:
    """The French title of an e-mail template ("Accusé de réception…"), or its name if unknown."""
    from .emails import TEMPLATES  # rendering machinery loads only when a diagram names an e-mail

    spec = TEMPLATES.get(name)
    return spec.title if spec is not None else name


def edge_lines(t: TransitionSpec) -> list[str]:
    """The lines of a transition's label, shared by every format: all in the process's words.

    Who may fire it, each garde (``si :``) and each règle (``vérifie :``) by its French description, the
    e-mail by its title. Identifiers (trigger, rule and template names) are in :func:`edge_tooltip`.
    """
    lines = [edge_title(t), f"par : {role_label(t)}"]
    for g in gardes(t):
        lines += _wrap(f"si : {rule_description(g)}")
    for g in regles(t):
        lines += _wrap(f"vérifie : {rule_description(g)}")
    if t.email:
        lines += _wrap(f"courriel : {email_title(t.email)}")
    return lines


def _wrap(text: str, width: int = 56) -> list[str]:
    """``text`` cut into lines of about ``width`` characters (diagrams stay narrow); continuations indented."""
    lines = textwrap.wrap(" ".join(text.split()), width=width, break_long_words=False, break_on_hyphens=False)
    return [lines[0], *("   " + x for x in lines[1:])] if lines else [""]


def edge_tooltip(t: TransitionSpec) -> str:
    """The long form with the identifiers: trigger, description, each rule's name and description, e-mail."""
    parts = [f"{t.libelle} — déclencheur {t.trigger}"]
    if t.description:
        parts.append(t.description)
    parts += [f"{'garde' if rule_scope(g) == 'dossier' else 'règle'} {g} : {rule_description(g)}"
              for g in t.guards]
    if t.email:
        parts.append(f"courriel {t.email} : {email_title(t.email)}")
    return "\n".join(parts)


#: Colours of a highlighted dossier, shared by every format and by the legend: (fill, border, meaning).
COULEURS = {
    "courant": ("#ffd54f", "#e65100", "état courant du dossier"),
    "parcouru": ("#c8e6c9", "#2e7d32", "état par lequel le dossier est passé"),
    "prise": ("#2e7d32", "#1b5e20", "transition prise (✔ étape n : rang dans l'historique)"),
    "final": ("#eeeeee", "#424242", "état final (double bordure)"),
}


def _state_label(d: MachineDefinition, name: str) -> str:
    return _INITIAL_LABEL if name == INITIAL else d.state(name).label


def _groups(d: MachineDefinition) -> dict[str | None, list[str]]:
    out: dict[str | None, list[str]] = {}
    for s in d.states:
        out.setdefault(s.group, []).append(s.name)
    return out


def group_title(group: str) -> str:
    return _GROUP_TITLES.get(group, group.capitalize())


_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _ids(d: MachineDefinition) -> Mapping[str, str]:
    """A safe identifier per state: its name when it is a plain word, else a numbered one."""
    out = {INITIAL: "debut"}
    for i, s in enumerate(d.states):
        out[s.name] = s.name if _ID.fullmatch(s.name) and s.name not in {"debut", "end", "state"} else f"etat_{i}"
    return out


def _group_id(group: str, first_state_id: str) -> str:
    return f"phase_{group}" if _ID.fullmatch(group) else f"phase_{first_state_id}"


# -- Mermaid ------------------------------------------------------------------------------------
_MERMAID_ENTITIES = {
    "#": "#35;", '"': "#quot;", ";": "#59;", "%": "#37;", "<": "#lt;", ">": "#gt;",
    "&": "#amp;", "{": "#123;", "}": "#125;", "[": "#91;", "]": "#93;", "|": "#124;", "`": "#96;",
    "\\": "#92;",
    # Before Mermaid 11.13 a transition label ends at its first ":" after the one that opens it: 10.9 and
    # 11.4 (what forges and editor previews embed) refuse a second one, so every colon is an entity.
    ":": "#58;",
}


def mermaid_escape(text: str) -> str:
    """One line of Mermaid label text: its syntax characters as Mermaid entity codes (``#quot;``)."""
    flat = " ".join(text.split())
    return "".join(_MERMAID_ENTITIES.get(c, c) for c in flat)


def to_mermaid(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A Mermaid ``stateDiagram-v2``: phases as composite states, finals to ``[*]``."""
    d = definition(machine)
    hl = _highlight(d, highlight)
    ids = _ids(d)
    out = ["stateDiagram-v2", f"    %% {mermaid_escape(d.title)} — généré depuis segur_workflow.states"]
    if hl is not None:
        out.append(f"    %% dossier {mermaid_escape(hl.numero)} : état courant {hl.current}")
    for group, names in _groups(d).items():
        pad = "    "
        if group is not None:
            out.append(f'    state "{mermaid_escape(group_title(group))}" as {_group_id(group, ids[names[0]])} {{')
            pad = "        "
        for n in names:
            out.append(f'{pad}state "{mermaid_escape(d.state(n).label)}" as {ids[n]}')
        for n in names:
            if d.state(n).final:
                out.append(f"{pad}{ids[n]} --> [*]")
        if group is not None:
            out.append("    }")
    for src, t, dst in d.edges():
        label = "<br/>".join(mermaid_escape(line) for line in edge_lines(t))
        if hl is not None and (steps := hl.numbers(src, t.trigger, dst)):
            label = mermaid_escape("✔ étape " + ", ".join(map(str, steps))) + "<br/>" + label
        left = "[*]" if src == INITIAL else ids[src]
        out.append(f"    {left} --> {ids[dst]} : {label}")
    out.append("    classDef final fill:{},stroke:{},stroke-width:3px".format(*COULEURS["final"]))
    finals = [ids[s.name] for s in d.states if s.final]
    out.append(f"    class {','.join(finals)} final")
    if hl is not None:
        out.append("    classDef parcouru fill:{},stroke:{}".format(*COULEURS["parcouru"]))
        out.append("    classDef courant fill:{},stroke:{},stroke-width:4px".format(*COULEURS["courant"]))
        visited = sorted(ids[n] for n in hl.visited() - {INITIAL, hl.current})
        if visited:
            out.append(f"    class {','.join(visited)} parcouru")
        out.append(f"    class {ids[hl.current]} courant")
    return "\n".join(out) + "\n"


# -- Graphviz DOT ---------------------------------------------------------------------------------
def dot_quote(text: str) -> str:
    """A DOT double-quoted string (IDs, tooltips): backslashes and quotes escaped, newlines as ``\\n``."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{body}"'


def html_escape(text: str) -> str:
    """Text inside a Graphviz HTML-like label (and XML in general)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;").replace("\n", " "))


def to_dot(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A Graphviz ``digraph``: phases as clusters, finals with a double border."""
    d = definition(machine)
    hl = _highlight(d, highlight)
    ids = _ids(d)
    title = d.title + (f" — dossier {hl.numero}" if hl else "")
    out = [
        f"digraph {dot_quote(d.name)} {{",
        f"  graph [label=<<b>{html_escape(title)}</b>>, labelloc=t, fontname=\"Helvetica\", "
        "rankdir=TB, nodesep=0.6, ranksep=0.7, charset=\"UTF-8\"];",
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f'  {dot_quote(ids[INITIAL])} [shape=circle, width=0.25, label="", fillcolor="black", '
        f"tooltip={dot_quote(_INITIAL_LABEL)}];",
    ]
    visited = hl.visited() if hl else frozenset()

    def node(name: str) -> str:
        s = d.state(name)
        attrs_ = [f"label=<{html_escape(s.label)}<br/><font point-size=\"9\">{html_escape(s.name)}</font>"
                  + ("<br/><i>état final</i>" if s.final else "") + ">",
                  f"tooltip={dot_quote(s.description or s.label)}"]
        if s.final:
            attrs_.append("peripheries=2")
            attrs_.append(f'fillcolor="{COULEURS["final"][0]}"')
        if hl is not None and name == hl.current:
            attrs_ += [f'fillcolor="{COULEURS["courant"][0]}"', f'color="{COULEURS["courant"][1]}"', "penwidth=3"]
        elif name in visited:
            attrs_ += [f'fillcolor="{COULEURS["parcouru"][0]}"', f'color="{COULEURS["parcouru"][1]}"']
        return f"{dot_quote(ids[name])} [{', '.join(attrs_)}];"

    for i, (group, names) in enumerate(_groups(d).items()):
        if group is None:
            out += [f"  {node(n)}" for n in names]
            continue
        out.append(f"  subgraph {dot_quote(f'cluster_{i}')} {{")
        out.append(f"    label=<<b>{html_escape(group_title(group))}</b>>; style=\"rounded,dashed\"; "
                   'color="#607d8b";')
        out += [f"    {node(n)}" for n in names]
        out.append("  }")
    for src, t, dst in d.edges():
        lines = [f"<b>{html_escape(edge_lines(t)[0])}</b>"] + [html_escape(x) for x in edge_lines(t)[1:]]
        attrs_ = []
        if hl is not None and (steps := hl.numbers(src, t.trigger, dst)):
            lines.insert(0, f"<b>✔ étape {html_escape(', '.join(map(str, steps)))}</b>")
            attrs_ += [f'color="{COULEURS["prise"][0]}"', f'fontcolor="{COULEURS["prise"][1]}"', "penwidth=3"]
        attrs_.insert(0, "label=<" + "<br/>".join(lines) + ">")
        attrs_.append(f"tooltip={dot_quote(edge_tooltip(t))}")
        attrs_.append(f"id={dot_quote(f'{t.trigger}__{ids[src]}')}")  # the SVG element's id: the identifiers
        out.append(f"  {dot_quote(ids[src])} -> {dot_quote(ids[dst])} [{', '.join(attrs_)}];")
    if hl is not None:
        out += _dot_legend()
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_legend() -> list[str]:
    """The colours of a highlighted path, as a box in the corner of the graph."""
    def swatch(key: str, arrow: bool = False) -> str:
        fill, border, meaning = COULEURS[key]
        cell = (f'<td><font color="{fill}"><b>⟶</b></font></td>' if arrow
                else f'<td bgcolor="{fill}" color="{border}" width="28"> </td>')
        return f'<tr>{cell}<td align="left">{html_escape(meaning)}</td></tr>'

    rows = "".join((swatch("courant"), swatch("parcouru"), swatch("prise", arrow=True), swatch("final")))
    return [
        '  subgraph "cluster_legende" {',
        '    label=<<b>Légende</b>>; style="rounded"; color="#9e9e9e"; fontname="Helvetica";',
        '    "legende" [shape=plaintext, style="", fontsize=10, tooltip="Légende des couleurs", '
        f'label=<<table border="0" cellborder="1" cellspacing="2" cellpadding="3">{rows}</table>>];',
        "  }",
    ]


# -- SCXML ------------------------------------------------------------------------------------------
def to_scxml(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A W3C SCXML document: phases as compound states, ``<final>`` for finals, at the top level.

    The pseudo-state before creation is a real state (``__initial__``) because the creating trigger is
    an event. Final states are children of ``<scxml>`` (their phase in ``sw:phase``), so reaching one
    terminates the interpreter's session. Internal triggers are self-transitions marked ``sw:interne``.
    Labels, roles and rules are ``sw:`` attributes (namespace :data:`SW_NS`); guards are not ``cond``
    expressions, since they are rules of this library, not data-model code.
    """
    d = definition(machine)
    hl = _highlight(d, highlight)
    q = f"{{{SCXML_NS}}}"
    sw = f"{{{SW_NS}}}"
    ET.register_namespace("", SCXML_NS)
    ET.register_namespace("sw", SW_NS)
    root = ET.Element(q + "scxml", {"version": "1.0", "name": d.name, "initial": INITIAL, sw + "titre": d.title})
    if hl is not None:
        root.set(sw + "dossier", hl.numero)
    by_source: dict[str, list[tuple[TransitionSpec, str]]] = {}
    for src, t, dst in d.edges():
        by_source.setdefault(src, []).append((t, dst))

    def add_state(parent: ET.Element, name: str) -> None:
        final = name != INITIAL and d.state(name).final
        el = ET.SubElement(parent, q + ("final" if final else "state"), {"id": name})
        el.set(sw + "libelle", _state_label(d, name))
        if hl is not None and name == hl.current:
            el.set(sw + "courant", "true")
        elif hl is not None and name in hl.visited():
            el.set(sw + "parcouru", "true")
        for t, dst in by_source.get(name, []):
            # An internal trigger (the status stays) is a self-transition: interpreters refuse a targetless
            # type="internal" (python-statemachine 3) or treat it apart; sw:interne says it changes no status.
            tr = ET.SubElement(el, q + "transition", {"event": t.trigger, "target": dst})
            tr.set(sw + "libelle", edge_title(t))
            if t.internal:
                tr.set(sw + "interne", "true")
            tr.set(sw + "roles", " ".join(r.value for r in Role if r in t.roles))
            if t.owner_only:
                tr.set(sw + "proprietaire", "true")
            if t.guards:
                tr.set(sw + "regles", " ".join(t.guards))
            if t.email:
                tr.set(sw + "courriel", t.email)
            if t.description:
                tr.set(sw + "description", t.description)
            if hl is not None and (steps := hl.numbers(name, t.trigger, dst)):
                tr.set(sw + "etapes", " ".join(map(str, steps)))

    add_state(root, INITIAL)
    finals: list[tuple[str, str | None]] = []
    for group, names in _groups(d).items():
        inner = [n for n in names if not d.state(n).final]
        finals += [(n, group) for n in names if d.state(n).final]
        if group is None or not inner:
            for n in inner:
                add_state(root, n)
            continue
        compound = ET.SubElement(root, q + "state", {"id": _group_id(group, inner[0]), "initial": inner[0]})
        compound.set(sw + "libelle", group_title(group))
        for n in inner:
            add_state(compound, n)
    # Finals are children of <scxml>: entering one ends the session (a dossier in a final status is a terminated
    # configuration); inside a phase they would only raise done.state.phase_*. sw:phase keeps their phase.
    for n, group in finals:
        add_state(root, n)
        if group is not None:
            root[-1].set(sw + "phase", group)
            root[-1].set(sw + "phase_libelle", group_title(group))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# -- PlantUML ---------------------------------------------------------------------------------------
_PLANTUML_RAW = frozenset(" ,.:;()'’!?%+_")


def plantuml_escape(text: str) -> str:
    """One line of PlantUML label text: letters, digits and plain punctuation kept, the rest as ``&#N;``.

    PlantUML reads « » as stereotype marks, ``"`` ends a name, ``\\n`` breaks a line, ``~`` escapes and
    Creole marks (``**``, ``//``, ``--``) format: all of them become numeric entities, which it renders.
    """
    flat = " ".join(text.split())
    return "".join(
        c if c.isalnum() or c in _PLANTUML_RAW
        else "<U+005C>" if c == "\\"  # PlantUML 1.2020 crashes on &#92; (a regex replacement)
        else f"&#{ord(c)};"
        for c in flat
    )


def to_plantuml(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A PlantUML state diagram (phases as composite states). Not checked by a PlantUML parser in the tests."""
    d = definition(machine)
    hl = _highlight(d, highlight)
    ids = _ids(d)
    out = ["@startuml", f"title {plantuml_escape(d.title)}", "hide empty description"]
    for group, names in _groups(d).items():
        pad = ""
        if group is not None:
            out.append(f'state "{plantuml_escape(group_title(group))}" as {_group_id(group, ids[names[0]])} {{')
            pad = "  "
        for n in names:
            tag = " #FFD54F" if hl is not None and n == hl.current else (
                " #C8E6C9" if hl is not None and n in hl.visited() else "")
            out.append(f'{pad}state "{plantuml_escape(d.state(n).label)}" as {ids[n]}{tag}')
            if d.state(n).final:
                out.append(f"{pad}{ids[n]} --> [*]")
        if group is not None:
            out.append("}")
    for src, t, dst in d.edges():
        lines = [plantuml_escape(x) for x in edge_lines(t)]
        arrow = "-->"
        if hl is not None and (steps := hl.numbers(src, t.trigger, dst)):
            lines.insert(0, "✔ étape " + ", ".join(map(str, steps)))
            arrow = "-[#2E7D32,bold]->"
        left = "[*]" if src == INITIAL else ids[src]
        out.append(f"{left} {arrow} {ids[dst]} : " + "\\n".join(lines))
    if hl is not None:
        out.append("legend right")
        out.append("Légende")
        out += [f"<back:{fill}>      </back> {plantuml_escape(meaning)}" for fill, _b, meaning in COULEURS.values()]
        out.append("endlegend")
    out.append("@enduml")
    return "\n".join(out) + "\n"


# -- rendering --------------------------------------------------------------------------------------
TEXT_RENDERERS: Mapping[str, Callable[..., str]] = {
    "mermaid": to_mermaid, "dot": to_dot, "scxml": to_scxml, "plantuml": to_plantuml,
}


def dot_command() -> str | None:
    """Path of Graphviz's ``dot``, if installed."""
    return shutil.which("dot")


def render_dot(dot_text: str, fmt: ImageFormat) -> bytes:
    """Render DOT text to SVG or PNG with Graphviz; :class:`GraphvizMissing` when ``dot`` is absent."""
    if fmt not in ("svg", "png"):
        raise DiagramError(f"Format d'image inconnu « {fmt} » : svg ou png.")
    exe = dot_command()
    if exe is None:
        raise GraphvizMissing
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        raise GraphvizFailed(proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


@attrs.frozen
class Diagramme:
    """A machine's diagram (a dossier's path highlighted, if given) as Jupyter and IPython display it.

    ``_repr_svg_`` / ``_repr_mimebundle_`` follow IPython's display protocol, so a notebook shows the SVG
    Graphviz draws, without Jupyter being a dependency; without Graphviz the bundle still carries the Mermaid
    text (``text/markdown`` as a mermaid block, which JupyterLab 4.1+ draws) and ``text/plain``.
    """

    machine: str | MachineDefinition = "dossier"
    highlight: Dossier | None = None

    def __attrs_post_init__(self) -> None:
        _highlight(definition(self.machine), self.highlight)  # refuse a wrong pairing now, not when shown

    def svg(self) -> str:
        """The SVG text (Graphviz); :class:`GraphvizMissing` when ``dot`` is absent."""
        return render_dot(to_dot(self.machine, self.highlight), "svg").decode("utf-8")

    def mermaid(self) -> str:
        return to_mermaid(self.machine, self.highlight)

    def _repr_svg_(self) -> str | None:
        try:
            return self.svg()
        except DiagramError:  # no Graphviz: IPython then falls back to the other representations
            return None

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        d = definition(self.machine)
        title = d.title + (f" — dossier {self.highlight.numero}" if self.highlight is not None else "")
        bundle = {"text/plain": f"<Diagramme {title}>",
                  "text/markdown": f"```mermaid\n{self.mermaid()}```\n"}
        svg = self._repr_svg_()
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle


def diagram(machine: str | MachineDefinition = "dossier", fmt: str = "mermaid",
            highlight: Dossier | None = None) -> str | bytes:
    """One diagram in ``fmt`` (a text format gives ``str``, svg/png give ``bytes``)."""
    if fmt in TEXT_RENDERERS:
        return TEXT_RENDERERS[fmt](machine, highlight)
    if fmt in ("svg", "png"):
        return render_dot(to_dot(machine, highlight), "svg" if fmt == "svg" else "png")
    raise DiagramError(f"Format inconnu « {fmt} » : choisissez parmi {', '.join(FORMATS)}.")

