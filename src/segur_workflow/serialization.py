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

import copy
import enum
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType, UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
import orjson
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError
from cattrs.v import transform_error

from . import _seal as sealing
from .errors import DossierAltere, InvalidInput, SerializationError
from .history import GENESIS, history_problems, seal, verify_history
from .model import Actor, Dossier, EmailRecord, HistoryEntry
from .states import Status
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

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

#: The schema version written by :func:`to_dict`.
SCHEMA_VERSION = 4

Keyring = sealing.Keyring
_LOG = logging.getLogger("segur_workflow.migration")

_T = TypeVar("_T")


# -- the converter, configured once ------------------------------------------------------------------------
def _structure_str(value: object, _type: Any) -> str:
    # cattrs' default would call str() on anything: a number where a name belongs is corrupt data.
    if not isinstance(value, str):
        raise TypeError(f"chaîne attendue, {type(value).__name__} reçu")
    return value


def _structure_int(value: object, _type: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"entier attendu, {type(value).__name__} reçu")
    return value


def _structure_bool(value: object, _type: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"booléen attendu, {type(value).__name__} reçu")
    return value


def _parse_text(value: object, parse: Callable[[str], _T], errors: type[Exception], expected: str,
                unreadable: str) -> _T:
    """``parse(value)`` for a string ``value``; else a TypeError (``expected``) or a ValueError (``unreadable``)."""
    if not isinstance(value, str):
        raise TypeError(f"{expected}, {type(value).__name__} reçu")
    try:
        return parse(value)
    except errors:
        raise ValueError(f"{unreadable} : {value!r}") from None


def _structure_decimal(value: object, _type: Any) -> Decimal:
    # Money is stored as a string on purpose: a JSON number may have gone through a float.
    amount = _parse_text(value, Decimal, InvalidOperation, 'montant en chaîne attendu (ex. "30000")',
                         "montant illisible")
    if not amount.is_finite():
        raise ValueError(f"montant non fini : {value!r}")
    return amount


def _structure_datetime(value: object, _type: Any) -> datetime:
    moment = _parse_text(value, datetime.fromisoformat, ValueError, "date ISO 8601 en chaîne attendue",
                         "date ISO 8601 illisible")
    if moment.utcoffset() is None:
        raise ValueError(f"date sans fuseau horaire : {value!r}")
    return moment


def _enum_value(member: enum.Enum) -> Any:
    return member._value_  # what ``.value`` returns, without its descriptor (a visible share of to_json)


def _structure_enum(value: object, type_: Any) -> Any:
    if not isinstance(value, str):
        raise TypeError(f"chaîne attendue, {type(value).__name__} reçu")
    try:
        return type_(value)
    except ValueError:
        choices = ", ".join(m.value for m in type_)
        raise ValueError(f"valeur inconnue {value!r} (attendu : {choices})") from None


def _enum_hook(enum_cls: type[enum.Enum]) -> Callable[[object, Any], Any]:
    """:func:`_structure_enum` for ``enum_cls`` with a dict lookup first (``Enum(value)`` is a slow call)."""
    members = enum_cls._value2member_map_

    def structure(value: object, _type: Any) -> Any:
        if type(value) is str:
            member = members.get(value)
            if member is not None:
                return member
        return _structure_enum(value, enum_cls)  # the unusual cases, and the error, as ever

    return structure


_ENUMS: tuple[type[enum.Enum], ...] = (Status, Role, Phase, PieceKind, Bloc, Controle)


def _is_optional(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) in (Union, UnionType) and len(args) == 2 and type(None) in args


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] is not Any


def _is_mapping(type_: Any) -> bool:
    return get_origin(type_) is Mapping or type_ is Mapping


