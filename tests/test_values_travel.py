"""Frozen values go through pickle, copy and multiprocessing: a dossier, a command, an outcome, an account.

Their mappings are read-only (``MappingProxyType``), which pickle refuses on its own: before this, a dossier
could neither be deep-copied nor handed to another process (``_frozen.travels``)."""

from __future__ import annotations

import copy
import importlib
import inspect
import multiprocessing
import pickle
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, get_origin

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.testing import strategies as sws
from segur_workflow.testing.contract import fournisseur

#: The modules whose frozen values a host holds and may send elsewhere.
VALUE_MODULES = ("segur_workflow.model", "segur_workflow.commands", "segur_workflow.compte._model",
                 "segur_workflow.engine", "segur_workflow.binding")


def _read_only_maps(value: Any, seen: set[int] | None = None) -> list[Any]:
    """Every mapping inside ``value`` (attrs values, tuples, mappings), to check they are read-only again."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    found: list[Any] = []
    if isinstance(value, Mapping):
        found.append(value)
        for item in value.values():
            found += _read_only_maps(item, seen)
    elif attrs.has(type(value)):
        for a in attrs.fields(type(value)):
            found += _read_only_maps(getattr(value, a.name), seen)
    elif isinstance(value, tuple):
        for item in value:
            found += _read_only_maps(item, seen)
    return found


def _travelled(value: Any) -> list[Any]:
    return [pickle.loads(pickle.dumps(value)), copy.deepcopy(value), copy.copy(value)]


@settings(max_examples=40, deadline=None)
@given(sws.dossiers())
def test_a_dossier_travels_equal_and_frozen(dossier: sw.Dossier) -> None:
    for back in _travelled(dossier):
        assert back == dossier
        assert all(type(m) is MappingProxyType for m in _read_only_maps(back))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_commands_and_their_outcomes_travel(data: st.DataObject) -> None:
    command = data.draw(sws.commands())
    for back in _travelled(command):
        assert back == command
        assert all(type(m) is MappingProxyType for m in _read_only_maps(back))


def test_an_outcome_travels_to_another_process() -> None:
    outcome = sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=examples.T0)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        back = pool.apply(copy.copy, (outcome,))
    assert back == outcome
    assert type(back.dossier.avance.pieces) is MappingProxyType


def _mapping_fields(cls: type) -> list[str]:
    hints = attrs.resolve_types(cls)
    return [a.name for a in attrs.fields(hints) if get_origin(a.type) is Mapping or a.type is Mapping]


@pytest.mark.parametrize("module", VALUE_MODULES)
def test_every_value_class_holding_a_mapping_travels(module: str) -> None:
    mod = importlib.import_module(module)
    classes = [c for _, c in inspect.getmembers(mod, inspect.isclass)
               if c.__module__ == mod.__name__ and attrs.has(c) and _mapping_fields(c)]
    values = [c for c in classes if c.__name__ not in _DEFINITIONS]
    assert values or module in {"segur_workflow.engine", "segur_workflow.binding"}
    for cls in values:
        assert cls.__getstate__.__qualname__.startswith("travels."), f"{cls.__name__}: @travels missing"


#: Classes holding mappings that are definitions built once per process, not values hosts send anywhere.
_DEFINITIONS = frozenset({"Binding", "Change", "Step"})
