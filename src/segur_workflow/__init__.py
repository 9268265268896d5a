"""segur_workflow — the lifecycle of a Ségur numérique SAS funding dossier, as a pure domain library.

Typical use::

    import segur_workflow as sw
    outcome = sw.start(sw.DeposerAvance(...), numero="FINSAS000001", now=now)
    outcome = sw.handle(outcome.dossier, sw.ControlerBloc(gestionnaire, sw.Bloc.INFORMATIONS, sw.Controle.OK), now=now)

See the README and docs/ for the full guide.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._display import DRAWING
from ._email import Email
from .commands import (
    Command,
    Completer,
    ControlerBloc,
    Decider,
    DemanderModification,
    DemanderPiece,
    DeposerAvance,
    DeposerSolde,
    Reaffecter,
    Rejeter,
)
from .engine import (
    BlocControle,
    DossierDepose,
    DossierReaffecte,
    Event,
    Outcome,
    PaiementDeclenche,
    StatutChange,
    allowed_commands,
    explain,
    handle,
    start,
)
from .errors import (
    AntivirusIndisponible,
    CommandIdReused,
    ConcurrencyConflict,
    DefinitionError,
    DossierAltere,
    DossierNotFound,
    DuplicateFinancingRequest,
    InvalidInput,
    PermissionDenied,
    RuleViolations,
    SerializationError,
    StorageError,
    StorageUnavailable,
    TransitionNotAllowed,
    Violation,
    WorkflowError,
)
from .history import verify_history
from .model import (
    SAS,
    Actor,
    Attachment,
    CoordonneesBancaires,
    Corridor,
    Demande,
    Dossier,
    EmailRecord,
    Fournisseur,
    HistoryEntry,
    Paiement,
)
from .ports import DossierSummary
from .recap import Recapitulatif, recapitulatif
from .states import COMPTE, DOSSIER, CompteStatus, MachineDefinition, Status
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

#: Names loaded from their module when first used: the account engine is not needed to handle a dossier,
#: and importing it with the package was a tenth of ``import segur_workflow`` (docs/benchmarks.md).
_LAZY = dict.fromkeys((
    "ChangerMotDePasse", "CloturerCompte", "Compte", "CompteOutcome", "CreerCompte", "DefinirQuestionSecrete",
    "OublierIdentifiant", "OublierMotDePasse", "PremiereConnexion", "handle_compte",
), ".compte")

if TYPE_CHECKING:
    __version__: str
    from .compte import (
        ChangerMotDePasse,
        CloturerCompte,
        Compte,
        CompteOutcome,
        CreerCompte,
        DefinirQuestionSecrete,
        OublierIdentifiant,
        OublierMotDePasse,
        PremiereConnexion,
        handle_compte,
    )


def _version() -> str:
    """The installed distribution's version (pyproject.toml is its one source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("segur-workflow")
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


class _NotebookDrawing:
    """The diagrams' drawing for the display hooks of definitions and dossiers (``_display``), loaded the first
    time a notebook shows one: ``import segur_workflow`` does not pay for the diagrams (docs/architecture.md)."""

    def svg(self, subject: object) -> str | None:
        from .diagrams import NOTEBOOK

        return NOTEBOOK.svg(subject)

    def bundle(self, subject: object, include: object, exclude: object) -> dict[str, str]:
        from .diagrams import NOTEBOOK

        return NOTEBOOK.bundle(subject, include, exclude)


DRAWING.fill(_NotebookDrawing())


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read when asked: importlib.metadata is not free at import time
        globals()[name] = value = _version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # loaded once: later lookups find it like any other name
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "__version__"})

__all__ = [
    "COMPTE",
    "DOSSIER",
    "SAS",
    "Actor",
    "AntivirusIndisponible",
    "Attachment",
    "Bloc",
    "BlocControle",
    "ChangerMotDePasse",
    "CloturerCompte",
    "Command",
    "CommandIdReused",
    "Completer",
    "Compte",
    "CompteOutcome",
    "CompteStatus",
    "ConcurrencyConflict",
    "Controle",
    "ControlerBloc",
    "CoordonneesBancaires",
    "Corridor",
    "CreerCompte",
    "Decider",
    "DefinirQuestionSecrete",
    "DefinitionError",
    "Demande",
    "DemanderModification",
    "DemanderPiece",
    "DeposerAvance",
    "DeposerSolde",
    "Dossier",
    "DossierAltere",
    "DossierDepose",
    "DossierNotFound",
    "DossierReaffecte",
    "DossierSummary",
    "DuplicateFinancingRequest",
    "Email",
    "EmailRecord",
    "Event",
    "Fournisseur",
    "HistoryEntry",
    "InvalidInput",
    "MachineDefinition",
    "OublierIdentifiant",
    "OublierMotDePasse",
    "Outcome",
    "Paiement",
    "PaiementDeclenche",
    "PermissionDenied",
    "Phase",
    "PieceKind",
    "PremiereConnexion",
    "Reaffecter",
    "Recapitulatif",
    "Rejeter",
    "Role",
    "RuleViolations",
    "SerializationError",
    "Status",
    "StatutChange",
    "StorageError",
    "StorageUnavailable",
    "TransitionNotAllowed",
    "Violation",
    "WorkflowError",
    "allowed_commands",
    "explain",
    "handle",
    "handle_compte",
    "recapitulatif",
    "start",
    "verify_history",
]
