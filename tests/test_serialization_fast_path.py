"""The fast converter that loading tries first must accept exactly what the detailed one accepts.

``from_dict`` structures with a converter that stops at the first problem and, only when it
refuses, runs the detailed converter again for the error naming the field. Both must agree on
every document, sound or corrupt: same value, or a refusal by both with the same error.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segur_workflow import SerializationError, Status, examples, serialization
from segur_workflow.model import Dossier, EmailRecord, HistoryEntry
from segur_workflow.serialization import from_dict, to_dict

DOCUMENTS = [to_dict(examples.dossier_at(status)) for status in Status]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document (the root excluded) a value sits at."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


_JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
    # values that look right somewhere: amounts, dates with and without offset, enum values
    st.sampled_from(["30000", "-1", "1e3", "NaN", "Infinity", "2023-05-23T08:00:00+02:00",
                     "2023-05-23T08:00:00", "ok", "avance", "gestionnaire", "avance_en_instruction",
                     "pv_vsr", "informations", "a_instruire", ""]),
)
_JSON = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    """A stored document with up to three places replaced, removed, or given an extra key."""
    doc: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(DOCUMENTS)))
    for _ in range(draw(st.integers(0, 3))):
        paths = [p for p in _paths(doc) if p != ("schema_version",)]
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "drop", "extra"]))
        if action == "replace" or (action == "drop" and isinstance(parent, list)):
            parent[path[-1]] = draw(_JSON)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(_JSON)
    return doc


def _outcome(converter: Any, body: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", converter.structure(body, Dossier)
    except Exception as exc:  # the kind of failure is what is compared
        return "refused", type(exc)


@given(_documents())
def test_fast_and_detailed_converters_accept_the_same_documents_and_build_equal_values(doc: dict[str, Any]) -> None:
    body = {k: v for k, v in doc.items() if k != "schema_version"}
    fast, detailed = _outcome(serialization._FAST, body), _outcome(serialization._CONVERTER, body)
    assert fast[0] == detailed[0]
    if fast[0] == "value":
        assert fast[1] == detailed[1]


_SWAPS: tuple[Any, ...] = (None, True, 0, 12, 1.5, "", "x", "12", "30000", "2023-05-23T08:00:00+02:00", "ok",
                           [], ["x"], {}, {"x": 1})


def _variants(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``doc`` with each place in turn given each of :data:`_SWAPS`, removed, or given an extra key."""
    for path in _paths(doc):
        if path == ("schema_version",):
            continue
        edits: list[Any] = [("set", v) for v in _SWAPS] + [("drop", None), ("extra", None)]
        for action, value in edits:
            variant = copy.deepcopy(doc)
            parent: Any = variant
            for key in path[:-1]:
                parent = parent[key]
            if action == "set":
                parent[path[-1]] = value
            elif action == "drop" and isinstance(parent, dict):
                del parent[path[-1]]
            elif action == "extra" and isinstance(parent[path[-1]], dict):
                parent[path[-1]]["champ_en_trop"] = 1
            else:
                continue
            yield {k: v for k, v in variant.items() if k != "schema_version"}


@pytest.mark.parametrize("status", [Status.AVANCE_EN_INSTRUCTION, Status.SOLDE_DECIDEE, Status.AVANCE_REJETEE])
def test_fast_and_detailed_converters_agree_on_every_single_edit(status: Status) -> None:
    # Exhaustive where the property test samples: every field, every kind of wrong value.
    for body in _variants(to_dict(examples.dossier_at(status))):
        fast, detailed = _outcome(serialization._FAST, body), _outcome(serialization._CONVERTER, body)
        assert fast[0] == detailed[0], body
        if fast[0] == "value":
            assert fast[1] == detailed[1]


def _error(doc: dict[str, Any]) -> tuple[str, str] | None:
    try:
        from_dict(doc)
    except SerializationError as exc:
        return exc.field, exc.message
    return None


@given(_documents())
def test_a_refused_document_gets_the_error_the_detailed_converter_alone_gives(doc: dict[str, Any]) -> None:
    with_fast_path = _error(doc)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serialization, "_FAST", serialization._CONVERTER)
        detailed_only = _error(doc)
    assert with_fast_path == detailed_only


@pytest.mark.parametrize("status", list(Status))
def test_every_sound_document_loads_through_the_fast_converter(status: Status) -> None:
    # If the fast path refused sound data, loads would still work (detailed fallback) but slowly:
    # this catches a fast converter that silently stopped being the one used.
    body = {k: v for k, v in to_dict(examples.dossier_at(status)).items() if k not in {"schema_version", "sceau"}}
    assert serialization._FAST.structure(body, Dossier) == examples.dossier_at(status)


# -- the journal rows' readers (history entries and e-mail records read straight into values) ------------------------
def _rows(status: Status) -> dict[str, list[Any]]:
    d = examples.dossier_at(status)
    return {"history": serialization.entries_of(d.history), "emails_sent": serialization.emails_of(d.emails_sent)}


def _careful(kind: str, raw: list[Any]) -> tuple[str, Any]:
    cls = {"history": HistoryEntry, "emails_sent": EmailRecord}[kind]
    try:
        return "value", tuple(serialization._CONVERTER.structure(item, cls) for item in raw)
    except Exception as exc:  # the kind of failure is what is compared
        return "refused", type(exc)


_READERS = {"history": lambda raw: serialization._entries_fast(raw, {}), "emails_sent": serialization._emails_fast}


@pytest.mark.parametrize("status", [Status.SOLDE_DECIDEE, Status.SOLDE_A_MODIFIER, Status.AVANCE_REJETEE])
def test_journal_row_readers_build_what_the_converter_builds_or_leave_it_to_the_converter(status: Status) -> None:
    """Every single edit of every place of a row: the fast reader gives the converter's value, or None (then the
    converter accepts or refuses it with the error naming the field); never a value the converter refuses."""
    for kind, raw in _rows(status).items():
        assert _READERS[kind](raw) == _careful(kind, raw)[1]  # the sound row: read straight
        for body in _variants({"rows": raw}):
            if "rows" not in body:
                continue
            fast, careful = _READERS[kind](body["rows"]), _careful(kind, body["rows"])
            if fast is not None:
                assert careful == ("value", fast), body


@given(st.sampled_from(list(Status)), st.data())
def test_journal_row_readers_agree_with_the_converter_on_random_edits(status: Status, data: st.DataObject) -> None:
    for kind, raw in _rows(status).items():
        doc = data.draw(_edited({"rows": raw}))
        fast, careful = _READERS[kind](doc["rows"]), _careful(kind, doc["rows"])
        if fast is not None:
            assert careful == ("value", fast)


@st.composite
def _edited(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(0, 3))):
        paths = list(_paths(doc))[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(_JSON)
    return doc
