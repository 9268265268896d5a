"""The schema versions of a stored document and the upcasters that migrate an older one, step by step."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import DossierAltere, SerializationError
from ..history import GENESIS, history_problems, seal
from ..model import Dossier, HistoryEntry
from ._converter import _CONVERTER, _structure

__all__ = ["SCHEMA_VERSION", "UPCASTERS", "upcast", "v1_renomme_statut", "v2_scelle_historique", "v3_scelle_document"]

#: The schema version written by :func:`~segur_workflow.serialization.to_dict`.
SCHEMA_VERSION = 4


# -- upcasters: one small named function per schema step ----------------------------------------------------
def _require(data: dict[str, Any], key: str) -> Any:
    if key not in data:
        raise SerializationError(key, "champ manquant")
    return data[key]


#: The top-level keys each old schema wrote, exactly (``to_dict`` always wrote every field). A document
#: claiming an old schema must have these and nothing else: lacking one of them, or carrying a field of
#: a newer schema, it is not what it claims to be.
_KEYS_V3 = frozenset({
    "schema_version", "numero", "corridor", "fournisseur", "coordonnees_bancaires", "status", "avance", "solde",
    "history", "emails_sent", "date_depot", "date_changement_statut", "piece_demandee", "demande_commentaire",
})
_KEYS_OLD: Mapping[int, frozenset[str]] = {
    1: (_KEYS_V3 - {"status"}) | {"statut"},
    2: _KEYS_V3,
    3: _KEYS_V3,
}


def _check_old_shape(data: Mapping[str, Any], version: int) -> None:
    expected = _KEYS_OLD[version]
    extra = sorted(set(data) - expected)
    if extra:
        raise SerializationError(extra[0], f"champ inconnu du schéma {version} (document d'un schéma plus récent ?)")
    missing = sorted(expected - set(data))
    if missing:
        raise SerializationError(missing[0], f"champ manquant (le schéma {version} l'avait)")


def _entries(data: Mapping[str, Any]) -> list[Any]:
    entries = _require(dict(data), "history")
    if not isinstance(entries, list):
        raise SerializationError("history", "liste attendue")
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise SerializationError(f"history[{i}]", "objet attendu")
    return entries


def v1_renomme_statut(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 → 2: the status was stored under ``statut``."""
    _check_old_shape(data, 1)
    out = {k: v for k, v in data.items() if k != "statut"}
    out["status"] = _require(data, "statut")
    out["schema_version"] = 2
    return out


def v2_scelle_historique(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 → 3: seal the history with the SHA-256 chain (entries had no ``hash``).

    What an old row says is taken as written (the migration logs it): the chain guards against edits
    made from now on.
    """
    _check_old_shape(data, 2)
    previous = GENESIS
    sealed = []
    for i, raw in enumerate(_entries(data)):
        if "hash" in raw:
            raise SerializationError(f"history[{i}].hash", "champ inattendu en version 2")
        entry = seal(previous, _structure(raw, HistoryEntry, prefix=f"history[{i}]"))
        previous = entry.hash
        sealed.append(_CONVERTER.unstructure(entry))
    return {**data, "history": sealed, "schema_version": 3}


def v3_scelle_document(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 → 4: the document gets its seal (added by :func:`migrate`, which holds the key).

    A schema-3 document had its history chained: every entry must carry its ``hash`` and the chain
    must hold, or the migration refuses it (it would otherwise seal an edited history).
    """
    _check_old_shape(data, 3)
    for i, raw in enumerate(_entries(data)):
        if "hash" not in raw:
            raise SerializationError(f"history[{i}].hash", "champ manquant (le schéma 3 l'avait)")
    # dossiers stored before assignment existed are not assigned to anyone (issue 16)
    out = {**data, "gestionnaire": None, "schema_version": 4}
    dossier = _structure({k: v for k, v in out.items() if k != "schema_version"}, Dossier)
    broken = history_problems(dossier)
    if broken:
        raise DossierAltere(dossier.numero, "historique altéré avant migration : la chaîne SHA-256 ne correspond "
                            "plus", field=_history_field(dossier, broken[0]))
    return out


#: ``UPCASTERS[n]`` migrates a schema-``n`` dict to schema ``n + 1`` (the seal itself is added by :func:`migrate`).
UPCASTERS: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: v1_renomme_statut,
    2: v2_scelle_historique,
    3: v3_scelle_document,
}


def _schema_version(data: Mapping[str, Any]) -> int:
    if "schema_version" not in data:
        raise SerializationError("schema_version", "champ manquant")
    version = data["schema_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise SerializationError("schema_version", f"entier attendu, {type(version).__name__} reçu")
    if version > SCHEMA_VERSION:
        raise SerializationError(
            "schema_version",
            f"version {version} inconnue (cette version de segur_workflow lit jusqu'à {SCHEMA_VERSION}) : "
            "mettez segur_workflow à jour",
        )
    if version < 1:
        raise SerializationError("schema_version", f"version {version} inconnue")
    return version


def upcast(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` migrated to :data:`SCHEMA_VERSION`, without its seal (a new dict; ``data`` is not changed).

    Only :func:`migrate` (which seals the result) and :func:`from_dict` with ``verify=False`` (for
    inspection) use it: an upcast document is not evidence of anything until it is sealed.
    """
    if not isinstance(data, Mapping):
        raise SerializationError("$", f"objet (dict) attendu, {type(data).__name__} reçu")
    out = dict(data)  # from_dict removes schema_version from the top level: never from the caller's dict
    version = _schema_version(out)
    if version < SCHEMA_VERSION:
        # Only an old document is migrated: copy it whole so no upcaster can touch the caller's data.
        try:
            out = copy.deepcopy(out)
        except RecursionError:
            raise SerializationError("$", "document trop profondément imbriqué") from None
    while version < SCHEMA_VERSION:
        out = UPCASTERS[version](out)
        version = _schema_version(out)
    return out


def _history_field(dossier: Dossier, index: int) -> str:
    return f"history[{index}]" if index < len(dossier.history) else "status"


def _check_history(dossier: Dossier) -> None:
    broken = history_problems(dossier)
    if broken:
        raise DossierAltere(dossier.numero, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond plus",
                            field=_history_field(dossier, broken[0]))
