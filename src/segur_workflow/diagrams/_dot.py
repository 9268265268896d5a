"""Graphviz DOT: phases as clusters, finals with a double border; the identifiers in tooltips and edge ids."""

from __future__ import annotations

from ..states import INITIAL
from ._graph import Graph, Node
from ._labels import COULEURS, INITIAL_LABEL

__all__ = ["dot_quote", "html_escape", "render_dot_text"]


def dot_quote(text: str) -> str:
    """A DOT double-quoted string (IDs, tooltips): backslashes and quotes escaped, newlines as ``\\n``."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{body}"'


def html_escape(text: str) -> str:
    """Text inside a Graphviz HTML-like label (and XML in general)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;").replace("\n", " "))


def _node(n: Node) -> str:
    attrs_ = [f"label=<{html_escape(n.label)}<br/><font point-size=\"9\">{html_escape(n.name)}</font>"
              + ("<br/><i>état final</i>" if n.final else "") + ">",
              f"tooltip={dot_quote(n.description or n.label)}"]
    if n.final:
        attrs_.append("peripheries=2")
        attrs_.append(f'fillcolor="{COULEURS["final"][0]}"')
    if n.current:
        attrs_ += [f'fillcolor="{COULEURS["courant"][0]}"', f'color="{COULEURS["courant"][1]}"', "penwidth=3"]
    elif n.visited:
        attrs_ += [f'fillcolor="{COULEURS["parcouru"][0]}"', f'color="{COULEURS["parcouru"][1]}"']
    return f"{dot_quote(n.id)} [{', '.join(attrs_)}];"


def render_dot_text(g: Graph) -> str:
    hl = g.highlight
    title = g.title + (f" — dossier {hl.numero}" if hl else "")
    out = [
        f"digraph {dot_quote(g.name)} {{",
        f"  graph [label=<<b>{html_escape(title)}</b>>, labelloc=t, fontname=\"Helvetica\", "
        "rankdir=TB, nodesep=0.6, ranksep=0.7, charset=\"UTF-8\"];",
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        f'  {dot_quote(g.ids[INITIAL])} [shape=circle, width=0.25, label="", fillcolor="black", '
        f"tooltip={dot_quote(INITIAL_LABEL)}];",
    ]
    for i, group in enumerate(g.groups):
        if group.title is None:
            out += [f"  {_node(n)}" for n in group.nodes]
            continue
        out.append(f"  subgraph {dot_quote(f'cluster_{i}')} {{")
        out.append(f"    label=<<b>{html_escape(group.title)}</b>>; style=\"rounded,dashed\"; "
                   'color="#607d8b";')
        out += [f"    {_node(n)}" for n in group.nodes]
        out.append("  }")
    for e in g.edges:
        lines = [f"<b>{html_escape(e.lines[0])}</b>"] + [html_escape(x) for x in e.lines[1:]]
        attrs_ = []
        if e.steps:
            lines.insert(0, f"<b>✔ étape {html_escape(', '.join(map(str, e.steps)))}</b>")
            attrs_ += [f'color="{COULEURS["prise"][0]}"', f'fontcolor="{COULEURS["prise"][1]}"', "penwidth=3"]
        attrs_.insert(0, "label=<" + "<br/>".join(lines) + ">")
        attrs_.append(f"tooltip={dot_quote(e.tooltip)}")
        attrs_.append(f"id={dot_quote(f'{e.trigger}__{e.source_id}')}")  # the SVG element's id: the identifiers
        out.append(f"  {dot_quote(e.source_id)} -> {dot_quote(e.dest_id)} [{', '.join(attrs_)}];")
    if hl is not None:
        out += _legend()
    out.append("}")
    return "\n".join(out) + "\n"


def _legend() -> list[str]:
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
