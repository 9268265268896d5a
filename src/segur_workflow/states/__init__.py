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

from ._compte import COMPTE, CompteStatus
from ._dossier import DOSSIER, Status
from ._spec import INITIAL, MachineDefinition, StateSpec, TransitionSpec

__all__ = [
    "COMPTE", "DEFINITIONS", "DOSSIER", "INITIAL", "CompteStatus", "MachineDefinition", "StateSpec", "Status",
    "TransitionSpec",
]

#: Every machine of the package, by name.
DEFINITIONS: Mapping[str, MachineDefinition] = MappingProxyType({d.name: d for d in (DOSSIER, COMPTE)})

