"""Structured errors. Every refusal is a ``WorkflowError`` carrying data and a stable ``code``.

Messages are French (for people); ``code`` is a stable dotted identifier (for programs).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class Violation:
    """One broken rule: stable dotted ``code``, the ``field`` concerned, a French ``message``."""

    code: str
    field: str
    message: str


class WorkflowError(Exception):
    """Base of every error the library raises on purpose."""

    code: str = "workflow"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for hosts that return errors over an API."""
        return {"code": self.code, "message": self.message}


class InvalidInput(WorkflowError, TypeError):
    """An argument of the wrong type or shape (a programming error on the host's side)."""

    code = "entree.invalide"

    def __init__(self, parameter: str, expected: str, received: object) -> None:
        self.parameter = parameter
        self.expected = expected
        self.received_type = type(received).__name__
        got = "aucune valeur reçue" if received is None else f"{self.received_type} reçu"
        super().__init__(f"Paramètre « {parameter} » invalide : {expected} attendu, {got}.")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "parameter": self.parameter, "expected": self.expected}


class TransitionNotAllowed(WorkflowError):
    """The command exists but cannot be fired from the dossier's current status."""

    code = "transition.interdite"

    def __init__(self, status: str | None, trigger: str, allowed: Iterable[str]) -> None:
        self.status = status
        self.trigger = trigger
        self.allowed = frozenset(allowed)
        permis = ", ".join(sorted(self.allowed)) or "aucune"
        super().__init__(
            f"La commande « {trigger} » n'est pas possible {_where(status)}. Commandes possibles : {permis}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "status": self.status,
            "trigger": self.trigger,
            "allowed": sorted(self.allowed),
        }


def _where(status: str | None) -> str:
    """The status in people's words: its portal label (and the request it belongs to), never its id."""
    if status is None:
        return "avant la création du dossier ou du compte"
    from .states import DEFINITIONS, Status  # errors sit below the definitions; only the message needs them

    for definition in DEFINITIONS.values():
        if status in definition.state_names:
            label = definition.state(status).label
            if status in Status.__members__.values():
                return f"au statut « {label} » ({Status(status).phase.label})"
            return f"au statut « {label} »"
    return "au statut actuel"


class RuleViolations(WorkflowError):
    """One or more rules refused the command; all of them are reported at once."""

    code = "regles.non_respectees"

    def __init__(self, violations: Iterable[Violation], trigger: str | None = None) -> None:
        self.violations = tuple(violations)
        self.trigger = trigger
        lines = "; ".join(f"{v.field} : {v.message}" for v in self.violations)
        super().__init__(f"Demande refusée ({len(self.violations)} anomalie(s)) : {lines}")

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(v.code for v in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "trigger": self.trigger,
            "violations": [attrs.asdict(v) for v in self.violations],
        }


class PermissionDenied(WorkflowError):
    """Wrong role for the command, or a provider acting on a dossier that is not theirs."""

    code = "permission.refusee"

    def __init__(self, role: str, actor_id: str, trigger: str, reason: str) -> None:
        self.role = role
        self.actor_id = actor_id
        self.trigger = trigger
        self.reason = reason
        super().__init__(f"Action « {trigger} » refusée pour {_role_label(role)} « {actor_id} » : {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "role": self.role, "trigger": self.trigger, "reason": self.reason}


def _role_label(role: str) -> str:
    from .vocabulary import Role

    return Role(role).label if role in Role.__members__.values() else role


class DuplicateFinancingRequest(WorkflowError):
    """A provider may file only one funding request."""

    code = "demande.doublon"

    def __init__(self, ans_id: str, existing: str | None = None) -> None:
        self.ans_id = ans_id
        self.existing = existing
        detail = f" (dossier existant : {existing})" if existing else ""
        super().__init__(
            f"Le fournisseur {ans_id} a déjà une demande de financement{detail} : "
            "une seule demande est possible par fournisseur."
        )


class ConcurrencyConflict(WorkflowError):
    """A repository refused a save made against a stale version."""

    code = "concurrence.conflit"

    def __init__(self, numero: str, expected_version: int, actual_version: int | None = None) -> None:
        self.numero = numero
        self.expected_version = expected_version
        self.actual_version = actual_version
        actuelle = f", version actuelle {actual_version}" if actual_version is not None else ""
        super().__init__(
            f"Le dossier {numero} a été modifié entre-temps (version attendue {expected_version}{actuelle})."
        )


class DossierNotFound(WorkflowError):
    """No dossier with that number in the repository."""

    code = "dossier.introuvable"

    def __init__(self, numero: str) -> None:
        self.numero = numero
        super().__init__(f"Aucun dossier n'a le numéro {numero!r}.")


class DefinitionError(WorkflowError):
    """A machine definition is inconsistent (unreachable state, trap state, unknown guard…)."""

    code = "definition.invalide"

    def __init__(self, machine: str, problems: Iterable[str]) -> None:
        self.machine = machine
        self.problems = tuple(problems)
        super().__init__(f"Définition « {machine} » invalide : " + "; ".join(self.problems))


class SerializationError(WorkflowError):
    """Stored data that cannot be read back into a dossier; ``field`` names where."""

    code = "serialisation.invalide"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"Données illisibles au champ « {field} » : {reason}")


