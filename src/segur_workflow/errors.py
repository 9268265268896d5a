"""Every error the library raises on purpose, in one module. Each is a ``WorkflowError`` carrying data.

An error is an attrs class (``@attrs.define(eq=False, slots=False, auto_exc=False)``: mutable and compared
by identity, as exceptions are; ``args`` is ``(message,)``). Its fields are its data; from them come its
French message (its ``template``, or ``describe()``, in people's words: the portal's labels of statuses,
roles and transitions, never their identifiers), ``to_dict()`` (every field, JSON-ready, with ``code`` and
``message``) and its pickle round trip (multiprocessing, Celery, process pools). ``code`` is a stable
dotted identifier; codes and names never change once published. New errors are appended. A plain
``WorkflowError(message)`` (or a subclass without fields, such as ``CliError``) carries its message only.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from ._wording import role_words, status_words, trigger_words

__all__ = [
    "AntivirusIndisponible", "CliError", "CommandIdReused", "ConcurrencyConflict", "DefinitionError",
    "DeliveryFailed", "DiagramError", "DossierAltere", "DossierNotFound", "DuplicateFinancingRequest",
    "ExportUnavailable", "GraphvizFailed", "GraphvizMissing", "InvalidInput", "NumerosEpuises", "PermissionDenied",
    "RuleViolations", "SerializationError", "StorageError", "StorageUnavailable", "TransitionNotAllowed",
    "Violation", "WorkflowError",
]


@attrs.frozen
class Violation:
    """One broken rule: stable dotted ``code``, the ``field`` concerned, a French ``message``."""
    code: str
    field: str
    message: str


def _jsonable(value: object) -> object:
    """A field's value as JSON: enums by value, sets sorted, attrs values and mappings as objects."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    cls: Any = type(value)
    if attrs.has(cls):
        return {f.name: _jsonable(getattr(value, f.name)) for f in attrs.fields(cls)}
    return value


