"""The renderer on its own: declarations, checks, escaping, subjects, hostile text, caching."""

from __future__ import annotations

import html
import os
import re
import unicodedata

import jinja2
import lxml.html
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from markupsafe import Markup

from segur_workflow import emails
from segur_workflow.emails import TEMPLATES, VARIABLES, example_context, html_text, one_line, render
from segur_workflow.errors import DefinitionError, InvalidInput
from segur_workflow.states import COMPTE, DOSSIER

TO = "contact@le-select.example"
UNSAFE_IN_HEADER = {"Cc", "Cf", "Cs", "Zl", "Zp"}
#: Private-use characters: never in a template nor in an example value.
SENTINEL = "\ue000SENTINELLE\ue001"

# Text a gestionnaire could type, including template syntax, markup and every kind of line break.
hostile_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(["{{ numero }}", "{% if 1 %}", "{% endif %}", "{# x #}", "<script>alert(1)</script>",
                              "</p>", "&amp;", "&", "\"'", "\r\n", "\n", "\r", "\u2028", "\x00", "\x1b[31m",
                              "{{", "}}", "é", " ", "\t", "<br>"]))
    .map("".join),
)


def _package_sources() -> dict[str, str]:
    env = emails._environment()
    assert env.loader is not None
    return {name: env.loader.get_source(env, name)[0] for name in env.list_templates()}


def _env_from(sources: dict[str, str]) -> jinja2.Environment:
    env = emails._environment()
    env.loader = jinja2.DictLoader(sources)
    return env


# -- declarations ---------------------------------------------------------------------------------------------
#: The portal account's mails (states.COMPTE); every other template is a dossier's.
COMPTE_MAILS = {t for tr in COMPTE.transitions for t in tr.emails}


def test_templates_are_those_of_the_machine() -> None:
    sent = {t.email for t in DOSSIER.transitions if t.email}
    assert set(TEMPLATES) == sent | COMPTE_MAILS
    assert sent == {
        "accuse_reception_avance", "avance_decidee", "avance_rejetee", "accuse_reception_solde", "solde_a_modifier",
        "solde_en_attente_piece", "complement_recu", "solde_decidee", "solde_rejetee",
    }
    assert {"compte_identifiant", "compte_mot_de_passe", "compte_rappel_identifiant",
                            "compte_nouveau_mot_de_passe"} == COMPTE_MAILS


def test_package_templates_match_their_declarations() -> None:
    assert emails.check_templates() == []


def test_declarations_carry_what_each_notification_needs() -> None:
    needs = {
        "avance_decidee": {"montant"}, "solde_decidee": {"montant"},
        "avance_rejetee": {"motif"}, "solde_rejetee": {"motif"},
        "solde_a_modifier": {"commentaire"}, "solde_en_attente_piece": {"piece", "commentaire"},
        "accuse_reception_avance": {"date_depot"}, "accuse_reception_solde": {"date_depot"},
    }
    needs |= {"compte_identifiant": {"identifiant"}, "compte_rappel_identifiant": {"identifiant"},
              "compte_mot_de_passe": {"mot_de_passe", "politique"},
              "compte_nouveau_mot_de_passe": {"mot_de_passe", "politique"}}
    for name, spec in TEMPLATES.items():
        common = {"lien_portail", "lien_assistance"} if name in COMPTE_MAILS else {"numero", "programme",
                                                                                    "lien_assistance"}
        assert common <= spec.variables
        assert needs.get(name, set()) <= spec.variables
        assert spec.variables <= VARIABLES.keys()


@pytest.mark.parametrize(
    ("filename", "edit", "expected"),
    [
        ("solde_decidee.txt", lambda s: s.replace("{{ montant }}", "{{ raison_sociale }}"),
         ["solde_decidee.txt : variables non déclarées ['raison_sociale']",
          "solde_decidee.txt : variables déclarées mais absentes ['montant']"]),
        ("avance_rejetee.html", lambda s: s.replace("{{ motif }}", ""),
         ["avance_rejetee.html : variables déclarées mais absentes ['motif']"]),
        ("_base.txt", lambda s: s.replace("{{ lien_assistance }}", "{{ lien }}"),
         [f"{n}.txt : {m}" for n in TEMPLATES for m in
          ("variables non déclarées ['lien']", "variables déclarées mais absentes ['lien_assistance']")]),
        ("_suivi.html", lambda s: s + "{{ mot_de_passe }}",
         [f"{n}.html : variables non déclarées ['mot_de_passe']"
          for n in ("accuse_reception_avance", "accuse_reception_solde", "complement_recu")]),
        ("complement_recu.txt", lambda s: s.replace("{% endblock %}", "{% endblok %}"), None),
    ],
)
def test_check_names_each_wrong_template(filename: str, edit: object, expected: list[str] | None) -> None:
    sources = _package_sources()
    assert callable(edit)
    sources[filename] = edit(sources[filename])
    problems = emails.check_templates(_env_from(sources))
    if expected is None:  # a syntax error is reported against the file
        assert len(problems) == 1
        assert problems[0].startswith(f"{filename} : ")
    else:
        assert sorted(problems) == sorted(expected)


