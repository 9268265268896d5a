"""The JSON text: orjson where it can, ``json`` otherwise, with exactly ``json``'s results.

``to_json`` / ``from_json`` go through orjson for speed; these tests hold the text written and
the dossier read (or the error raised) to what ``json`` (the reference, used before) gives.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from segur_workflow import SerializationError, Status, examples
from segur_workflow.serialization import _ENCODER, _dumps, from_dict, from_json, to_dict, to_json

# Every character, lone surrogates and control characters included; integers beyond 64 bits.
_TEXT = st.text(st.characters(codec=None), max_size=20)
_LEAVES = st.none() | st.booleans() | st.integers() | st.integers(-(2**80), 2**80) | _TEXT
_VALUES = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                       max_leaves=12)


@given(_VALUES)
@example({"grand": 2**64, "négatif": -(2**63) - 1, "seul": "\ud800", "contrôle": "\x00\x1f\x7f\u2028\u2029"})
def test_written_text_is_what_json_writes(value: Any) -> None:
    assert _dumps(value) == _ENCODER.encode(value)


def _outcome(read: Any, text: Any) -> tuple[str, Any]:
    try:
        return "value", read(text)
    except SerializationError as exc:
        return "refused", (exc.field, exc.message)


def _json_only(text: Any) -> Any:
    """from_json as it was: json reads the text."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise SerializationError("$", f"JSON illisible ({exc})") from None
    return from_dict(data)


# What orjson refuses or reads differently from json, put where a dossier's values go.
_ODD = (2**64, -(2**63) - 1, 2**63 - 1, 2**70, 1.5, 1e300, "\ud800", None, True)


def _odd_documents(status: Status) -> Iterator[str]:
    doc = to_dict(examples.dossier_at(status))
    places: list[tuple[Any, Any]] = [(doc, "schema_version"), (doc["avance"]["pieces"]["pv_mise_en_service"], "size"),
                                     (doc, "numero"), (doc["avance"], "montant"), (doc["history"][0], "hash")]
    for parent, key in places:
        for value in _ODD:
            saved = copy.deepcopy(parent[key])
            parent[key] = value
            yield json.dumps(doc, ensure_ascii=False)
            yield json.dumps(doc)  # escaped
            parent[key] = saved
    for literal in ("NaN", "Infinity", "-Infinity", "1e400", str(2**64), "-9223372036854775809"):
        yield json.dumps(doc).replace('"size": 478', f'"size": {literal}')


@pytest.mark.parametrize("status", [Status.AVANCE_EN_INSTRUCTION, Status.SOLDE_DECIDEE])
def test_from_json_reads_or_refuses_as_json_did(status: Status) -> None:
    for text in _odd_documents(status):
        assert _outcome(from_json, text) == _outcome(_json_only, text), text


@pytest.mark.parametrize("text", ["", "{", "nul", '{"a":1,}', "[1] [2]", "\ufeff{}", '{"a":1,"a":2}', "1e400",
                                  str(2**70), b"\xff\xfe", memoryview(b"{}"), 12])
def test_unreadable_or_foreign_text_is_refused_as_json_did(text: Any) -> None:
    assert _outcome(from_json, text)[0] == "refused"
    assert _outcome(from_json, text) == _outcome(_json_only, text)


def test_bytes_are_still_read_by_json_utf16_included() -> None:
    dossier = examples.dossier_at(Status.SOLDE_DECIDEE)
    assert from_json(to_json(dossier).encode("utf-16")) == dossier
    assert from_json(to_json(dossier).encode("utf-8")) == dossier


@pytest.mark.parametrize("status", list(Status))
def test_stored_text_is_unchanged_and_reads_back(status: Status) -> None:
    dossier = examples.dossier_at(status)
    text = to_json(dossier)
    assert text == json.dumps(to_dict(dossier), ensure_ascii=False, separators=(",", ":"))
    assert from_json(text) == dossier
