"""The e-mail catalogue page (docs/generated/emails.md): each template rendered with the example values."""

from __future__ import annotations

from ..emails import TEMPLATES, VARIABLES, example_context, one_line, render
from ..states import DEFINITIONS, INITIAL

__all__ = ["emails_catalogue"]


def _senders(name: str) -> list[str]:
    out = []
    for source, spec, target in (edge for d in DEFINITIONS.values() for edge in d.edges()):
        if name in spec.emails:
            origin = "création" if source == INITIAL else f"`{source}`"
            out.append(f"`{spec.trigger}` ({origin} → `{target}`)")
    return out


def _fence(lang: str, body: str) -> list[str]:
    return [f"```{lang}", body.rstrip("\n"), "```"]


def emails_catalogue() -> str:
    """The e-mail catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    ctx = example_context()
    lines = [
        "# Catalogue des courriels",
        "",
        "<!-- Page générée par segur_workflow.docgen (emails_catalogue) : ne pas la modifier à la main. -->",
        "",
        "Chaque courriel envoyé au fournisseur, rendu avec les valeurs d'exemple ci-dessous : objet, variables,",
        "transitions qui l'envoient, texte brut et HTML. Les modèles sont dans `src/segur_workflow/templates/` ;",
        "les choix sont expliqués dans [Courriels](../emails.md).",
        "",
        "| Modèle | Notification | Envoyé par |",
        "|---|---|---|",
    ]
    lines += [f"| [`{s.name}`](#{s.name}) | {s.title} | {', '.join(_senders(s.name))} |"
              for s in TEMPLATES.values()]
    for spec in TEMPLATES.values():
        email = render(spec.name, to="contact@le-select.example", context=ctx)
        lines += [
            "",
            f"## {spec.name}",
            "",
            f"**{spec.title}.** {spec.description}",
            "",
            "- Envoyé par : " + ", ".join(_senders(spec.name)),
            f"- Objet : « {email.subject} »",
            "",
            "| Variable | Sens | Exemple |",
            "|---|---|---|",
        ]
        for name in sorted(spec.variables):
            v = VARIABLES[name]
            example = one_line(v.example).replace("|", "\\|")
            lines.append(f"| `{name}` | {v.description} | {example} |")
        lines += ["", "Texte :", "", *_fence("text", email.text), "", "HTML :", "", *_fence("html", email.html)]
    return "\n".join(lines) + "\n"

