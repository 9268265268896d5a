"""PlantUML state diagram (phases as composite states). Not checked by a PlantUML parser in the tests."""

from __future__ import annotations

from ..states import INITIAL
from ._graph import Graph
from ._labels import COULEURS

__all__ = ["plantuml_escape", "render_plantuml"]

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


def render_plantuml(g: Graph) -> str:
    hl = g.highlight
    out = ["@startuml", f"title {plantuml_escape(g.title)}", "hide empty description"]
    for group in g.groups:
        pad = ""
        if group.title is not None:
            out.append(f'state "{plantuml_escape(group.title)}" as {group.id} {{')
            pad = "  "
        for n in group.nodes:
            tag = " #FFD54F" if n.current else " #C8E6C9" if n.visited else ""
            out.append(f'{pad}state "{plantuml_escape(n.label)}" as {n.id}{tag}')
            if n.final:
                out.append(f"{pad}{n.id} --> [*]")
        if group.title is not None:
            out.append("}")
    for e in g.edges:
        lines = [plantuml_escape(x) for x in e.lines]
        arrow = "-->"
        if e.steps:
            lines.insert(0, "✔ étape " + ", ".join(map(str, e.steps)))
            arrow = "-[#2E7D32,bold]->"
        left = "[*]" if e.source == INITIAL else e.source_id
        out.append(f"{left} {arrow} {e.dest_id} : " + "\\n".join(lines))
    if hl is not None:
        out.append("legend right")
        out.append("Légende")
        out += [f"<back:{fill}>      </back> {plantuml_escape(meaning)}" for fill, _b, meaning in COULEURS.values()]
        out.append("endlegend")
    out.append("@enduml")
    return "\n".join(out) + "\n"
