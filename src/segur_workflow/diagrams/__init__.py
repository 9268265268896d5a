"""Diagrams of the machines, derived from the one definition (:mod:`segur_workflow.states`).

Formats (:data:`RENDERERS`): Mermaid (``stateDiagram-v2``), Graphviz DOT, W3C SCXML and PlantUML, plus
SVG/PNG rendered by Graphviz when its ``dot`` command is installed. Every format shows the same facts,
read from one :class:`Graph` built once per diagram (:func:`graph`):

* states with their French label, grouped by phase (``StateSpec.group``: avance, solde, …);
* final states marked;
* each transition labelled in the process's words (``TransitionSpec.label``), with the role(s) that may
  fire it, its *gardes* (rules that look only at the dossier, so they decide whether the trigger is
  possible at all) and the *règles* that can refuse what the command carries, each by its French
  description, and the title of the e-mail it sends; the identifiers (trigger, rule and template names)
  are in DOT/SVG tooltips and edge ids, SCXML attributes and the docs' legends.

``highlight=dossier`` marks the dossier's current state and the path it took (from its history), with a
colour legend (:data:`COULEURS`). :class:`Diagramme` displays either in Jupyter (``_repr_svg_``), and so do a
definition and a dossier themselves: their display hooks draw with :data:`NOTEBOOK` (``_display``).

Text built here never trusts its input: labels go through one escaping function per format.
A new format is a module with ``render_x(graph)`` and one :class:`Renderer` entry in :data:`RENDERERS`.
"""

from __future__ import annotations

import attrs

from .._display import Drawing
from ..model import Dossier
from ..states import MachineDefinition
from ._dot import dot_quote, html_escape, render_dot_text
from ._errors import DiagramError, GraphvizFailed, GraphvizMissing
from ._graph import Edge, Graph, Group, Highlight, Node, Step, definition, graph, highlight_of, path_of, state_ids
from ._labels import (
    COULEURS,
    edge_lines,
    edge_title,
    edge_tooltip,
    email_title,
    gardes,
    group_title,
    regles,
    role_label,
    rule_description,
    rule_scope,
)
from ._mermaid import mermaid_escape, render_mermaid
from ._plantuml import plantuml_escape, render_plantuml
from ._renderers import (
    FORMATS,
    RENDERERS,
    ImageFormat,
    Renderer,
    dot_command,
    render_dot,
    renderer,
    renderer_for_suffix,
)
from ._scxml import SCXML_NS, SW_NS, render_scxml

__all__ = [
    "COULEURS",
    "FORMATS",
    "NOTEBOOK",
    "RENDERERS",
    "SCXML_NS",
    "SW_NS",
    "DiagramError",
    "Diagramme",
    "Edge",
    "Graph",
    "GraphvizFailed",
    "GraphvizMissing",
    "Group",
    "Highlight",
    "ImageFormat",
    "Node",
    "Renderer",
    "Step",
    "definition",
    "diagram",
    "dot_command",
    "dot_quote",
    "edge_lines",
    "edge_title",
    "edge_tooltip",
    "email_title",
    "gardes",
    "graph",
    "group_title",
    "html_escape",
    "mermaid_escape",
    "path_of",
    "plantuml_escape",
    "regles",
    "render_dot",
    "renderer",
    "renderer_for_suffix",
    "role_label",
    "rule_description",
    "rule_scope",
    "state_ids",
    "to_dot",
    "to_mermaid",
    "to_plantuml",
    "to_scxml",
]


def to_mermaid(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A Mermaid ``stateDiagram-v2``: phases as composite states, finals to ``[*]``."""
    return render_mermaid(graph(machine, highlight))


def to_dot(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A Graphviz ``digraph``: phases as clusters, finals with a double border."""
    return render_dot_text(graph(machine, highlight))


def to_scxml(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A W3C SCXML document: phases as compound states, ``<final>`` for finals, at the top level
    (see :func:`segur_workflow.diagrams._scxml.render_scxml`)."""
    return render_scxml(graph(machine, highlight))


def to_plantuml(machine: str | MachineDefinition = "dossier", highlight: Dossier | None = None) -> str:
    """A PlantUML state diagram (phases as composite states). Not checked by a PlantUML parser in the tests."""
    return render_plantuml(graph(machine, highlight))


def diagram(machine: str | MachineDefinition = "dossier", fmt: str = "mermaid",
            highlight: Dossier | None = None) -> str | bytes:
    """One diagram in ``fmt``, a name of :data:`RENDERERS` (a text format gives ``str``, svg/png ``bytes``)."""
    r = renderer(fmt)
    return r.render(graph(machine, highlight))


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
        highlight_of(definition(self.machine), self.highlight)  # refuse a wrong pairing now, not when shown

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


def _diagramme(subject: object) -> Diagramme:
    if isinstance(subject, Dossier):
        return Diagramme(highlight=subject)
    if isinstance(subject, MachineDefinition):
        return Diagramme(subject)
    raise DiagramError(f"Rien à dessiner pour un objet {type(subject).__name__} : une définition ou un dossier.")


class _Notebook:
    """What a definition's or a dossier's notebook display shows: its :class:`Diagramme`."""

    def svg(self, subject: object) -> str | None:
        return _diagramme(subject)._repr_svg_()

    def bundle(self, subject: object, include: object, exclude: object) -> dict[str, str]:
        return _diagramme(subject)._repr_mimebundle_(include, exclude)


#: The drawing behind ``MachineDefinition._repr_svg_`` and ``Dossier._repr_mimebundle_`` (the package gives
#: it to ``_display.DRAWING``).
NOTEBOOK: Drawing = _Notebook()
