"""The rules catalogue page (docs/generated/rules.md): every rule, every code with its message, every finding."""

from __future__ import annotations

from .._machines import BINDINGS
from ..model import SAS
from ..rules import CODES, RULES, Rule
from ..rules._codes import file_params
from ..sniff import CONSTATS
from ..states import DEFINITIONS

__all__ = ["rules_catalogue"]


class _Placeholders(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"‹{key}›"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def rules_catalogue() -> str:
    """The rules catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    shown = _Placeholders(file_params(SAS))

    def used_in(rule: Rule) -> list[str]:
        return sorted({f"{d.name}.{t.trigger}" for d in DEFINITIONS.values() for t in d.transitions
                       if rule.name in t.guards})

    lines = [
        "# Catalogue des règles",
        "",
        "<!-- Généré par segur_workflow.docgen (rules_catalogue) : ne pas modifier à la main. -->",
        "",
        "## Règles",
        "",
        "| règle | description | transitions | codes |",
        "|---|---|---|---|",
    ]
    for rule in RULES.values():
        codes = ", ".join(f"`{c}`" for c in rule.codes)
        lines.append(f"| `{rule.name}` | {_md(rule.description)} | {', '.join(used_in(rule))} | {codes} |")
    unreachable = [(r, code, why) for r in RULES.values() for code, why in r.unreachable.items()]
    if unreachable:
        lines += [
            "",
            "## Issues inatteignables par l'API publique",
            "",
            "Déclarées par la règle (`Rule.unreachable`) : `pytest --segur-coverage` les liste à part, "
            "sans les compter.",
            "",
            "| règle | issue | raison |",
            "|---|---|---|",
        ]
        lines += [f"| `{r.name}` | `{code}` | {_md(why)} |" for r, code, why in unreachable]
    lines += [
        "",
        "## Codes",
        "",
        "Messages du couloir SAS ; ‹…› : valeur propre au cas (pièce, montant…).",
        "",
        "| code | champ | message | règles | transitions |",
        "|---|---|---|---|---|",
    ]
    own = [(r, b.definition, ts) for b in BINDINGS.values() for r, ts in b.own_rules]
    for spec in CODES.values():
        owners = [r for r in RULES.values() if spec.code in r.codes]
        engines = [(r, d, ts) for r, d, ts in own if spec.code in r.codes]
        names = ", ".join(dict.fromkeys([*(f"`{r.name}`" for r in owners),
                                         *(f"`{r.name}` (moteur)" for r, _d, _t in engines)]))
        # a check of every command of a machine is said once for the machine (« dossier.* »)
        where = sorted({t for r in owners for t in used_in(r)}
                       | {f"{d.name}.{t}" if set(ts) < set(d.triggers) else f"{d.name}.*" for _r, d, ts in engines
                          for t in ts})
        field = spec.field.format_map(shown)
        message = spec.message.format_map(shown)
        lines.append(f"| `{spec.code}` | `{field}` | {_md(message)} | {names} | {', '.join(where)} |")
    lines += [
        "",
        "## Constats sur le contenu des pièces",
        "",
        "Ce que l'inspection d'un fichier peut relever (`Attachment.marqueurs`) et la phrase qui le dit dans",
        "le message de `piece.contenu_suspect` (`taille.depassee` donne `piece.trop_grande`).",
        "",
        "| constat | message |",
        "|---|---|",
    ]
    lines += [f"| `{key}` | {_md(text)} |" for key, text in CONSTATS.items()]
    return "\n".join(lines) + "\n"
