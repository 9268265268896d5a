"""A place a lower module keeps for something an upper one provides: dependency inversion without an import.

The errors sit below the definitions (the definitions raise ``DefinitionError``) yet speak in their labels;
a definition or a dossier sits below the diagrams yet draws itself in a notebook. Each lower module declares
a :class:`Slot` with what it does without help; the upper layer fills it when it loads (``states`` gives the
errors their words, the package gives the display hooks their drawing). Nothing imports upwards, so the
import graph has no cycle, and the contract of pyproject.toml needs no exception.

A slot is filled at import time, before any caller can use it, and holds a pure function: what it answers
never depends on when it is asked.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Slot"]

T = TypeVar("T")


class Slot(Generic[T]):
    """One value, ``default`` until an upper layer calls :meth:`fill`."""

    __slots__ = ("_default", "_value", "name")

    def __init__(self, name: str, default: T) -> None:
        self.name = name
        self._default = default
        self._value = default

    def fill(self, value: T) -> None:
        """Provide the value (the upper layer does it once, when it is imported)."""
        self._value = value

    def get(self) -> T:
        return self._value

    @property
    def filled(self) -> bool:
        return self._value is not self._default

    def __repr__(self) -> str:
        return f"Slot({self.name!r}, {'filled' if self.filled else 'default'})"
