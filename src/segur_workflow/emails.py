"""E-mails to the provider, rendered from the package's Jinja templates (text and HTML).

One notification = one entry of :data:`TEMPLATES` (its subject and the variables it declares) and two
files in ``templates/``: ``<name>.txt`` and ``<name>.html``, both extending a shared layout
(``_base.*``). Values are data, never template: they are substituted once, escaped in HTML (with
their line breaks shown as ``<br>``), and subjects are folded onto one line without control characters.

The declarations are checked against the template sources when this module is imported: a template
that uses an undeclared variable, or leaves a declared one unused, fails at import (and in the tests),
not when a gestionnaire decides a dossier.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

import attrs
import jinja2
import jinja2.meta
from jinja2 import nodes
from markupsafe import Markup, escape

from .errors import DefinitionError, InvalidInput
from .model import LIEN_PORTAIL, SAS
from .rules import POLITIQUE_MOT_DE_PASSE, POLITIQUE_MOT_DE_PASSE_ACCENTS
from .states import DEFINITIONS, INITIAL
from .vocabulary import PieceKind

_PACKAGE = "segur_workflow"
_FOLDER = "templates"
_FORMATS = ("txt", "html")


@attrs.frozen
class Email:
    """A rendered e-mail, ready to hand to the host's mailer (through the outbox)."""

    template: str
    to: str
    subject: str
    text: str
    html: str


@attrs.frozen
class Variable:
    """A value a template may show: its meaning (for the catalogue) and an example."""

    name: str
    description: str
    example: str


@attrs.frozen
class TemplateSpec:
    """One notification: its subject (a one-line Jinja template) and the variables it declares.

    ``variables`` is exactly what the text and the HTML bodies use (each of them uses all of it, so
    both carry the same information); the subject uses a subset.
    """

    name: str
    title: str
    subject: str
    variables: frozenset[str]
    description: str = ""


#: Every variable any template may declare. The engine's ``email_context`` provides them as text.
VARIABLES: Mapping[str, Variable] = MappingProxyType({
    v.name: v for v in (
        Variable("numero", "Numéro de la demande de financement.", "FINSAS009250"),
        Variable("programme", "Programme financé (du couloir).", SAS.programme),
        Variable("lien_assistance", "Lien vers le formulaire de l'assistance (du couloir).", SAS.lien_assistance),
        Variable("date_depot", "Date de dépôt de la demande (jj/mm/aaaa, heure de Paris).", "23/05/2023"),
        Variable("date", "Date de l'événement notifié (jj/mm/aaaa, heure de Paris).", "12/06/2023"),
        Variable("montant", "Montant payé, tel que le portail l'affiche (euros).", "30000"),
        Variable("motif", "Motif du rejet saisi par le gestionnaire (texte libre).",
                 "Le procès-verbal de mise en service n'est pas signé.\nMerci de vérifier les pièces déposées."),
        Variable("commentaire", "Commentaire du gestionnaire (texte libre).",
                 "Le PV de VSR est illisible.\nMerci de le déposer à nouveau, signé et daté."),
        Variable("piece", "Titre de la pièce justificative attendue.", PieceKind.PV_VSR.label),
        Variable("identifiant", "Identifiant du compte sur le portail privé.", "test.ecomplementaire"),
        Variable("mot_de_passe", "Mot de passe provisoire généré par l'hôte (à changer à la connexion).",
                 "Kp7;vX2m!q"),
        Variable("lien_portail", "Adresse du portail public (bouton « Se connecter »).", LIEN_PORTAIL),
        Variable("politique", "Règles de sécurité du mot de passe, telles que le portail les affiche.",
                 POLITIQUE_MOT_DE_PASSE + "\n" + POLITIQUE_MOT_DE_PASSE_ACCENTS),
    )
})

_COMPTE = frozenset({"lien_portail", "lien_assistance"})

_CORPS = frozenset({"numero", "programme", "lien_assistance"})