def _build_converter(*, detailed: bool = True) -> cattrs.Converter:
    """The converter; ``detailed=False`` gives the fast one :func:`_structure` tries first.

    Both accept exactly the same documents and build equal values (a property test holds them to
    it): they share every hook, the fast one only skips collecting all errors with their paths
    and, for tuples, the per-index bookkeeping that only serves those errors.
    """
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=detailed)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    for enum_cls in _ENUMS:
        # Explicit per class: these StrEnums are also ``str``, and the strict ``str`` hook must not win.
        conv.register_unstructure_hook(enum_cls, _enum_value)
        conv.register_structure_hook(enum_cls, _enum_hook(enum_cls))

    def unstructure_mapping_factory(type_: Any) -> Callable[[Mapping[Any, Any]], dict[Any, Any]]:
        # Keys too go by value (cattrs leaves enum keys as enum members), so the result is plain JSON.
        args = get_args(type_)
        key_t, val_t = args if len(args) == 2 else (Any, Any)

        key, val = conv.get_unstructure_hook(key_t), conv.get_unstructure_hook(val_t)  # looked up once

        def unstructure(value: Mapping[Any, Any]) -> dict[Any, Any]:
            return {key(k): val(v) for k, v in value.items()}

        return unstructure

    conv.register_unstructure_hook_factory(_is_mapping, unstructure_mapping_factory)

    def unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
        return [conv.unstructure(v) for v in value]

    conv.register_unstructure_hook(tuple, unstructure_tuple)

    if not detailed:
        def structure_tuple_factory(type_: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
            # As cattrs' own (any iterable, each item by the element hook), with the hook looked up once.
            elem_t = get_args(type_)[0]
            elem = conv.get_structure_hook(elem_t)

            def structure(value: Any, _type: Any) -> tuple[Any, ...]:
                return tuple([elem(v, elem_t) for v in value])

            return structure

        conv.register_structure_hook_factory(_is_homogeneous_tuple, structure_tuple_factory)

        def structure_optional_factory(type_: Any) -> Callable[[Any, Any], Any]:
            # As cattrs' own (None, or the other type's hook), with that hook looked up once.
            other_t = next(a for a in get_args(type_) if a is not type(None))
            other = conv.get_structure_hook(other_t)

            def structure(value: Any, _type: Any) -> Any:
                return None if value is None else other(value, other_t)

            return structure

        conv.register_structure_hook_factory(_is_optional, structure_optional_factory)
    return conv


#: Names the field of every problem (see :func:`_structure`); also writes every document.
_CONVERTER = _build_converter()
#: Stops at the first problem without saying where: tried first, as almost every document is sound.
_FAST = _build_converter(detailed=False)


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


# -- errors -------------------------------------------------------------------------------------------------------
def _describe(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "champ manquant"
    if isinstance(exc, ForbiddenExtraKeysError):
        return "champ(s) inconnu(s) : " + ", ".join(sorted(exc.extra_fields))
    if isinstance(exc, InvalidInput):
        return f"{exc.expected} attendu"
    if isinstance(exc, ValueError | TypeError):
        name = getattr(_type, "__name__", str(_type))
        return f"valeur invalide pour {name} ({exc})"
    return f"{type(exc).__name__} : {exc}"


def _structure(data: Any, cls: type[Any], *, prefix: str = "") -> Any:
    try:
        return _FAST.structure(data, cls)
    except Exception:  # noqa: S110 - whatever it was, the detailed converter says it precisely below
        pass
    # Only for a document the fast converter refused: the same hooks again, now collecting every
    # problem with its path (about a tenth slower, and the message needs it).
    try:
        return _CONVERTER.structure(data, cls)
    except BaseValidationError as exc:
        messages = transform_error(exc, path="$", format_exception=_describe)
        problems = []
        for message in messages:
            reason, _, path = message.rpartition(" @ ")
            path = path.removeprefix("$").removeprefix(".")
            problems.append(((prefix + ("." if prefix and path and path[0] != "[" else "") + path) or "$", reason))
        field, reason = problems[0]
        if len(problems) > 1:
            reason += " ; et aussi : " + " ; ".join(f"{f} : {r}" for f, r in problems[1:])
        raise SerializationError(field, reason) from exc
    except RecursionError:
        raise SerializationError(prefix or "$", "données trop profondément imbriquées") from None
    except Exception as exc:  # a hook that failed outside cattrs' error collection: still named
        raise SerializationError(prefix or "$", f"données illisibles ({type(exc).__name__})") from None


def _history_field(dossier: Dossier, index: int) -> str:
    return f"history[{index}]" if index < len(dossier.history) else "status"


def _check_history(dossier: Dossier) -> None:
    broken = history_problems(dossier)
    if broken:
        raise DossierAltere(dossier.numero, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond plus",
                            field=_history_field(dossier, broken[0]))


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


#: The reference writer: ``json.dumps`` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(data: Any) -> str:
    """``_ENCODER.encode(data)``, written by orjson when it can (about five times faster).

    orjson writes the same compact text (a test compares them); what it refuses and ``json``
    writes — integers beyond 64 bits, lone surrogates — goes to ``json`` as before.
    """
    try:
        return orjson.dumps(data).decode("utf-8")
    except orjson.JSONEncodeError:
        return _ENCODER.encode(data)


def loads(text: str | bytes) -> Any:
    """JSON text as plain values: orjson where it reads exactly what ``json`` reads, else ``json``.

    Never a ``RecursionError`` or a ``ValueError``: unreadable text is a ``SerializationError``.
    """
    if type(text) is str:
        # orjson reads about twice as fast as json. It reads the same values, save two kinds: what
        # it refuses (NaN, infinite numbers, escaped lone surrogates, nesting beyond 1024), and
        # integers beyond 64 bits, which it reads as floats. No field of a dossier accepts a float,
        # so a float read here goes to json below, for exactly the value it always gave.
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            if not _has_float(value):
                return value
    try:
        return json.loads(text)
    except (ValueError, TypeError) as exc:
        raise SerializationError("$", f"JSON illisible ({exc})") from None
    except RecursionError:
        raise SerializationError("$", "JSON trop profondément imbriqué") from None


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            return True
        if type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False


def from_json(text: str | bytes, *, key: sealing.KeyArg = None, verify: bool = True) -> Dossier:
    return from_dict(loads(text), key=key, verify=verify)


# -- the parts a repository stores apart (adapters/_sql.py) ------------------------------------------------------------
#: The fields a journal stores row by row; the snapshot row holds every other one.
JOURNALED = ("history", "emails_sent")
_BODY_FIELDS: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
    (f.name, _CONVERTER.get_unstructure_hook(f.type))
    for f in attrs.fields(attrs.resolve_types(Dossier)) if f.name not in JOURNALED
)
_ENTRY_HOOK = _CONVERTER.get_unstructure_hook(HistoryEntry)
_EMAIL_HOOK = _CONVERTER.get_unstructure_hook(EmailRecord)


def snapshot_of(dossier: Dossier) -> dict[str, Any]:
    """Every field of ``dossier`` but the history and the e-mails sent, as plain JSON (with ``schema_version``)."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for name, hook in _BODY_FIELDS:
        out[name] = hook(getattr(dossier, name))
    return out


def entries_of(entries: tuple[HistoryEntry, ...]) -> list[Any]:
    return [_ENTRY_HOOK(e) for e in entries]


def emails_of(records: tuple[EmailRecord, ...]) -> list[Any]:
    return [_EMAIL_HOOK(r) for r in records]


def structure_entries(raw: object, *, where: str, actors: dict[tuple[str, str], Actor] | None = None
                      ) -> tuple[HistoryEntry, ...]:
    """The history entries of one journal row. ``actors``: the actors already built by this read (a
    dossier has a handful; each is built and checked once, then shared by its entries)."""
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = _entries_fast(raw, {} if actors is None else actors)
    if fast is not None:
        return fast
    return tuple(_structure(item, HistoryEntry, prefix=f"{where}[{i}]") for i, item in enumerate(raw))


def structure_emails(raw: object, *, where: str) -> tuple[EmailRecord, ...]:
    if not isinstance(raw, list):
        raise SerializationError(where, "liste attendue")
    fast = _emails_fast(raw)
    if fast is not None:
        return fast
    return tuple(_structure(item, EmailRecord, prefix=f"{where}[{i}]") for i, item in enumerate(raw))


# -- journal rows read straight into values --------------------------------------------------------------------
# A stored command reads back the history entries of every journal row it has not structured yet: on
# a first read, all of them. Through cattrs an entry costs tens of microseconds, most of a command at a
# thousand entries (docs/benchmarks.md). What this module writes has one shape, so these readers take
# that shape only, with the same checks as the converter's hooks (types, enum values, aware dates, no
# missing or extra key); anything else returns None and goes through the converter, which accepts or
# refuses it with the error naming the field. A property test holds both to the same values.
_ENTRY_KEYS = frozenset(a.name for a in attrs.fields(HistoryEntry))
_EMAIL_KEYS = frozenset(a.name for a in attrs.fields(EmailRecord))
_STATUSES: Mapping[str, Status] = Status._value2member_map_  # type: ignore[assignment]


def _optional_text(value: object) -> bool:
    return value is None or type(value) is str


def _entries_fast(raw: object, actors: dict[tuple[str, str], Actor]) -> tuple[HistoryEntry, ...] | None:
    if type(raw) is not list:
        return None
    out: list[HistoryEntry] = []
    for item in raw:
        if type(item) is not dict or item.keys() != _ENTRY_KEYS:
            return None
        at, actor, trigger, source, dest = item["at"], item["actor"], item["trigger"], item["source"], item["dest"]
        comment, command_id, details, digest = item["comment"], item["command_id"], item["details"], item["hash"]
        if (type(at) is not str or type(trigger) is not str or type(dest) is not str or type(digest) is not str
                or not _optional_text(source) or not _optional_text(comment) or not _optional_text(command_id)
                or type(details) is not dict or type(actor) is not dict):
            return None
        if not all(type(k) is str and type(v) is str for k, v in details.items()):
            return None
        role, actor_id = actor.get("role"), actor.get("id")
        if len(actor) != 2 or type(role) is not str or type(actor_id) is not str:
            return None
        who = actors.get((role, actor_id))
        if who is None:  # the converter builds (and checks) each distinct actor once per read
            try:
                who = actors[role, actor_id] = _FAST.structure(actor, Actor)
            except Exception:  # the careful path gives the error
                return None
        destination = _STATUSES.get(dest)
        origin = None if source is None else _STATUSES.get(source)
        if destination is None or (source is not None and origin is None):
            return None
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        # ``details`` is a dict of this read alone: wrapped as it is, not copied (what _frozen_map would do).
        out.append(HistoryEntry(moment, who, trigger, origin, destination, comment, command_id,
                                MappingProxyType(details), digest))
    return tuple(out)


def _emails_fast(raw: object) -> tuple[EmailRecord, ...] | None:
    if type(raw) is not list:
        return None
    out: list[EmailRecord] = []
    for item in raw:
        if type(item) is not dict or item.keys() != _EMAIL_KEYS:
            return None
        at, template, subject, to = item["at"], item["template"], item["subject"], item["to"]
        if type(at) is not str or type(template) is not str or type(subject) is not str or type(to) is not str:
            return None
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            return None
        if moment.utcoffset() is None:
            return None
        out.append(EmailRecord(moment, template, subject, to))
    return tuple(out)


def dossier_of(snapshot: object, history: tuple[HistoryEntry, ...], emails: tuple[EmailRecord, ...]) -> Dossier:
    """The dossier of a snapshot (see :func:`snapshot_of`) with its history and e-mails read apart."""
    if not isinstance(snapshot, dict):
        raise SerializationError("data", f"objet attendu, {type(snapshot).__name__} reçu")
    if snapshot.get("schema_version") != SCHEMA_VERSION:
        raise SerializationError("data.schema_version", f"version {SCHEMA_VERSION} attendue")
    body = {k: v for k, v in snapshot.items() if k != "schema_version"}
    for name in JOURNALED:
        if name in body:
            raise SerializationError(f"data.{name}", "champ inattendu dans l'instantané (il est au journal)")
    dossier: Dossier = _structure({**body, "history": [], "emails_sent": []}, Dossier, prefix="data")
    return attrs.evolve(dossier, history=history, emails_sent=emails)
