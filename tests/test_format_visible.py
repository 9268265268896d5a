"""``_format.visible``: the one way untrusted text from a dossier is shown (terminal, exports)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from segur_workflow._format import visible
from segur_workflow.cli._common import clean

_HIDDEN = {"Cc", "Cf", "Cs"}


@given(st.text(st.characters(codec=None)))
def test_nothing_hidden_survives_and_nothing_else_changes(text: str) -> None:
    shown = visible(text)
    assert not any(unicodedata.category(ch) in _HIDDEN for ch in shown)
    if not any(unicodedata.category(ch) in _HIDDEN for ch in text):
        assert shown == text
    shown.encode("utf-8")  # a lone surrogate would make every writer fail


@given(st.text(st.characters(codec=None)))
def test_a_terminal_line_stays_one_line(text: str) -> None:
    line = clean(text)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert not any(unicodedata.category(ch) in _HIDDEN for ch in line)


def test_examples() -> None:
    assert visible("LE SELECT") == "LE SELECT"
    assert visible("a\x1b[31mb") == "a\\x1b[31mb"
    assert visible("pdf\u202egnp") == "pdf\\x202egnp"  # a right-to-left override is shown, not obeyed
    assert visible("x\ud800") == "x\\xd800"
    assert visible("a\nb") == "a\\x0ab" and clean("a\nb\tc") == "a b c"