TEMPLATES: Mapping[str, TemplateSpec] = MappingProxyType({
    t.name: t for t in (
        TemplateSpec("accuse_reception_avance", "Accusé de réception de la demande d'avance",
                     "Demande de financement {{ numero }} : demande d'avance réceptionnée",
                     _CORPS | {"date_depot"},
                     "Reproduit le courriel de confirmation du guide « demande d'avance »."),
        # « validée » for the advance, « décidée » for the balance: each guide's own word (docs/decisions.md)
        TemplateSpec("avance_decidee", "Avance validée",
                     "Demande de financement {{ numero }} : demande d'avance validée",
                     _CORPS | {"date", "montant"},
                     "Demande d'avance conforme, validée : le paiement de l'avance est déclenché."),
        TemplateSpec("avance_rejetee", "Avance rejetée",
                     "Demande de financement {{ numero }} : demande d'avance rejetée",
                     _CORPS | {"date", "motif"},
                     "Demande d'avance non conforme : aucun paiement ; le motif du gestionnaire est cité."),
        TemplateSpec("accuse_reception_solde", "Accusé de réception de la demande de solde",
                     "Demande de financement {{ numero }} : demande de solde réceptionnée",
                     _CORPS | {"date_depot"},
                     "Confirmation du dépôt de la demande de solde, sur le modèle de celle de l'avance."),
        TemplateSpec("solde_a_modifier", "Solde à modifier",
                     "Demande de financement {{ numero }} : demande de solde à modifier",
                     _CORPS | {"date", "commentaire"},
                     "Le gestionnaire demande une modification ; son commentaire est cité."),
        TemplateSpec("solde_en_attente_piece", "Solde en attente de pièce justificative",
                     "Demande de financement {{ numero }} : demande de solde en attente de pièce justificative",
                     _CORPS | {"date", "piece", "commentaire"},
                     "Le gestionnaire attend une pièce précise ; son titre et le commentaire sont cités."),
        TemplateSpec("complement_recu", "Complément reçu",
                     "Demande de financement {{ numero }} : compléments de la demande de solde réceptionnés",
                     _CORPS | {"date"},
                     "Le fournisseur a complété sa demande de solde, qui repart en instruction."),
        TemplateSpec("solde_decidee", "Solde décidé",
                     "Demande de financement {{ numero }} : demande de solde décidée",
                     _CORPS | {"date", "montant"},
                     "Demande de solde conforme : le paiement du solde est déclenché."),
        TemplateSpec("solde_rejetee", "Solde rejeté",
                     "Demande de financement {{ numero }} : demande de solde rejetée",
                     _CORPS | {"date", "motif"},
                     "Demande de solde non conforme : le solde n'est pas payé ; le motif est cité."),
        # the portal account: "votre identifiant et votre mot de passe préalablement transmis par mail" (guides);
        # two mails, one with the login and one with the password, never both in one message
        TemplateSpec("compte_identifiant", "Identifiant du compte",
                     "Portail Ségur numérique : votre identifiant",
                     _COMPTE | {"identifiant"},
                     "Création du compte : l'identifiant ; le mot de passe part dans un courriel séparé."),
        TemplateSpec("compte_mot_de_passe", "Mot de passe provisoire du compte",
                     "Portail Ségur numérique : votre mot de passe provisoire",
                     _COMPTE | {"mot_de_passe", "politique"},
                     "Création du compte : le mot de passe provisoire, à changer à la première connexion."),
        TemplateSpec("compte_rappel_identifiant", "Rappel de l'identifiant",
                     "Portail Ségur numérique : rappel de votre identifiant",
                     _COMPTE | {"identifiant"},
                     "« J'ai oublié mon identifiant » : l'identifiant, à l'adresse du compte."),
        TemplateSpec("compte_nouveau_mot_de_passe", "Nouveau mot de passe provisoire",
                     "Portail Ségur numérique : votre nouveau mot de passe provisoire",
                     _COMPTE | {"mot_de_passe", "politique"},
                     "« J'ai oublié mon mot de passe » : un nouveau mot de passe provisoire, à changer à la "
                     "connexion ; la question secrète est conservée."),
    )
})


# -- safety of values -----------------------------------------------------------------------------------------
_NEWLINE = re.compile(r"\r\n|\r|\n")
# Characters that must never reach a header: controls (CR, LF, NUL, ESC…), format characters (bidi
# overrides), surrogates, and the Unicode line/paragraph separators.
_NOT_IN_HEADER = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def one_line(text: str) -> str:
    """``text`` on one line, fit for a header: unsafe characters become spaces, runs of spaces one."""
    if text.isprintable() and "  " not in text and text == text.strip():
        return text  # the usual case, checked in C; isprintable() is False for every category removed below
    cleaned = "".join(" " if unicodedata.category(ch) in _NOT_IN_HEADER else ch for ch in text)
    return " ".join(cleaned.split())


def html_text(value: str) -> Markup:
    """A value for an HTML body: escaped, each line break shown as ``<br>`` (and kept in the source)."""
    if "\n" not in value and "\r" not in value:
        return escape(value)
    return Markup("<br>\n").join(escape(part) for part in _NEWLINE.split(value))


@jinja2.pass_eval_context
def _finalize(eval_ctx: jinja2.nodes.EvalContext, value: object) -> object:
    # Applied to every {{ … }} output: in autoescaped (HTML) templates, no value can be forgotten.
    if eval_ctx.autoescape and isinstance(value, str) and not isinstance(value, Markup):
        return html_text(value)
    return value


# -- the environment and the compiled templates (built once) ---------------------------------------------------
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, _FOLDER),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package data does not change under a running process: no stat per render
    )


@attrs.frozen
class _Compiled:
    subject: jinja2.Template
    text: jinja2.Template
    html: jinja2.Template


class _Sources:
    """Parsed template files, each parsed once per check."""

    def __init__(self, env: jinja2.Environment) -> None:
        self.env = env
        self._parsed: dict[str, nodes.Template] = {}

    def parse(self, name: str) -> nodes.Template:
        if name not in self._parsed:
            assert self.env.loader is not None
            source, _filename, _uptodate = self.env.loader.get_source(self.env, name)
            self._parsed[name] = self.env.parse(source, name)
        return self._parsed[name]

    def variables(self, name: str) -> set[str]:
        """Variables used by ``name`` and by every template it extends or includes."""
        used: set[str] = set()
        todo, seen = [name], set()
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            ast = self.parse(current)
            used |= jinja2.meta.find_undeclared_variables(ast)
            todo.extend(r for r in jinja2.meta.find_referenced_templates(ast) if r is not None)
        return used


