"""E-mails to the provider, rendered from the package's Jinja templates (text and HTML)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

import attrs
import jinja2


@attrs.frozen
class Email:
    """A rendered e-mail, ready to hand to the host's mailer (through the outbox)."""

    template: str
    to: str
    subject: str
    text: str
    html: str


@attrs.frozen
class TemplateSpec:
    name: str
    subject: str
    variables: frozenset[str]
    description: str = ""


_COMMON = frozenset({"numero", "programme", "lien_assistance", "date"})

TEMPLATES: Mapping[str, TemplateSpec] = MappingProxyType({
    t.name: t for t in (
        TemplateSpec("accuse_reception_avance", "Demande de financement {numero} : accusé de réception",
                     _COMMON | {"date_depot"}),
        TemplateSpec("avance_decidee", "Demande de financement {numero} : avance décidée", _COMMON | {"montant"}),
        TemplateSpec("avance_rejetee", "Demande de financement {numero} : demande d'avance rejetée",
                     _COMMON | {"motif"}),
        TemplateSpec("accuse_reception_solde", "Demande de financement {numero} : demande de solde reçue",
                     _COMMON | {"date_depot"}),
        TemplateSpec("solde_a_modifier", "Demande de financement {numero} : demande de solde à modifier",
                     _COMMON | {"commentaire"}),
        TemplateSpec("solde_en_attente_piece", "Demande de financement {numero} : pièce justificative attendue",
                     _COMMON | {"commentaire", "piece"}),
        TemplateSpec("complement_recu", "Demande de financement {numero} : complément reçu", _COMMON),
        TemplateSpec("solde_decidee", "Demande de financement {numero} : solde décidé", _COMMON | {"montant"}),
        TemplateSpec("solde_rejetee", "Demande de financement {numero} : demande de solde rejetée",
                     _COMMON | {"motif"}),
    )
})


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("segur_workflow", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render(template: str, *, to: str, context: Mapping[str, object]) -> Email:
    """Render ``template`` for ``to`` with ``context`` (only the template's declared variables)."""
    spec = TEMPLATES[template]
    values = {k: context[k] for k in spec.variables}
    env = _environment()
    text = env.get_template(f"{template}.txt").render(values)
    html = env.get_template(f"{template}.html").render(values)
    subject = _one_line(spec.subject.format(numero=values["numero"]))
    return Email(template=template, to=to, subject=subject, text=text, html=html)


def catalogue_markdown() -> str:
    """The e-mail catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    lines = ["# Catalogue des courriels", ""]
    for spec in TEMPLATES.values():
        lines += [f"## `{spec.name}`", "", f"Objet : {spec.subject}", ""]
    return "\n".join(lines)
