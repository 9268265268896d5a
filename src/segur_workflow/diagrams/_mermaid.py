"""Mermaid ``stateDiagram-v2``: phases as composite states, finals to ``[*]``; parses on Mermaid 10.9 and later."""

from __future__ import annotations

from ..states import INITIAL
from ._graph import Graph
from ._labels import COULEURS

__all__ = ["mermaid_escape", "render_mermaid"]

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


def render_mermaid(g: Graph) -> str:
    hl = g.highlight
    out = ["stateDiagram-v2", f"    %% {mermaid_escape(g.title)} — généré depuis segur_workflow.states"]
    if hl is not None:
        out.append(f"    %% dossier {mermaid_escape(hl.numero)} : état courant {hl.current}")
    for group in g.groups:
        pad = "    "
        if group.title is not None:
            out.append(f'    state "{mermaid_escape(group.title)}" as {group.id} {{')
            pad = "        "
        for n in group.nodes:
            out.append(f'{pad}state "{mermaid_escape(n.label)}" as {n.id}')
        for n in group.nodes:
            if n.final:
                out.append(f"{pad}{n.id} --> [*]")
        if group.title is not None:
            out.append("    }")
    for e in g.edges:
        label = "<br/>".join(mermaid_escape(line) for line in e.lines)
        if e.steps:
            label = mermaid_escape("✔ étape " + ", ".join(map(str, e.steps))) + "<br/>" + label
        left = "[*]" if e.source == INITIAL else e.source_id
        out.append(f"    {left} --> {e.dest_id} : {label}")
    out.append("    classDef final fill:{},stroke:{},stroke-width:3px".format(*COULEURS["final"]))
    out.append(f"    class {','.join(n.id for n in g.nodes if n.final)} final")
    if hl is not None:
        out.append("    classDef parcouru fill:{},stroke:{}".format(*COULEURS["parcouru"]))
        out.append("    classDef courant fill:{},stroke:{},stroke-width:4px".format(*COULEURS["courant"]))
        visited = sorted(n.id for n in g.nodes if n.visited)
        if visited:
            out.append(f"    class {','.join(visited)} parcouru")
        out.append(f"    class {g.ids[hl.current]} courant")
    return "\n".join(out) + "\n"
