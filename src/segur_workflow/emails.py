"""E-mails to the provider, rendered from the package's Jinja templates (text and HTML).

One notification = one entry of :data:`TEMPLATES` (its subject and the variables it declares) and two
files in ``templates/``: ``<name>.txt`` and ``<name>.html``, both extending a shared layout
(``_base.*``). Values are data, never template: they are substituted once, escaped in HTML (with
their line breaks shown as ``<br>``), and subjects are folded onto one line without control characters.

The declarations are checked against the template sources when the templates are first needed (the
first render, or :func:`check_templates` in the tests): a template that uses an undeclared variable, or
leaves a declared one unused, refuses to build, and no e-mail goes out from it. Jinja is imported and
the templates compiled then, not when the package is imported (it was a seventh of ``import
segur_workflow``, see docs/benchmarks.md).

Rendering is cheap because each body is straight-line text: its compiled Jinja code is run once, at
build time, with a marker for each value, which gives the literal fragments between the values; a
render joins those fragments with the values prepared once (escaped for HTML). A template with any
logic (a condition, a loop, a filter…) is rendered by Jinja itself at every call. A test holds both
ways to the same output.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs
from markupsafe import Markup

from ._email import Email
from ._graph import breadth_first
from ._templates import TEMPLATES, VARIABLES, TemplateSpec, Variable
from .errors import DefinitionError, InvalidInput
from .states import DEFINITIONS

if TYPE_CHECKING:  # Jinja is imported when the templates are first built (see the module's docstring)
    import jinja2
    from jinja2 import nodes

__all__ = [
    "TEMPLATES",
    "VARIABLES",
    "Email",
    "TemplateSpec",
    "Variable",
    "check_templates",
    "example_context",
    "html_text",
    "one_line",
    "render",
]

_PACKAGE = "segur_workflow"
_FOLDER = "templates"
_FORMATS = ("txt", "html")


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
    return Markup(_html_value(value))  # noqa: S704 - escaped by _html_value


def _escape(text: str) -> str:
    # markupsafe's own escaping, character for character (a test holds it to markupsafe.escape), without
    # building a Markup per value: it was most of an e-mail's rendering.
    return (text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


#: What an HTML body's value may need changed: the five escaped characters and line breaks.
_HTML_SPECIAL = re.compile("[&<>'\"\r\n]")


def _html_value(value: str) -> str:
    if _HTML_SPECIAL.search(value) is None:
        return value  # the usual case (a number, a date, a name): one scan in C
    if "\n" not in value and "\r" not in value:
        return _escape(value)
    return "<br>\n".join(_escape(part) for part in _NEWLINE.split(value))


def _finalize(eval_ctx: nodes.EvalContext, value: object) -> object:
    # Applied to every {{ … }} output: in autoescaped (HTML) templates, no value can be forgotten.
    if eval_ctx.autoescape and isinstance(value, str) and not isinstance(value, Markup):
        return html_text(value)
    return value


# -- the environment and the compiled templates (built once) ---------------------------------------------------
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader(_PACKAGE, _FOLDER),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        finalize=jinja2.pass_eval_context(_finalize),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # package data does not change under a running process: no stat per render
    )


#: Template nodes that carry no logic: text, values, and the layout's blocks and includes.
_STRAIGHT_NODES = ("Template", "Output", "TemplateData", "Name", "Const", "Extends", "Block", "Include")


def _marker(i: int) -> str:
    # NUL never occurs in a template file nor survives into a value (values are substituted after the split)
    return f"\x00{i}\x00"


_MARKER = re.compile("\x00(\\d+)\x00")


@attrs.frozen
class _Body:
    """One compiled template, ready to render with values prepared once.

    ``head`` and ``rest`` are its straight-line output cut at each value: the literal text before the
    first value, then (variable, the literal text after it) pairs; ``rest`` is ``None`` when the
    template has logic, and Jinja renders it at every call.
    """

    template: jinja2.Template
    head: str
    rest: tuple[tuple[str, str], ...] | None

    @classmethod
    def build(cls, template: jinja2.Template, names: frozenset[str], straight: bool) -> _Body:
        if not straight:
            return cls(template, "", None)
        order = sorted(names)
        pieces = _MARKER.split(template.render({n: _marker(i) for i, n in enumerate(order)}))
        return cls(template, pieces[0], tuple((order[int(i)], text) for i, text in zip(pieces[1::2], pieces[2::2],
                                                                                      strict=True)))

    @property
    def straight(self) -> bool:
        return self.rest is not None

    def render(self, values: Mapping[str, str]) -> str:
        if self.rest is None:
            return self.template.render(values)
        out = [self.head]  # a join of the fragments: 4x faster than str.format_map of the same text
        for name, text in self.rest:
            out.append(values[name])
            out.append(text)
        return "".join(out)


@attrs.frozen
class _Compiled:
    subject: _Body
    text: _Body
    html: _Body


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

    def closure(self, name: str) -> list[str]:
        """``name`` and every template it extends or includes, transitively."""
        import jinja2.meta

        return list(breadth_first(name, lambda current: (
            (None, r) for r in jinja2.meta.find_referenced_templates(self.parse(current)) if r is not None)))

    def variables(self, name: str) -> set[str]:
        """Variables used by ``name`` and by every template it extends or includes."""
        import jinja2.meta

        used: set[str] = set()
        for current in self.closure(name):
            used |= jinja2.meta.find_undeclared_variables(self.parse(current))
        return used

    def straight(self, name: str) -> bool:
        """Whether ``name`` and everything it extends or includes is text and plain values only."""
        return all(_straight(self.parse(current)) for current in self.closure(name))


def _straight(ast: nodes.Template) -> bool:
    """Whether a parsed template holds nothing but text, plain ``{{ name }}`` values and layout nodes."""
    from jinja2 import nodes

    return all(type(node).__name__ in _STRAIGHT_NODES for node in (ast, *ast.find_all(nodes.Node)))


def check_templates(env: jinja2.Environment | None = None) -> list[str]:
    """Problems between the declarations, the template files and the machine definition (empty: fine)."""
    import jinja2
    import jinja2.meta

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
    """Every notification checked and compiled, once, when the first e-mail is rendered."""
    env = _environment()
    problems = check_templates(env)
    if problems:
        raise DefinitionError("courriels", problems)
    for part in env.list_templates():  # layouts and includes too: rendering never reads a file
        env.get_template(part)
    sources = _Sources(env)
    out = {}
    for name, spec in TEMPLATES.items():
        out[name] = _Compiled(
            _Body.build(env.from_string(spec.subject), spec.variables, _straight(env.parse(spec.subject))),
            *(_Body.build(env.get_template(f"{name}.{fmt}"), spec.variables, sources.straight(f"{name}.{fmt}"))
              for fmt in _FORMATS),
        )
    return MappingProxyType(out)


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
    c = compiled[template]
    values: dict[str, str] = {}
    html_values: dict[str, str] = {}  # the HTML body's values, escaped once each however often shown
    for name in spec.variables:
        value = context.get(name)
        if not isinstance(value, str):
            raise InvalidInput(f"context[{name!r}]", "un texte (str)", value)
        values[name] = value = str(value)  # a Markup subclass would bypass escaping: keep plain text only
        html_values[name] = _html_value(value)
    if not c.html.straight:
        html_values = values  # Jinja escapes them itself
    return Email(
        template=template,
        to=to,
        subject=one_line(c.subject.render(values)),
        text=c.text.render(values),
        html=c.html.render(html_values),
    )


def example_context() -> dict[str, str]:
    """Example values of every variable (those of the catalogue)."""
    return {name: v.example for name, v in VARIABLES.items()}