def check_templates(env: jinja2.Environment | None = None) -> list[str]:
    """Problems between the declarations, the template files and the machine definition (empty: fine)."""
    env = env or _environment()
    problems: list[str] = []
    sources = _Sources(env)
    files = set(env.list_templates())
    for spec in TEMPLATES.values():
        unknown = spec.variables - VARIABLES.keys()
        if unknown:
            problems.append(f"{spec.name} : variables déclarées inconnues {sorted(unknown)}")
        subject_used = jinja2.meta.find_undeclared_variables(env.parse(spec.subject))
        if not subject_used <= spec.variables:
            problems.append(f"{spec.name} (objet) : variables non déclarées {sorted(subject_used - spec.variables)}")
        for fmt in _FORMATS:
            filename = f"{spec.name}.{fmt}"
            if filename not in files:
                problems.append(f"{filename} : fichier manquant")
                continue
            try:
                used = sources.variables(filename)
            except jinja2.TemplateError as exc:
                problems.append(f"{filename} : {exc}")
                continue
            if used - spec.variables:
                problems.append(f"{filename} : variables non déclarées {sorted(used - spec.variables)}")
            if spec.variables - used:
                problems.append(f"{filename} : variables déclarées mais absentes {sorted(spec.variables - used)}")
    expected = {f"{n}.{fmt}" for n in TEMPLATES for fmt in _FORMATS}
    strays = sorted(f for f in files if not f.startswith("_") and f not in expected)
    problems += [f"{f} : modèle sans déclaration dans TEMPLATES" for f in strays]
    sent = {name for d in DEFINITIONS.values() for t in d.transitions for name in t.emails}
    problems += [f"{n} : envoyé par la machine mais non déclaré" for n in sorted(sent - TEMPLATES.keys())]
    problems += [f"{n} : déclaré mais envoyé par aucune transition" for n in sorted(TEMPLATES.keys() - sent)]
    return problems


@cache
def _compiled() -> Mapping[str, _Compiled]:
    env = _environment()
    problems = check_templates(env)
    if problems:
        raise DefinitionError("courriels", problems)
    for part in env.list_templates():  # layouts and includes too: rendering never reads a file
        env.get_template(part)
    return MappingProxyType({
        name: _Compiled(env.from_string(spec.subject), env.get_template(f"{name}.txt"),
                        env.get_template(f"{name}.html"))
        for name, spec in TEMPLATES.items()
    })


# -- rendering -----------------------------------------------------------------------------------------------------
def render(template: str, *, to: str, context: Mapping[str, object]) -> Email:
    """Render ``template`` for ``to`` with ``context``.

    Only the template's declared variables are read from ``context``; each must be a ``str`` (dates
    and amounts already formatted for people). Raises :class:`InvalidInput` for an unknown template,
    a missing or non-text value, or a recipient that could not be a header.
    """
    compiled = _compiled()
    spec = TEMPLATES.get(template) if isinstance(template, str) else None
    if spec is None:
        raise InvalidInput("template", "un modèle de courriel connu (" + ", ".join(TEMPLATES) + ")", template)
    if not isinstance(to, str) or not to or one_line(to) != to:
        raise InvalidInput("to", "une adresse électronique sur une ligne", to)
    values: dict[str, str] = {}
    for name in spec.variables:
        value = context.get(name)
        if not isinstance(value, str):
            raise InvalidInput(f"context[{name!r}]", "un texte (str)", value)
        values[name] = str(value)  # a Markup subclass would bypass escaping: keep plain text only
    c = compiled[template]
    return Email(
        template=template,
        to=to,
        subject=one_line(c.subject.render(values)),
        text=c.text.render(values),
        html=c.html.render(values),
    )


def example_context() -> dict[str, str]:
    """Example values of every variable (those of the catalogue)."""
    return {name: v.example for name, v in VARIABLES.items()}


# -- the catalogue page ------------------------------------------------------------------------------------------
def _senders(name: str) -> list[str]:
    out = []
    for source, spec, target in (edge for d in DEFINITIONS.values() for edge in d.edges()):
        if name in spec.emails:
            origin = "création" if source == INITIAL else f"`{source}`"
            out.append(f"`{spec.trigger}` ({origin} → `{target}`)")
    return out


def _fence(lang: str, body: str) -> list[str]:
    return [f"```{lang}", body.rstrip("\n"), "```"]


def catalogue_markdown() -> str:
    """The e-mail catalogue page of docs/ (generated; a test keeps the committed page in sync)."""
    ctx = example_context()
    lines = [
        "# Catalogue des courriels",
        "",
        "<!-- Page générée par segur_workflow.emails.catalogue_markdown() : ne pas la modifier à la main. -->",
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


# Checked and compiled at import: a broken template stops the program before any dossier is handled.
_compiled()
