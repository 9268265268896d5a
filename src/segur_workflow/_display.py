"""How a definition or a dossier shows itself in a notebook (IPython's display protocol, without IPython).

``MachineDefinition`` and ``Dossier`` have ``_repr_svg_`` and ``_repr_mimebundle_``, and the drawing is the
diagrams' (an edge layer, far above them). They ask :data:`DRAWING`, which the package fills when it is
imported (``segur_workflow/__init__``: the diagrams load the first time a notebook shows something, so
``import segur_workflow`` does not pay for them). Until it is filled, the bundle is the object's text only.
"""

from __future__ import annotations

from typing import Protocol

from ._slot import Slot

__all__ = ["DRAWING", "Drawing"]


class Drawing(Protocol):
    """Draws a machine definition, or a dossier on its machine's diagram with its path highlighted."""

    def svg(self, subject: object) -> str | None:
        """The SVG text, or ``None`` when it cannot be drawn (no Graphviz)."""
        ...

    def bundle(self, subject: object, include: object, exclude: object) -> dict[str, str]:
        """IPython's MIME bundle (``text/plain`` at least)."""
        ...


class _Undrawn:
    def svg(self, subject: object) -> str | None:
        return None

    def bundle(self, subject: object, include: object, exclude: object) -> dict[str, str]:
        return {"text/plain": repr(subject)}


DRAWING: Slot[Drawing] = Slot("display.drawing", _Undrawn())
