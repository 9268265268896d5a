"""Why a diagram cannot be produced: the errors live in errors.py with every other error."""

from __future__ import annotations

from ..errors import DiagramError, GraphvizFailed, GraphvizMissing

__all__ = ["DiagramError", "GraphvizFailed", "GraphvizMissing"]
