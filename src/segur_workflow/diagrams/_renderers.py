"""The registry of diagram formats: each :class:`Renderer` says its name, file suffixes, whether it gives
bytes, and draws a :class:`~segur_workflow.diagrams.Graph`. The CLI, docgen and the tests iterate it; adding
a format is one entry here (and its module)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal, TypeAlias

import attrs

from ._dot import render_dot_text
from ._errors import DiagramError, GraphvizFailed, GraphvizMissing
from ._graph import Graph
from ._mermaid import render_mermaid
from ._plantuml import render_plantuml
from ._scxml import render_scxml

__all__ = ["FORMATS", "RENDERERS", "ImageFormat", "Renderer", "dot_command", "render_dot", "renderer",
           "renderer_for_suffix"]

ImageFormat: TypeAlias = Literal["svg", "png"]


def dot_command() -> str | None:
    """Path of Graphviz's ``dot``, if installed."""
    return shutil.which("dot")


def render_dot(dot_text: str, fmt: ImageFormat) -> bytes:
    """Render DOT text to SVG or PNG with Graphviz; :class:`GraphvizMissing` when ``dot`` is absent."""
    images = [name for name, r in RENDERERS.items() if r.graphviz]
    if fmt not in images:
        raise DiagramError(f"Format d'image inconnu « {fmt} » : {' ou '.join(images)}.")
    exe = dot_command()
    if exe is None:
        raise GraphvizMissing(tuple(name for name, r in RENDERERS.items() if not r.graphviz))
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if proc.returncode != 0:
        raise GraphvizFailed(proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


@attrs.frozen
class Renderer:
    """One diagram format: ``render(graph)`` gives ``str`` (a text format) or ``bytes`` (``binary``)."""

    name: str
    #: the format's usual name, for people (« Mermaid », « DOT »…)
    title: str
    #: file suffixes without the dot, the first one is the suffix of the files written (docgen, ``-o``)
    suffixes: tuple[str, ...]
    render: Callable[[Graph], str | bytes] = attrs.field(repr=False)
    binary: bool = False
    #: needs Graphviz's ``dot`` command
    graphviz: bool = False

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


def _image(fmt: ImageFormat) -> Callable[[Graph], bytes]:
    return lambda g: render_dot(render_dot_text(g), fmt)


#: Every format, by name, in the order they are offered.
RENDERERS: Mapping[str, Renderer] = MappingProxyType({r.name: r for r in (
    Renderer("mermaid", "Mermaid", ("mmd", "mermaid", "md"), render_mermaid),
    Renderer("dot", "DOT", ("dot", "gv"), render_dot_text),
    Renderer("scxml", "SCXML", ("scxml", "xml"), render_scxml),
    Renderer("plantuml", "PlantUML", ("puml", "plantuml", "pu"), render_plantuml),
    Renderer("svg", "SVG", ("svg",), _image("svg"), binary=True, graphviz=True),
    Renderer("png", "PNG", ("png",), _image("png"), binary=True, graphviz=True),
)})
#: The names of :data:`RENDERERS`.
FORMATS: tuple[str, ...] = tuple(RENDERERS)


def renderer(fmt: str) -> Renderer:
    """The renderer named ``fmt``; :class:`DiagramError` naming the known formats otherwise."""
    found = RENDERERS.get(fmt) if isinstance(fmt, str) else None
    if found is None:
        raise DiagramError(f"Format inconnu « {fmt} » : choisissez parmi {', '.join(FORMATS)}.")
    return found


def renderer_for_suffix(suffix: str) -> Renderer | None:
    """The renderer whose files end in ``suffix`` (``"mmd"``, ``".svg"``; case ignored), if any."""
    wanted = suffix.lower().removeprefix(".")
    return next((r for r in RENDERERS.values() if wanted in r.suffixes), None)
