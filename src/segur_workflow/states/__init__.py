"""The machine definitions, declared once.

Everything else — the engine, permissions, ``allowed_commands``, diagrams, catalogues and the QA
strategies — reads these definitions; no other module lists transitions.

Each definition builds one ``transitions.Machine`` (without models) when it is created. The engine
uses that machine's event table to resolve ``(status, trigger)``; dossiers never carry a machine.

The package: what a definition is made of (``_spec``), the dossier's (``_dossier``) and the account's
(``_compte``). Import from the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._wording import WORDING
from ._compte import COMPTE, CompteStatus
from ._dossier import DOSSIER, Status
from ._spec import INITIAL, MachineDefinition, StateSpec, TransitionSpec

__all__ = [
    "COMPTE", "DEFINITIONS", "DOSSIER", "INITIAL", "CompteStatus", "MachineDefinition", "StateSpec", "Status",
    "TransitionSpec",
]

#: Every machine of the package, by name.
DEFINITIONS: Mapping[str, MachineDefinition] = MappingProxyType({d.name: d for d in (DOSSIER, COMPTE)})



class _Words:
    """The errors' words for the package's machines: a status by its label (and its request, for a dossier),
    a trigger by its label (``errors`` sits below the definitions: it is given them, see ``_wording``)."""

    def status(self, status: str) -> str | None:
        for definition in DEFINITIONS.values():
            if status in definition.state_names:
                label = definition.state(status).label
                if status in Status.__members__.values():
                    return f"« {label} » ({Status(status).phase.label})"
                return f"« {label} »"
        return None

    def trigger(self, trigger: str) -> str | None:
        for definition in DEFINITIONS.values():
            spec = next((t for t in definition.transitions if t.trigger == trigger), None)
            if spec is not None:
                return spec.libelle
        return None


WORDING.fill(_Words())
