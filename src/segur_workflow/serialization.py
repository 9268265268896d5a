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
"""

from __future__ import annotations

import copy
import enum
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import cattrs
import orjson
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError
from cattrs.v import transform_error

from .errors import InvalidInput, SerializationError
from .history import GENESIS, history_problems, seal, verify_history
from .model import Dossier, HistoryEntry
from .states import Status
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

__all__ = [
    "SCHEMA_VERSION",
    "UPCASTERS",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
    "upcast",
    "verify_history",
]

#: The schema version written by :func:`to_dict`.
SCHEMA_VERSION = 3

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


def v1_renomme_statut(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 → 2: the status was stored under ``statut``."""
    out = {k: v for k, v in data.items() if k != "statut"}
    out["status"] = _require(data, "statut")
    out["schema_version"] = 2
    return out


def v2_scelle_historique(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 → 3: seal the history with the SHA-256 chain (entries had no ``hash``).

    What an old row says is taken as written: the chain guards against edits made from now on.
    """
    entries = _require(data, "history")
    if not isinstance(entries, list):
        raise SerializationError("history", "liste attendue")
    previous = GENESIS
    sealed = []
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise SerializationError(f"history[{i}]", "objet attendu")
        if "hash" in raw:
            raise SerializationError(f"history[{i}].hash", "champ inattendu en version 2")
        entry = seal(previous, _structure(raw, HistoryEntry, prefix=f"history[{i}]"))
        previous = entry.hash
        sealed.append(_CONVERTER.unstructure(entry))
    return {**data, "history": sealed, "schema_version": 3}


#: ``UPCASTERS[n]`` migrates a schema-``n`` dict to schema ``n + 1``.
UPCASTERS: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: v1_renomme_statut,
    2: v2_scelle_historique,
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
    """``data`` migrated to :data:`SCHEMA_VERSION` (a new dict; ``data`` is not changed)."""
    if not isinstance(data, Mapping):
        raise SerializationError("$", f"objet (dict) attendu, {type(data).__name__} reçu")
    out = dict(data)  # from_dict removes schema_version from the top level: never from the caller's dict
    version = _schema_version(out)
    if version < SCHEMA_VERSION:
        # Only an old document is migrated: copy it whole so no upcaster can touch the caller's data.
        # The current schema is not copied deeply: that deepcopy was half the cost of every load
        # (docs/benchmarks.md), and structuring reads the document without changing it.
        out = copy.deepcopy(out)
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


# -- the public functions -------------------------------------------------------------------------------------------
def to_dict(dossier: Dossier) -> dict[str, Any]:
    """``dossier`` as a JSON-ready dict (plain types only), ``schema_version`` first."""
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    return {"schema_version": SCHEMA_VERSION, **_CONVERTER.unstructure(dossier, Dossier)}


def from_dict(data: Mapping[str, Any], *, verify: bool = True) -> Dossier:
    """The dossier stored in ``data`` (any known schema version).

    With ``verify`` (the default) a history whose hash chain is broken — an entry edited, removed or
    reordered in storage — is refused; pass ``verify=False`` to load it anyway and inspect it.
    """
    body = upcast(data)
    del body["schema_version"]
    dossier: Dossier = _structure(body, Dossier)
    if verify:
        broken = history_problems(dossier)
        if broken:
            index = broken[0]
            where = f"history[{index}]" if index < len(dossier.history) else "status"
            raise SerializationError(
                where, "historique altéré : la chaîne d'empreintes SHA-256 ne correspond plus"
            )
    return dossier


def to_json(dossier: Dossier) -> str:
    """:func:`to_dict` as compact JSON text (UTF-8 kept readable), as the SQL adapters store it."""
    return _dumps(to_dict(dossier))


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


def from_json(text: str | bytes, *, verify: bool = True) -> Dossier:
    if type(text) is str:
        # orjson reads about twice as fast as json. It reads the same values, save two kinds: what
        # it refuses (NaN, infinite numbers, escaped lone surrogates), and integers beyond 64 bits,
        # which it reads as floats. No field of a dossier accepts a float, so a document orjson read
        # and from_dict accepted held neither; any other document is read again by json, below, for
        # exactly the result and error it always gave.
        try:
            return from_dict(orjson.loads(text), verify=verify)
        except Exception:  # noqa: S110 - read again by json just below, which decides
            pass
    try:
        data = json.loads(text)
    except RecursionError:  # nesting deeper than any dossier: refused, not a crash (delivery's boundary)
        raise SerializationError("$", "JSON illisible (imbrication trop profonde)") from None
    except (ValueError, TypeError) as exc:
        raise SerializationError("$", f"JSON illisible ({exc})") from None
    return from_dict(data, verify=verify)