def test_check_names_missing_and_stray_files() -> None:
    sources = _package_sources()
    del sources["avance_decidee.html"]
    sources["relance.txt"] = "Bonjour {{ numero }}"
    assert emails.check_templates(_env_from(sources)) == [
        "avance_decidee.html : fichier manquant",
        "relance.txt : modèle sans déclaration dans TEMPLATES",
    ]


def test_a_wrong_template_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _package_sources()
    sources["solde_rejetee.txt"] = sources["solde_rejetee.txt"].replace("{{ motif }}", "{{ motiff }}")
    broken = _env_from(sources)
    monkeypatch.setattr(emails, "_environment", lambda: broken)
    emails._compiled.cache_clear()
    try:
        with pytest.raises(DefinitionError) as info:
            emails._compiled()
        assert info.value.machine == "courriels"
        assert any("motiff" in p for p in info.value.problems)
    finally:
        monkeypatch.undo()
        emails._compiled.cache_clear()
    assert emails._compiled()  # the package's templates build again


# -- rendering with the examples -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_renders_every_declared_value(name: str) -> None:
    ctx = example_context()
    email = render(name, to=TO, context=ctx)
    assert (email.template, email.to) == (name, TO)
    prefix = "Portail Ségur numérique : " if name in COMPTE_MAILS else f"Demande de financement {ctx['numero']} : "
    assert email.subject.startswith(prefix)
    for var in TEMPLATES[name].variables:
        assert ctx[var] in email.text, var
        assert html_text(ctx[var]) in email.html, var
    for common in ("Madame, Monsieur,", "Cordialement", "L'Agence de services et de paiement.",
                   "Ce message a été généré automatiquement, merci de ne pas y répondre."):
        assert common in email.text
        assert common in email.html
    doc = lxml.html.document_fromstring(email.html)
    assert doc.get("lang") == "fr"
    links = [ctx["lien_portail"], ctx["lien_assistance"]] if name in COMPTE_MAILS else [ctx["lien_assistance"]]
    assert [a.get("href") for a in doc.iter("a")] == links
    assert "{{" not in email.text + email.html
    assert "{%" not in email.text + email.html


def test_values_unused_by_a_template_are_not_needed() -> None:
    ctx = {k: v for k, v in example_context().items() if k in TEMPLATES["complement_recu"].variables}
    assert "motif" not in ctx
    assert render("complement_recu", to=TO, context=ctx).template == "complement_recu"


def test_subjects_differ_per_notification() -> None:
    subjects = [render(n, to=TO, context=example_context()).subject for n in TEMPLATES]
    assert len(set(subjects)) == len(subjects)


# -- refusals -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("template", ["inconnu", "", "accuse_reception_avance.txt", "_base", None, 3])
def test_unknown_template_is_refused(template: object) -> None:
    with pytest.raises(InvalidInput) as info:
        render(template, to=TO, context=example_context())  # type: ignore[arg-type]
    assert info.value.parameter == "template"


@pytest.mark.parametrize("value", [None, 30000, b"FINSAS009250", ["x"]])
def test_non_text_values_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        render("avance_decidee", to=TO, context={**example_context(), "montant": value})
    assert info.value.parameter == "context['montant']"


def test_missing_value_is_refused() -> None:
    ctx = example_context()
    del ctx["commentaire"]
    with pytest.raises(InvalidInput, match="commentaire"):
        render("solde_a_modifier", to=TO, context=ctx)


@pytest.mark.parametrize("to", ["", "a@b.fr\r\nBcc: victime@x.fr", "a@b.fr\n", " a@b.fr", "a@\x00b.fr", None])
def test_recipient_that_could_inject_a_header_is_refused(to: object) -> None:
    with pytest.raises(InvalidInput) as info:
        render("complement_recu", to=to, context=example_context())  # type: ignore[arg-type]
    assert info.value.parameter == "to"