def _names(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _texts(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _violations(value: Iterable[Violation]) -> tuple[Violation, ...]:
    return tuple(value)


def _restore(cls: type[WorkflowError], state: Mapping[str, Any]) -> WorkflowError:
    """An error rebuilt from its fields (pickle), without re-running the constructor's conversions."""
    error = cls.__new__(cls)
    for name, value in state.items():
        object.__setattr__(error, name, value)
    Exception.__init__(error, error.message)
    return error


class WorkflowError(Exception):
    """Base of every error the library raises on purpose."""
    code: ClassVar[str] = "workflow"
    #: the French message, ``{field}`` placeholders filled from the fields (``describe`` when it needs more)
    template: ClassVar[str] = ""

    def __init__(self, message: str | None = None) -> None:
        self._text = self.template if message is None else message
        super().__init__(self._text)

    def describe(self) -> str:
        """The French message: :attr:`template` filled from the fields, or the message given."""
        return self.template.format(**self._state()) if attrs.has(type(self)) else self._text

    @property
    def message(self) -> str:
        return self.describe()

    def __attrs_post_init__(self) -> None:
        Exception.__init__(self, self.describe())

    def __str__(self) -> str:
        return self.message

    def _state(self) -> dict[str, Any]:
        cls: Any = type(self)
        if attrs.has(cls):
            return {f.name: getattr(self, f.name) for f in attrs.fields(cls)}
        return {"_text": self._text}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (every field, with ``code`` and ``message``), for hosts that return
        errors over an API."""
        fields = {k: _jsonable(v) for k, v in self._state().items() if not k.startswith("_")}
        return {"code": self.code, "message": self.message, **fields}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self._state()))


@attrs.define(eq=False, slots=False, auto_exc=False, init=False)
class InvalidInput(WorkflowError, TypeError):
    """An argument of the wrong type or shape (a programming error on the host's side). ``received_type``
    names what was received (never the value itself: it may be a secret, or something not picklable)."""
    code = "entree.invalide"
    parameter: str
    expected: str
    received_type: str

    def __init__(self, parameter: str, expected: str, received: object) -> None:
        self.__attrs_init__(parameter, expected, type(received).__name__)

    def describe(self) -> str:
        got = "aucune valeur reçue" if self.received_type == "NoneType" else f"{self.received_type} reçu"
        return f"Paramètre « {self.parameter} » invalide : {self.expected} attendu, {got}."


@attrs.define(eq=False, slots=False, auto_exc=False)
class TransitionNotAllowed(WorkflowError):
    """The command exists but cannot be fired from the dossier's current status."""
    code = "transition.interdite"
    status: str | None
    trigger: str
    allowed: frozenset[str] = attrs.field(converter=_names)

    def describe(self) -> str:
        return (f"La commande « {trigger_words(self.trigger)} » n'est pas possible {status_words(self.status)}. "
                "Commandes possibles : " + (", ".join(f"« {trigger_words(t)} »" for t in sorted(self.allowed))
                                             or "aucune") + ".")


@attrs.define(eq=False, slots=False, auto_exc=False)
class RuleViolations(WorkflowError):
    """One or more rules refused the command; all of them are reported at once."""
    code = "regles.non_respectees"
    violations: tuple[Violation, ...] = attrs.field(converter=_violations)
    trigger: str | None = None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.violations)

    def describe(self) -> str:
        lines = "; ".join(f"{v.field} : {v.message}" for v in self.violations)
        return f"Demande refusée ({len(self.violations)} anomalie(s)) : {lines}"


@attrs.define(eq=False, slots=False, auto_exc=False)
class PermissionDenied(WorkflowError):
    """Wrong role for the command, or a provider acting on a dossier that is not theirs."""
    code = "permission.refusee"
    role: str
    actor_id: str
    trigger: str
    reason: str

    def describe(self) -> str:
        return (f"Action « {trigger_words(self.trigger)} » refusée pour {role_words(self.role)} "
                f"« {self.actor_id} » : {self.reason}")


@attrs.define(eq=False, slots=False, auto_exc=False)
class DuplicateFinancingRequest(WorkflowError):
    """A provider may file only one funding request."""
    code = "demande.doublon"
    ans_id: str
    existing: str | None = None

    def describe(self) -> str:
        detail = f" (dossier existant : {self.existing})" if self.existing else ""
        return (f"Le fournisseur {self.ans_id} a déjà une demande de financement{detail} : "
                "une seule demande est possible par fournisseur.")


@attrs.define(eq=False, slots=False, auto_exc=False)
class ConcurrencyConflict(WorkflowError):
    """A repository refused a save made against a stale version."""
    code = "concurrence.conflit"
    numero: str
    expected_version: int
    actual_version: int | None = None

    def describe(self) -> str:
        actuelle = f", version actuelle {self.actual_version}" if self.actual_version is not None else ""
        return (f"Le dossier {self.numero} a été modifié entre-temps "
                f"(version attendue {self.expected_version}{actuelle}).")


@attrs.define(eq=False, slots=False, auto_exc=False)
class DossierNotFound(WorkflowError):
    """No dossier with that number in the repository."""
    code = "dossier.introuvable"
    template = "Aucun dossier n'a le numéro {numero!r}."
    numero: str


@attrs.define(eq=False, slots=False, auto_exc=False)
class DefinitionError(WorkflowError):
    """A machine definition or binding is inconsistent (unreachable state, trap state, unknown guard…)."""
    code = "definition.invalide"
    machine: str
    problems: tuple[str, ...] = attrs.field(converter=_texts)

    def describe(self) -> str:
        return f"Définition « {self.machine} » invalide : " + "; ".join(self.problems)


@attrs.define(eq=False, slots=False, auto_exc=False)
class SerializationError(WorkflowError):
    """Stored data that cannot be read back into a dossier; ``field`` names where."""
    code = "serialisation.invalide"
    template = "Données illisibles au champ « {field} » : {reason}"
    field: str
    reason: str


@attrs.define(eq=False, slots=False, auto_exc=False)
class CommandIdReused(WorkflowError):
    """A ``command_id`` already applied by another actor, to another dossier or with other content. Only the
    refused command's own data is carried: nothing of the stored outcome, the id may have been borrowed."""
    code = "commande.identifiant_reutilise"
    command_id: str
    trigger: str

    def describe(self) -> str:
        return (f"L'identifiant de commande {self.command_id!r} a déjà servi à une autre commande "
                "(autre auteur, autre dossier ou autre contenu) : choisissez un identifiant neuf pour "
                f"« {trigger_words(self.trigger)} ».")


@attrs.define(eq=False, slots=False, auto_exc=False)
class StorageError(WorkflowError):
    """The database refused or failed an operation: ``operation`` names the repository method, ``reason`` what
    the driver said (its class and message, never the data). ``retryable``: trying again later may succeed."""
    code = "stockage.erreur"
    template = "Le stockage a refusé l'opération « {operation} » : {reason}"
    retryable: ClassVar[bool] = False
    operation: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retryable": self.retryable}


@attrs.define(eq=False, slots=False, auto_exc=False)
class StorageUnavailable(StorageError):
    """The database could not be reached or dropped the connection (restart, network, timeout). For a write,
    whether it was committed is unknown: retry with the same ``command_id``, which replays it if applied."""
    code = "stockage.indisponible"
    retryable: ClassVar[bool] = True


@attrs.define(eq=False, slots=False, auto_exc=False, init=False)
class DossierAltere(SerializationError):
    """Stored data whose seal or chain does not verify: edited, removed, reordered, truncated, rolled back,
    re-hashed without the key, or from a schema that must be migrated explicitly first. ``numero``: the
    dossier (``"?"`` when the data does not say it); ``reason``: what was found, in people's words; ``field``:
    where (a field, ``sceau``, ``journal[3]``…). A ``SerializationError`` too, so hosts refuse it as such."""
    code = "dossier.altere"
    template = "Dossier {numero} altéré ({field}) : {reason}"
    numero: str

    def __init__(self, numero: str, reason: str, *, field: str = "sceau") -> None:
        self.__attrs_init__(field, reason, numero)


@attrs.define(eq=False, slots=False, auto_exc=False)
class AntivirusIndisponible(WorkflowError):
    """The host's antivirus could not give a verdict (daemon unreachable, timeout, unexpected answer):
    the file is neither accepted nor refused, the host decides (retry, or refuse the upload)."""
    code = "antivirus.indisponible"
    template = "L'antivirus ({antivirus}) n'a pas pu analyser le fichier : {reason}"
    antivirus: str
    reason: str


class CliError(WorkflowError):
    """A usage or input problem reported on one line (missing file, bad option combination…)."""
    code = "cli.erreur"


class DiagramError(WorkflowError):
    """A diagram cannot be produced (unknown machine or format, highlight of the wrong kind, …)."""
    code = "diagramme.invalide"


@attrs.define(eq=False, slots=False, auto_exc=False)
class GraphvizMissing(DiagramError):
    """SVG/PNG needs Graphviz's ``dot`` command, which is not installed. ``formats``: the formats that do
    without it (the diagrams' registry gives them when they raise it)."""
    code = "diagramme.graphviz_absent"
    formats: tuple[str, ...] = attrs.field(default=(), converter=_texts)

    def describe(self) -> str:
        autres = f" ({', '.join(self.formats)})" if self.formats else ""
        return ("Graphviz est introuvable (commande « dot ») : installez le paquet Debian « graphviz » "
                f"(apt-get install graphviz) pour produire du SVG ou du PNG, ou choisissez un format texte{autres}.")


@attrs.define(eq=False, slots=False, auto_exc=False)
class GraphvizFailed(DiagramError):
    """``dot`` ran but refused the input or failed."""
    code = "diagramme.graphviz_echec"
    stderr: str

    def describe(self) -> str:
        first = self.stderr.strip().splitlines()[0] if self.stderr.strip() else "erreur inconnue"
        return f"Graphviz a échoué : {first}"


@attrs.define(eq=False, slots=False, auto_exc=False)
class NumerosEpuises(WorkflowError):
    """The corridor's numbering space (``prefix`` + 6 digits) is exhausted."""
    code = "numero.epuise"
    template = "Plus aucun numéro de dossier disponible après {prefix}999999."
    prefix: str


@attrs.define(eq=False, slots=False, auto_exc=False)
class DeliveryFailed(WorkflowError):
    """A transport could not deliver an entry. ``permanent``: retrying cannot help (an SMTP 5xx reply)."""
    code = "livraison.echec"
    reason: str
    permanent: bool = attrs.field(default=False, kw_only=True)
    smtp_code: int | None = attrs.field(default=None, kw_only=True)

    def describe(self) -> str:
        kind = "définitif" if self.permanent else "temporaire"
        return f"Échec {kind} de l'envoi : {self.reason}"


@attrs.define(eq=False, slots=False, auto_exc=False)
class ExportUnavailable(WorkflowError):
    """The writer of a format is not installed (the ``exports`` extra)."""
    code = "export.indisponible"
    format: str
    package: str

    def describe(self) -> str:
        return f"L'export {self.format.upper()} a besoin de {self.package} : pip install 'segur-workflow[exports]'."


def _resolve_field_types() -> None:
    # the annotations are strings (``from __future__ import annotations``): resolved once, for the tools that
    # read the fields' types (hypothesis' ``st.builds``, cattrs)
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, WorkflowError) and attrs.has(value):
            attrs.resolve_types(value)


_resolve_field_types()
