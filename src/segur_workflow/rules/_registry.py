"""Every named rule by name, and :func:`run`. (The checks an engine makes besides the guards are rules of its
binding: :attr:`segur_workflow.binding.Binding.own_rules`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from .. import observation
from ..errors import DefinitionError, Violation
from ..states import DEFINITIONS
from ._codes import CODES, Violations
from ._framework import Rule, RuleContext
from ._guards_compte import COMPTE_RULES
from ._guards_dossier import DOSSIER_RULES

__all__ = ["RULES", "check_all", "run"]

#: Every named rule, by name. Machine definitions refer to these names as guards.
RULES: Mapping[str, Rule] = MappingProxyType({r.name: r for r in (*DOSSIER_RULES, *COMPTE_RULES)})

def run(names: Iterable[str], ctx: RuleContext, *, scope: str | None = None) -> Violations:
    """:func:`check_all` of the rules named ``names``."""
    return check_all((RULES[name] for name in names), ctx, scope=scope)


def check_all(guards: Iterable[Rule], ctx: RuleContext, *, scope: str | None = None) -> Violations:
    """Run every rule (of ``scope``, if given) and gather all violations in declaration order.

    A full run (no ``scope``: an engine judging a command) reports each rule's outcome to the
    observer of :mod:`segur_workflow.observation`, when one is installed."""
    observer = observation.current() if scope is None else None
    out: list[Violation] = []
    for rule in guards:
        if scope is None or rule.scope == scope:
            found = rule.check(ctx)
            if observer is not None:
                observer.rule(rule.name, tuple(dict.fromkeys(v.code for v in found)))
            out.extend(found)
    return tuple(out)


def _check_guards_known() -> None:
    problems = [f"code inconnu {c} (règle {r.name})" for r in RULES.values() for c in r.codes if c not in CODES]
    problems += [f"issue inatteignable inconnue {c} (règle {r.name})" for r in RULES.values()
                 for c in r.unreachable if c != "ok" and c not in r.codes]
    for definition in DEFINITIONS.values():
        unknown = {g for t in definition.transitions for g in t.guards} - set(RULES)
        problems += [f"{definition.name} : règle inconnue : {g}" for g in sorted(unknown)]
    if problems:
        raise DefinitionError("rules", problems)


_check_guards_known()

