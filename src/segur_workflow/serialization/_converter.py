"""The cattrs converter of dossiers, configured once: every hook refuses what is not its type, and
:func:`_structure` names the field of any problem (:class:`~segur_workflow.errors.SerializationError`)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import cattrs
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError
from cattrs.v import transform_error

from .._checks import choices, enum_member
from ..errors import InvalidInput, SerializationError
from ..states import Status
from ..vocabulary import Bloc, Controle, Phase, PieceKind, Role

__all__ = ["_CONVERTER", "_FAST", "_structure"]


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
    member = enum_member(type_, value)
    if member is None:
        raise ValueError(f"valeur inconnue {value!r} (attendu : {choices(type_)})")
    return member


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
    if get_origin(type_) is Sequence:  # a dossier's history and e-mails sent: read back as tuples
        return len(args) == 1 and args[0] is not Any
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