class CommandIdReused(WorkflowError):
    """A ``command_id`` already applied by another actor, to another dossier or with other content.

    Only the refused command's own data is carried: nothing of the stored outcome (which dossier, whose
    command) is given back, since the id may have been borrowed on purpose.
    """

    code = "commande.identifiant_reutilise"

    def __init__(self, command_id: str, trigger: str) -> None:
        self.command_id = command_id
        self.trigger = trigger
        super().__init__(
            f"L'identifiant de commande {command_id!r} a déjà servi à une autre commande "
            f"(autre auteur, autre dossier ou autre contenu) : choisissez un identifiant neuf pour « {trigger} »."
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.command_id, self.trigger))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "command_id": self.command_id, "trigger": self.trigger}


class StorageError(WorkflowError):
    """The database refused or failed an operation (the driver's error, translated).

    ``operation`` names the repository method, ``reason`` what the driver said (its class name and
    message, never the data written). ``retryable`` is true when trying again later may succeed.
    """

    code = "stockage.erreur"
    retryable = False

    def __init__(self, operation: str, reason: str) -> None:
        self.operation = operation
        self.reason = reason
        super().__init__(f"Le stockage a refusé l'opération « {operation} » : {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.operation, self.reason))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "operation": self.operation, "reason": self.reason,
                "retryable": self.retryable}


class StorageUnavailable(StorageError):
    """The database could not be reached or dropped the connection (restart, network, timeout).

    For a write, whether it was committed is unknown: retry the command with the same ``command_id``,
    which replays it if it had been applied.
    """

    code = "stockage.indisponible"
    retryable = True


class DossierAltere(SerializationError):
    """Stored data whose seal or chain does not verify: edited, removed, reordered, truncated, rolled back,
    re-hashed without the key, or from a schema that must be migrated explicitly first.

    ``numero`` is the dossier concerned (``"?"`` when the data does not even say it), ``reason`` what was
    found in people's words, ``field`` where (a field, ``sceau``, ``journal[3]``…). A ``SerializationError``
    too, so a host that already refuses unreadable rows refuses these.
    """

    code = "dossier.altere"

    def __init__(self, numero: str, reason: str, *, field: str = "sceau") -> None:
        self.numero = numero
        WorkflowError.__init__(self, f"Dossier {numero} altéré ({field}) : {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_altere, (self.numero, self.reason, self.field))

    def to_dict(self) -> dict[str, Any]:
        return {**WorkflowError.to_dict(self), "numero": self.numero, "reason": self.reason, "field": self.field}


def _rebuild_altere(numero: str, reason: str, field: str) -> DossierAltere:
    return DossierAltere(numero, reason, field=field)


class AntivirusIndisponible(WorkflowError):
    """The host's antivirus could not give a verdict (daemon unreachable, timeout, unexpected answer):
    the file is neither accepted nor refused, the host decides (retry, or refuse the upload)."""

    code = "antivirus.indisponible"

    def __init__(self, antivirus: str, reason: str) -> None:
        self.antivirus = antivirus
        self.reason = reason
        super().__init__(f"L'antivirus ({antivirus}) n'a pas pu analyser le fichier : {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.antivirus, self.reason))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "antivirus": self.antivirus, "reason": self.reason}
