"""What every format says of a transition (who, si, vérifie, courriel), the phases' titles, the colours."""

from __future__ import annotations

import textwrap

from ..rules import RULES
from ..states import TransitionSpec
from ..vocabulary import Role

__all__ = ["COULEURS", "INITIAL_LABEL", "edge_lines", "edge_title", "edge_tooltip", "email_title", "gardes",
           "group_title", "regles", "role_label", "rule_description", "rule_scope"]

_GROUP_TITLES = {"avance": "Demande d'avance", "solde": "Demande de solde", "connexion": "Première connexion"}
#: The label of the pseudo-state before creation.
INITIAL_LABEL = "Avant le dépôt"


def rule_scope(name: str) -> str:
    # a host's machine may guard with its own rules, unknown to the package's registry: a rule on the command
    rule = RULES.get(name)
    return rule.scope if rule is not None else "command"


def rule_description(name: str) -> str:
    rule = RULES.get(name)
    return rule.description if rule is not None else name.replace("_", " ").capitalize()


def role_label(t: TransitionSpec) -> str:
    roles = " ou ".join(r.label for r in Role if r in t.roles)
    return f"{roles} (propriétaire)" if t.owner_only else roles


def gardes(t: TransitionSpec) -> tuple[str, ...]:
    """Rules that look only at the dossier: they decide whether the trigger is possible right now."""
    return tuple(g for g in t.guards if rule_scope(g) == "dossier")


def regles(t: TransitionSpec) -> tuple[str, ...]:
    """Rules that can refuse what the command carries (pieces, amounts, comments…)."""
    return tuple(g for g in t.guards if rule_scope(g) != "dossier")


def edge_title(t: TransitionSpec) -> str:
    """The first line of an edge: the transition in the process's words."""
    return t.libelle + (" (statut inchangé)" if t.internal else "")


def email_title(name: str) -> str:
    """The French title of an e-mail template ("Accusé de réception…"), or its name if unknown."""
    from ..emails import TEMPLATES  # rendering machinery loads only when a diagram names an e-mail

    spec = TEMPLATES.get(name)
    return spec.title if spec is not None else name


def edge_lines(t: TransitionSpec) -> list[str]:
    """The lines of a transition's label, shared by every format: all in the process's words.

    Who may fire it, each garde (``si :``) and each règle (``vérifie :``) by its French description, the
    e-mail by its title. Identifiers (trigger, rule and template names) are in :func:`edge_tooltip`.
    """
    lines = [edge_title(t), f"par : {role_label(t)}"]
    for g in gardes(t):
        lines += _wrap(f"si : {rule_description(g)}")
    for g in regles(t):
        lines += _wrap(f"vérifie : {rule_description(g)}")
    if t.email:
        lines += _wrap(f"courriel : {email_title(t.email)}")
    return lines


def _wrap(text: str, width: int = 56) -> list[str]:
    """``text`` cut into lines of about ``width`` characters (diagrams stay narrow); continuations indented."""
    lines = textwrap.wrap(" ".join(text.split()), width=width, break_long_words=False, break_on_hyphens=False)
    return [lines[0], *("   " + x for x in lines[1:])] if lines else [""]


def edge_tooltip(t: TransitionSpec) -> str:
    """The long form with the identifiers: trigger, description, each rule's name and description, e-mail."""
    parts = [f"{t.libelle} — déclencheur {t.trigger}"]
    if t.description:
        parts.append(t.description)
    parts += [f"{'garde' if rule_scope(g) == 'dossier' else 'règle'} {g} : {rule_description(g)}"
              for g in t.guards]
    if t.email:
        parts.append(f"courriel {t.email} : {email_title(t.email)}")
    return "\n".join(parts)


#: Colours of a highlighted dossier, shared by every format and by the legend: (fill, border, meaning).
COULEURS = {
    "courant": ("#ffd54f", "#e65100", "état courant du dossier"),
    "parcouru": ("#c8e6c9", "#2e7d32", "état par lequel le dossier est passé"),
    "prise": ("#2e7d32", "#1b5e20", "transition prise (✔ étape n : rang dans l'historique)"),
    "final": ("#eeeeee", "#424242", "état final (double bordure)"),
}


def group_title(group: str) -> str:
    return _GROUP_TITLES.get(group, group.capitalize())
