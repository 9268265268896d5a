"""The QA kit of segur_workflow: strategies, a stateful machine, model-based paths, the adapter contract.

``import segur_workflow.testing`` works with the core alone; :mod:`.paths`, :mod:`.invariants` and
:mod:`.coverage` need nothing more. The hypothesis parts (:mod:`.strategies`, :mod:`.machine`) need the
``testing`` extra (from a checkout: ``pip install './segur_workflow[testing]'``; from a wheel:
``pip install 'dist/segur_workflow-0.1.0-py3-none-any.whl[testing]'``); without it
``segur_workflow.testing.dossiers`` or ``from segur_workflow.testing import DossierMachine`` raise a
clear ``ImportError``. When hypothesis is installed, importing this package registers the strategies of
the public types, so ``st.from_type(sw.Dossier)`` and the like give valid values. The pytest fixtures and
``--segur-coverage`` live in :mod:`.plugin` (loaded by pytest).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .invariants import (
    check_allowed_commands,
    check_automatic_controls,
    check_dossier,
    check_emails,
    check_history,
    check_payments,
)
from .paths import (
    Driver,
    Path,
    Step,
    all_edges,
    covered_edges,
    edge_cover,
    parametrize,
    parametrize_states,
    shipped_driver,
    shortest_paths,
    simple_paths,
)

if TYPE_CHECKING:
    from .contract import RepositoryContract
    from .machine import DossierMachine
    from .stateful import SubjectMachine, machine_for
    from .strategies import (
        actors,
        attachments,
        bics,
        commands,
        contacts,
        coordonnees_bancaires,
        dossiers,
        fournisseurs,
        hostile_attachments,
        hostile_filenames,
        hostile_texts,
        ibans,
        instants,
        invalid_bics,
        invalid_ibans,
        invalid_sirets,
        numeros,
        pieces,
        sirets,
        texts,
    )

_STRATEGIES = (
    "actors", "attachments", "bics", "commands", "contacts", "coordonnees_bancaires", "dossiers", "fournisseurs",
    "hostile_attachments", "hostile_filenames", "hostile_texts", "ibans", "instants", "invalid_bics",
    "invalid_ibans", "invalid_sirets", "numeros", "pieces", "sirets", "texts",
)
_LAZY = {"DossierMachine": "machine", "RepositoryContract": "contract", "SubjectMachine": "stateful",
         "machine_for": "stateful", **dict.fromkeys(_STRATEGIES, "strategies")}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:
        raise ImportError(
            f"segur_workflow.testing.{name} a besoin de l'extra testing (hypothesis, pytest) : "
            "pip install 'segur-workflow[testing]' (depuis une copie du dépôt : "
            "pip install './segur_workflow[testing]' ; depuis une wheel : pip install 'segur_workflow-….whl[testing]')"
        ) from exc
    return getattr(loaded, name)


__all__ = [
    "DossierMachine",
    "Driver",
    "Path",
    "RepositoryContract",
    "Step",
    "SubjectMachine",
    "actors",
    "all_edges",
    "attachments",
    "bics",
    "check_allowed_commands",
    "check_automatic_controls",
    "check_dossier",
    "check_emails",
    "check_history",
    "check_payments",
    "commands",
    "contacts",
    "coordonnees_bancaires",
    "covered_edges",
    "dossiers",
    "edge_cover",
    "fournisseurs",
    "hostile_attachments",
    "hostile_filenames",
    "hostile_texts",
    "ibans",
    "instants",
    "invalid_bics",
    "invalid_ibans",
    "invalid_sirets",
    "machine_for",
    "numeros",
    "parametrize",
    "parametrize_states",
    "pieces",
    "shipped_driver",
    "shortest_paths",
    "simple_paths",
    "sirets",
    "texts",
]


def _register_type_strategies() -> None:
    try:
        importlib.import_module("hypothesis")
    except ImportError:  # the core alone: nothing to register
        return
    from .strategies import register_type_strategies

    register_type_strategies()


_register_type_strategies()