def test_markup_passed_as_a_value_is_still_escaped() -> None:
    ctx = {**example_context(), "motif": Markup("<b>gras</b>")}
    email = render("avance_rejetee", to=TO, context=ctx)
    assert "&lt;b&gt;gras&lt;/b&gt;" in email.html
    assert "<b>" not in email.html


# -- hostile text is data ------------------------------------------------------------------------------------------
def test_template_syntax_markup_and_line_breaks_render_literally() -> None:
    comment = "Voir {{ numero }} et {% for x in y %}{{ x }}{% endfor %}\n<script>alert('x')</script>\r\nfin & suite"
    email = render("solde_en_attente_piece", to=TO, context={**example_context(), "commentaire": comment})
    assert comment in email.text
    doc = lxml.html.document_fromstring(email.html)
    assert list(doc.iter("script")) == []
    quote = doc.find(".//blockquote/p")
    assert quote is not None
    assert len(quote.findall("br")) == 2
    assert quote.text_content() == comment.replace("\r\n", "\n")
    assert ("Voir {{ numero }} et {% for x in y %}{{ x }}{% endfor %}<br>\n&lt;script&gt;alert(&#39;x&#39;)"
            "&lt;/script&gt;<br>\nfin &amp; suite") in email.html


def test_long_text_is_kept_whole() -> None:
    motif = ("Motif très détaillé ; " * 5000) + "FIN"
    email = render("solde_rejetee", to=TO, context={**example_context(), "motif": motif})
    assert motif in email.text
    assert html_text(motif) in email.html


@pytest.mark.parametrize("name", list(TEMPLATES))
@given(data=st.data(), value=hostile_text)
@example(data=None, value="{{ lien_assistance }}\n{% raw %}<b>")
def test_any_value_is_substituted_as_data(name: str, data: st.DataObject | None, value: str) -> None:
    """Rendering a value = rendering a placeholder, then putting the (escaped) value in its place."""
    assume(SENTINEL not in value)
    variables = sorted(TEMPLATES[name].variables)
    var = data.draw(st.sampled_from(variables), label="variable") if data is not None else variables[-1]
    ctx = example_context()
    base = render(name, to=TO, context={**ctx, var: SENTINEL})
    email = render(name, to=TO, context={**ctx, var: value})
    assert email.text == base.text.replace(SENTINEL, value)
    assert email.html == base.html.replace(str(html_text(SENTINEL)), str(html_text(value)))
    assert email.subject == one_line(base.subject.replace(SENTINEL, value))


@given(value=hostile_text)
def test_html_text_escapes_everything_and_keeps_line_breaks(value: str) -> None:
    out = str(html_text(value))
    assert re.sub(r"<br>\n", "", out).count("<") == 0
    assert ">" not in re.sub(r"<br>\n", "", out)
    assert html.unescape(out.replace("<br>\n", "\n")) == value.replace("\r\n", "\n").replace("\r", "\n")


@given(value=hostile_text)
@example(value="FINSAS009250\r\nBcc: x@y.fr")
@example(value="a\u2028b\x85c\u202ed\ud800e")
def test_subjects_are_one_clean_line(value: str) -> None:
    for name in TEMPLATES:
        subject = render(name, to=TO, context={**example_context(), "numero": value}).subject
        assert not any(unicodedata.category(ch) in UNSAFE_IN_HEADER for ch in subject)
        assert subject == subject.strip()
        assert "  " not in subject
        assert subject.startswith("Portail Ségur numérique" if name in COMPTE_MAILS else "Demande de financement")


@given(value=hostile_text)
def test_one_line_fast_path_agrees_with_the_full_cleaning(value: str) -> None:
    slow = " ".join("".join(" " if unicodedata.category(c) in UNSAFE_IN_HEADER else c for c in value).split())
    assert one_line(value) == slow


# -- built once -------------------------------------------------------------------------------------------------
def test_templates_are_compiled_once_and_never_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    emails._compiled.cache_clear()  # start from a fresh build, whatever other tests rendered before
    compiled = emails._compiled()
    assert emails._compiled() is compiled

    def no_reading(*_args: object) -> None:
        raise AssertionError("a template file was read while rendering")

    monkeypatch.setattr(jinja2.PackageLoader, "get_source", no_reading)
    monkeypatch.setattr(jinja2.Environment, "parse", no_reading)
    monkeypatch.setattr(os.path, "getmtime", no_reading)  # how Jinja's auto_reload checks a file
    for name in TEMPLATES:
        render(name, to=TO, context=example_context())
