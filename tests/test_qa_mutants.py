"""Tests written from the surviving mutants of `make mutation` (docs/qa.md, "Tests de mutation").

Each one pins a behaviour a mutant changed without any other test noticing: the exact parameter named by
an InvalidInput, the definition checks that run only at import, the obfuscated-scheme detection.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import segur_workflow as sw
from segur_workflow import examples, rules
from segur_workflow.errors import DefinitionError
from segur_workflow.states import MachineDefinition, StateSpec, TransitionSpec
from segur_workflow.vocabulary import Role


def _bad(value: object) -> Any:
    return value


@pytest.mark.parametrize(("args", "parameter", "expected"), [
    ((examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION), "gestionnaire"), "actor", "un Actor"),
    (("FINSAS000001", examples.GESTIONNAIRE), "dossier", "un Dossier"),
    ((examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION), examples.GESTIONNAIRE, "SAS"), "corridor", "un Corridor"),
])
def test_allowed_commands_names_the_wrong_argument(args: tuple[Any, ...], parameter: str, expected: str) -> None:
    with pytest.raises(sw.InvalidInput) as err:
        sw.allowed_commands(*(_bad(a) for a in args))
    assert (err.value.parameter, err.value.expected) == (parameter, expected)


def test_allowed_commands_evaluates_the_dossier_guards_only() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    # blocs not all OK and none KO: neither decider nor demander_modification, the rest is open
    assert sw.allowed_commands(dossier, examples.GESTIONNAIRE) == {"controler_bloc", "rejeter", "demander_piece"}
    assert sw.allowed_commands(dossier, examples.owner(dossier)) == frozenset()


# -- the checks that run once, at import ------------------------------------------------------------------------
def _rule(**changes: Any) -> rules.Rule:
    return rules.Rule(**{"name": "essai", "description": "Règle d'essai.", "check": lambda _c: (), **changes})


@pytest.mark.parametrize(("rule", "message"), [
    (_rule(codes=("pas.un.code",)), "code inconnu pas.un.code (règle essai)"),
    (_rule(codes=("motif.requis",), unreachable={"motif.trop_long": "…"}),
     "issue inatteignable inconnue motif.trop_long (règle essai)"),
])
def test_unknown_codes_of_a_rule_are_refused(monkeypatch: pytest.MonkeyPatch, rule: rules.Rule, message: str) -> None:
    monkeypatch.setattr(rules, "RULES", {**rules.RULES, rule.name: rule})
    with pytest.raises(DefinitionError) as err:
        rules._check_guards_known()
    assert message in str(err.value)


def test_a_declared_unreachable_ok_or_code_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = _rule(codes=("motif.requis",), unreachable={"ok": "toujours refusée", "motif.requis": "…"})
    monkeypatch.setattr(rules, "RULES", {**rules.RULES, rule.name: rule})
    rules._check_guards_known()
    assert dict(rule.unreachable) == {"ok": "toujours refusée", "motif.requis": "…"}
    with pytest.raises(TypeError):
        rule.unreachable["x"] = "y"  # type: ignore[index]


def test_a_guard_naming_no_rule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = MachineDefinition(
        name="essai", title="Essai",
        states=(StateSpec("a", "A", final=True),),
        transitions=(TransitionSpec("creer", (), "a", frozenset({Role.SYSTEME}), guards=("regle_absente",)),),
    )
    monkeypatch.setattr(rules, "DEFINITIONS", {"essai": machine})
    with pytest.raises(DefinitionError) as err:
        rules._check_guards_known()
    assert "essai : règle inconnue : regle_absente" in str(err.value)


def test_unknown_engine_codes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "ENGINE_CODES", {**rules.ENGINE_CODES, "pas.un.code": ("dossier.*",)})
    with pytest.raises(DefinitionError, match=r"code inconnu pas\.un\.code"):
        rules._check_guards_known()


@pytest.mark.parametrize(("required", "text", "codes"), [
    (True, "  ", ("motif.requis",)), (False, "  ", ()), (True, "x" * (rules.MAX_TEXT + 1), ("motif.trop_long",)),
    (True, "Non conforme.", ()),
])
def test_the_text_rule_factory(required: bool, text: str, codes: tuple[str, ...]) -> None:
    check = rules._text("motif", required=required)
    ctx = rules.RuleContext(command=sw.Rejeter(examples.GESTIONNAIRE, text))
    assert tuple(v.code for v in check(ctx)) == codes
    assert all(v.field == "motif" for v in check(ctx))


@pytest.mark.parametrize(("text", "dangerous"), [
    ("javascript:alert(1)", True), ("java\tscript:alert(1)", True), ("j\na\rv\x01ascript :x", False),
    ("java\u200bscript:x", True), ("javascript\t:x", True), ("DATA:text/html,x", True), ("file:///etc", True),
    ("monjavascript:x", False), ("https://support.example.fr/javascript", False), ("javascript", False),
])
def test_scheme_patterns_see_through_separators(text: str, dangerous: bool) -> None:
    assert rules.has_dangerous_link(text) is dangerous


@pytest.mark.parametrize(("text", "matches"), [
    ("javascript:", True), ("j\ta\nv\ra\x00s\u200bc\u202eript\ufeff:", True), ("data:", False),
    ("javascrip:", False), ("java script:", False), ("javascript", False), ("JAVASCRIPT:", False),
])
def test_a_scheme_pattern_allows_only_invisible_separators(text: str, matches: bool) -> None:
    assert (re.fullmatch(rules._scheme("javascript"), text) is not None) is matches
