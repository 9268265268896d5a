"""W3C SCXML: phases as compound states, ``<final>`` children of ``<scxml>``; loads in python-statemachine
and SCION. Labels, roles and rules are ``sw:`` attributes (namespace :data:`SW_NS`)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from ..states import INITIAL
from ..vocabulary import Role
from ._graph import Edge, Graph, group_id
from ._labels import edge_title

__all__ = ["SCXML_NS", "SW_NS", "render_scxml"]

#: Namespace of our annotations in SCXML (labels, roles, rules); SCXML allows foreign attributes.
SCXML_NS = "http://www.w3.org/2005/07/scxml"
SW_NS = "urn:segur-workflow:diagramme"

_Q = f"{{{SCXML_NS}}}"
_SW = f"{{{SW_NS}}}"


def render_scxml(g: Graph) -> str:
    """The pseudo-state before creation is a real state (``__initial__``) because the creating trigger is
    an event. Final states are children of ``<scxml>`` (their phase in ``sw:phase``), so reaching one
    terminates the interpreter's session. Internal triggers are self-transitions marked ``sw:interne``.
    Guards are not ``cond`` expressions, since they are rules of this library, not data-model code.
    """
    hl = g.highlight
    ET.register_namespace("", SCXML_NS)
    ET.register_namespace("sw", SW_NS)
    root = ET.Element(_Q + "scxml", {"version": "1.0", "name": g.name, "initial": INITIAL, _SW + "titre": g.title})
    if hl is not None:
        root.set(_SW + "dossier", hl.numero)
    by_source: dict[str, list[Edge]] = {}
    for e in g.edges:
        by_source.setdefault(e.source, []).append(e)
    visited = hl.visited() if hl is not None else frozenset()

    def add_state(parent: ET.Element, name: str, final: bool) -> ET.Element:
        el = ET.SubElement(parent, _Q + ("final" if final else "state"), {"id": name})
        el.set(_SW + "libelle", g.label(name))
        if hl is not None and name == hl.current:
            el.set(_SW + "courant", "true")
        elif name in visited:
            el.set(_SW + "parcouru", "true")
        for e in by_source.get(name, []):
            _transition(el, e)
        return el

    add_state(root, INITIAL, final=False)
    finals: list[tuple[str, str | None, str | None]] = []
    for group in g.groups:
        inner = [n for n in group.nodes if not n.final]
        finals += [(n.name, group.key, group.title) for n in group.nodes if n.final]
        if group.key is None or not inner:
            for n in inner:
                add_state(root, n.name, final=False)
            continue
        # SCXML ids are the definition's names (not the other formats' safe ids), the phase's id too
        first = inner[0].name
        compound = ET.SubElement(root, _Q + "state", {"id": group_id(group.key, first), "initial": first})
        compound.set(_SW + "libelle", group.title or group.key)
        for n in inner:
            add_state(compound, n.name, final=False)
    # Finals are children of <scxml>: entering one ends the session (a dossier in a final status is a terminated
    # configuration); inside a phase they would only raise done.state.phase_*. sw:phase keeps their phase.
    for name, key, title in finals:
        el = add_state(root, name, final=True)
        if key is not None and title is not None:
            el.set(_SW + "phase", key)
            el.set(_SW + "phase_libelle", title)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _transition(parent: ET.Element, e: Edge) -> None:
    t = e.spec
    # An internal trigger (the status stays) is a self-transition: interpreters refuse a targetless
    # type="internal" (python-statemachine 3) or treat it apart; sw:interne says it changes no status.
    tr = ET.SubElement(parent, _Q + "transition", {"event": t.trigger, "target": e.dest})
    tr.set(_SW + "libelle", edge_title(t))
    if t.internal:
        tr.set(_SW + "interne", "true")
    tr.set(_SW + "roles", " ".join(r.value for r in Role if r in t.roles))
    if t.owner_only:
        tr.set(_SW + "proprietaire", "true")
    if t.guards:
        tr.set(_SW + "regles", " ".join(t.guards))
    if t.email:
        tr.set(_SW + "courriel", t.email)
    if t.description:
        tr.set(_SW + "description", t.description)
    if e.steps:
        tr.set(_SW + "etapes", " ".join(map(str, e.steps)))
