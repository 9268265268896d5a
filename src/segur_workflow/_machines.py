"""The library's machines, each its definition bound to its engine: what the catalogue and the QA coverage
list besides the guards (each binding's own rules)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .binding import Binding
from .compte import COMPTE_BINDING
from .engine import DOSSIER_BINDING

__all__ = ["BINDINGS"]

#: Every machine of the library by name (the names of :data:`~segur_workflow.states.DEFINITIONS`).
BINDINGS: Mapping[str, Binding[Any, Any]] = MappingProxyType(
    {b.definition.name: b for b in (DOSSIER_BINDING, COMPTE_BINDING)})
