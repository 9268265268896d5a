"""Dossiers to and from JSON-ready dicts (cattrs), with a schema version and upcasters.

``to_dict(dossier)`` gives plain JSON types only: money as strings (exact decimals), datetimes as
ISO 8601 with their offset, enums by value, read-only mappings as objects, tuples as lists.
``from_dict(data)`` gives back an equal :class:`~segur_workflow.model.Dossier`, migrating older
schema versions on the way with small named functions (:data:`UPCASTERS`), and refuses corrupt or
foreign data with a :class:`~segur_workflow.errors.SerializationError` naming the field.

Schema history:

* **1** — the first stored shape: the status was stored under ``statut`` and history entries had
  no ``hash``.
* **2** — ``statut`` renamed ``status`` (the public name of the attribute).
* **3** — each history entry carries its SHA-256 chained to the previous one (see :mod:`.history`).
* **4** — the whole document is sealed (``sceau``: a digest per field and an HMAC-SHA256 under the
  host's key, or an unkeyed SHA-256; see :mod:`.seal` and docs/security.md).

Reading never migrates: :func:`from_dict` refuses an older schema with :class:`~segur_workflow.errors.DossierAltere`
(an old document has no seal to check, and sealing it on the way would bless whatever was edited in it).
:func:`migrate` is the explicit, logged step, run by ``segur-workflow migrate`` on a database.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .. import _seal as sealing
from ..errors import DossierAltere, InvalidInput, SerializationError
from ..history import history_problems, verify_history
from ..model import Dossier
from ._converter import _CONVERTER as _CONVERTER
from ._converter import _FAST as _FAST
from ._converter import _structure
from ._parts import JOURNALED as JOURNALED
from ._parts import LAST_ENTRY as LAST_ENTRY
from ._parts import Body as Body
from ._parts import body_of as body_of
from ._parts import dossier_of as dossier_of
from ._parts import emails_fast as emails_fast
from ._parts import emails_of as emails_of
from ._parts import entries_fast as entries_fast
from ._parts import entries_of as entries_of
from ._parts import snapshot_of as snapshot_of
from ._parts import snapshot_parts as snapshot_parts
from ._parts import structure_emails as structure_emails
from ._parts import structure_entries as structure_entries
from ._text import _ENCODER as _ENCODER
from ._text import _dumps as _dumps
from ._text import loads as loads
from ._upcast import SCHEMA_VERSION, UPCASTERS, _check_history, _history_field, _schema_version, upcast
from ._upcast import v1_renomme_statut as v1_renomme_statut
from ._upcast import v2_scelle_historique as v2_scelle_historique
from ._upcast import v3_scelle_document as v3_scelle_document

_emails_fast, _entries_fast = emails_fast, entries_fast  # the names the fast-path tests know them by

__all__ = [
    "SCHEMA_VERSION",
    "UPCASTERS",
    "Keyring",
    "from_dict",
    "from_json",
    "migrate",
    "to_dict",
    "to_json",
    "upcast",
    "verify_history",
]

Keyring = sealing.Keyring
_LOG = logging.getLogger("segur_workflow.migration")


# -- the seal of a document ---------------------------------------------------------------------------------------
_SEAL_KEYS = frozenset({"algorithme", "cle", "champs", "empreinte"})


def numero_of(data: object) -> str:
    """The dossier number a document claims (for error messages), or ``"?"``."""
    numero = data.get("numero") if isinstance(data, Mapping) else None
    return numero[:64] if isinstance(numero, str) and numero else "?"


def _field_digests(body: Mapping[str, Any]) -> dict[str, str]:
    return {name: sealing.digest(sealing.canonical(value)) for name, value in body.items()}


def _seal_message(algorithm: str, kid: str | None, champs: Mapping[str, str]) -> bytes:
    return sealing.canonical({"type": "segur_workflow.dossier", "schema_version": SCHEMA_VERSION,
                              "algorithme": algorithm, "cle": kid, "champs": champs})


def _seal_document(body: Mapping[str, Any], sealer: sealing.Sealer) -> dict[str, Any]:
    champs = _field_digests(body)
    kid = sealer.current_id
    return {"algorithme": sealer.algorithm, "cle": kid, "champs": champs,
            "empreinte": sealer.seal(_seal_message(sealer.algorithm, kid, champs))}


def _check_document_seal(data: Mapping[str, Any], body: Mapping[str, Any], sealer: sealing.Sealer,
                         dossier: Dossier) -> None:
    """Refuse ``data`` (a schema-4 document, ``body`` its fields) unless its seal verifies: which field changed."""
    numero = numero_of(data)
    sceau = data.get("sceau")
    if not isinstance(sceau, dict) or set(sceau) != _SEAL_KEYS:
        raise DossierAltere(numero, "sceau absent ou incomplet", field="sceau")
    algorithm, kid, champs = sceau["algorithme"], sceau["cle"], sceau["champs"]
    if not ((algorithm == sealing.SHA256 and kid is None) or (algorithm == sealing.HMAC and isinstance(kid, str))):
        raise DossierAltere(numero, "algorithme du sceau inconnu ou incohérent avec sa clé", field="sceau")
    if not isinstance(champs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in champs.items()):
        raise DossierAltere(numero, "empreintes des champs illisibles", field="sceau")
    problem = sealer.problem(kid, _seal_message(algorithm, kid, champs), sceau["empreinte"])
    if problem is not None:
        raise DossierAltere(numero, problem, field="sceau")
    for name in sorted(set(champs) | set(body)):
        if name not in body:
            raise DossierAltere(numero, "champ supprimé depuis le scellement", field=name)
        if name not in champs:
            raise DossierAltere(numero, "champ ajouté depuis le scellement", field=name)
        if sealing.digest(sealing.canonical(body[name])) != champs[name]:
            raise DossierAltere(numero, "champ modifié depuis le scellement", field=_where_changed(name, dossier))


def _where_changed(name: str, dossier: Dossier) -> str:
    """The changed field, down to the history entry when its own chain says which one."""
    broken = history_problems(dossier) if name == "history" else ()
    return _history_field(dossier, broken[0]) if broken else name


# -- the public functions -------------------------------------------------------------------------------------------
def to_dict(dossier: Dossier, *, key: sealing.KeyArg = None) -> dict[str, Any]:
    """``dossier`` as a sealed JSON-ready dict (plain types only): ``schema_version`` first, ``sceau`` last.

    ``key`` is the host's sealing secret (HMAC-SHA256; ``bytes``, a :class:`Keyring` or a mapping of key
    ids); ``None`` seals with an unkeyed SHA-256 (see docs/security.md for what each protects against).
    """
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    sealer = sealing.sealer(key)
    body = _CONVERTER.unstructure(dossier, Dossier)
    return {"schema_version": SCHEMA_VERSION, **body, "sceau": _seal_document(body, sealer)}


def from_dict(data: Mapping[str, Any], *, key: sealing.KeyArg = None, verify: bool = True) -> Dossier:
    """The dossier stored in ``data``, once its seal and its history chain verify.

    Refused with :class:`~segur_workflow.errors.DossierAltere` (``.numero``, ``.reason``, ``.field``): a
    seal that does not verify under ``key`` (any field edited, added or removed; an unkeyed seal where a
    key is required; a key this keyring does not hold), a broken history chain, or an older schema (it
    is migrated explicitly with :func:`migrate`, never by reading it). Refused with
    :class:`~segur_workflow.errors.SerializationError` naming the field: anything that is not a dossier.

    ``verify=False`` skips the seal and the chain (and reads older schemas without sealing them): for
    inspecting a refused document, never for deciding anything on it.
    """
    sealer = sealing.sealer(key)
    if not isinstance(data, Mapping):
        raise SerializationError("$", f"objet (dict) attendu, {type(data).__name__} reçu")
    version = _schema_version(data)
    if version < SCHEMA_VERSION:
        if verify:
            raise DossierAltere(
                numero_of(data),
                f"document au schéma {version}, sans sceau : il se migre explicitement (serialization.migrate, "
                "segur-workflow migrate), jamais en le lisant",
                field="schema_version",
            )
        body = upcast(data)
        del body["schema_version"]
        result: Dossier = _structure(body, Dossier)
        return result
    body = {k: v for k, v in data.items() if k not in ("schema_version", "sceau")}
    # Structured first: what is not a dossier at all is named down to its field; then the seal says
    # whether this dossier is the one that was sealed.
    dossier: Dossier = _structure(body, Dossier)
    if verify:
        _check_document_seal(data, body, sealer, dossier)
        _check_history(dossier)
    return dossier


def migrate(data: Mapping[str, Any], *, key: sealing.KeyArg = None) -> dict[str, Any]:
    """``data`` (any known schema) as a sealed document of :data:`SCHEMA_VERSION`: the explicit migration.

    Each step is checked (the old schema's exact fields; a schema-3 history chain must hold) and
    logged on the ``segur_workflow.migration`` logger. A current document is verified under ``key``
    and returned re-sealed with the keyring's current key (key rotation).
    """
    if not isinstance(data, Mapping):
        raise SerializationError("$", f"objet (dict) attendu, {type(data).__name__} reçu")
    version = _schema_version(data)
    if version == SCHEMA_VERSION:
        dossier = from_dict(data, key=key)
    else:
        body = upcast(data)
        del body["schema_version"]
        dossier = _structure(body, Dossier)
        _check_history(dossier)
        if version < 3:
            _LOG.warning("dossier %s : schéma %d sans chaîne d'historique, scellé tel qu'il était écrit",
                         dossier.numero, version)
    out = to_dict(dossier, key=key)
    _LOG.info("dossier %s migré du schéma %d au schéma %d (%s)", dossier.numero, version, SCHEMA_VERSION,
              out["sceau"]["algorithme"])
    return out


def to_json(dossier: Dossier, *, key: sealing.KeyArg = None) -> str:
    """:func:`to_dict` as compact JSON text (UTF-8 kept readable)."""
    return _dumps(to_dict(dossier, key=key))


def from_json(text: str | bytes, *, key: sealing.KeyArg = None, verify: bool = True) -> Dossier:
    return from_dict(loads(text), key=key, verify=verify)
