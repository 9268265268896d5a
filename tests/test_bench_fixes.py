"""The engine changes made for the benchmarks keep the exact behaviour (hashes, history, outcome)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime, timedelta

import attrs
import jinja2
import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segur_workflow import Actor, Bloc, Controle, ControlerBloc, Role, Status, emails, examples, handle, verify_history
from segur_workflow.binding import rebuild as _rebuild
from segur_workflow.binding import rebuilder
from segur_workflow.emails import TEMPLATES
from segur_workflow.engine import DOSSIER_BINDING
from segur_workflow.history import GENESIS, append, canonical, chain_hash, link, seal
from segur_workflow.model import HistoryEntry
from segur_workflow.states import DOSSIER

texts = st.text(max_size=40)
entries = st.builds(
    HistoryEntry,
    at=st.datetimes(timezones=st.sampled_from([UTC, examples.T0.tzinfo])),
    # actor ids are identifiers: no control, format (bidi) or lone surrogate character
    actor=st.builds(Actor, st.sampled_from(Role),
                    st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs")), max_size=40).filter(str.strip)),
    trigger=texts,
    source=st.none() | st.sampled_from(Status),
    dest=st.sampled_from(Status),
    comment=st.none() | texts,
    command_id=st.none() | texts,
    details=st.dictionaries(texts, texts, max_size=4),
)


def reference(entry: HistoryEntry) -> str:
    """The canonical form as first written: generic sorted-key JSON of the entry's fields."""
    return json.dumps(
        {
            "at": entry.at.isoformat(),
            "actor": [entry.actor.role.value, entry.actor.id],
            "trigger": entry.trigger,
            "source": entry.source.value if entry.source is not None else None,
            "dest": entry.dest.value,
            "comment": entry.comment,
            "command_id": entry.command_id,
            "details": dict(entry.details),
        },
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )


@given(entries)
def test_canonical_is_byte_for_byte_the_sorted_json(entry: HistoryEntry) -> None:
    assert canonical(entry) == reference(entry)
    json.loads(canonical(entry))  # and it is JSON


def test_canonical_escapes_hostile_text() -> None:
    # (actor ids refuse control characters at construction: the hostile ones go to the comment)
    e = HistoryEntry(at=examples.T0, actor=Actor(Role.GESTIONNAIRE, 'g"\\'), trigger="t",
                     source=None, dest=Status.AVANCE_DECIDEE, comment='</script>\u2028é\n\x00"\\',
                     details={"z": "1", "a": '"'})
    assert canonical(e) == reference(e)
    assert json.loads(canonical(e))["details"] == {"a": '"', "z": "1"}


@given(entries, st.lists(entries, max_size=3))
def test_append_builds_what_seal_builds(entry: HistoryEntry, before: list[HistoryEntry]) -> None:
    history: tuple[HistoryEntry, ...] = ()
    for e in before:
        history = (*history, seal(history[-1].hash if history else GENESIS, e))
    fields = {a: getattr(entry, a) for a in ("at", "actor", "trigger", "source", "dest", "comment",
                                              "command_id", "details")}
    out = append(history, **fields)
    assert out[:-1] == history  # the old history is kept as it was
    assert out[-1] == seal(history[-1].hash if history else GENESIS, entry)
    assert out[-1].hash == chain_hash(history[-1].hash if history else GENESIS, entry)


def test_one_evolve_handle_still_records_everything() -> None:
    d = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    now = datetime(2023, 6, 1, tzinfo=UTC)
    out = handle(d, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.KO, "IBAN illisible"), now=now)
    after = out.dossier
    assert after.avance.controles[Bloc.INFORMATIONS] is Controle.KO
    assert after.history[:-1] == d.history and after.history[-1].comment == "IBAN illisible"
    assert after.date_changement_statut == d.date_changement_statut  # internal: the status did not change
    assert after.emails_sent == d.emails_sent and out.emails == ()
    assert verify_history(after)
    decided = examples.dossier_at(Status.AVANCE_DECIDEE, start_at=now, step=timedelta(minutes=5))
    assert decided.emails_sent[-1].template == "avance_decidee"
    assert decided.date_changement_statut == decided.history[-1].at
    assert verify_history(decided)


def test_loaded_dossier_shares_nothing_mutable_with_its_document() -> None:
    # upcast no longer deep-copies a current-schema document: the dossier must still own its data.
    from segur_workflow.serialization import from_dict, to_dict

    d = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    data = to_dict(d)
    loaded = from_dict(data)

    def scribble(value: object) -> None:
        if isinstance(value, dict):
            for key in list(value):
                scribble(value[key])
                value[key] = "x"
        elif isinstance(value, list):
            for item in value:
                scribble(item)
            value.append("x")

    scribble(data)
    assert loaded == d
    assert from_dict(to_dict(loaded)) == d


def test_permission_table_agrees_with_the_definitions() -> None:
    # MachineDefinition.permissions precomputes who may fire what; it must say what scanning the definition says.
    from segur_workflow.engine import permission_problem
    from segur_workflow.states import DEFINITIONS

    for definition in DEFINITIONS.values():
        for trigger in definition.triggers:
            specs = [t for t in definition.transitions if t.trigger == trigger]
            for role in Role:
                actor = Actor(role, "tndSAS0032")
                allowed = any(role in t.roles for t in specs)
                assert (permission_problem(definition, actor, trigger, None) is None) is allowed
                if allowed and role is Role.FOURNISSEUR:
                    other = permission_problem(definition, actor, trigger, "tndSAS9999")
                    assert (other is None) is not any(t.owner_only for t in specs)


def test_permission_of_a_definition_built_elsewhere() -> None:
    # A definition the engine did not precompute (a host's own) is still judged from its transitions.
    import attrs as _attrs

    from segur_workflow.engine import permission_problem
    from segur_workflow.states import COMPTE

    copy_of_compte = _attrs.evolve(COMPTE, name="compte_bis")
    assert copy_of_compte is not COMPTE
    fournisseur = Actor(Role.FOURNISSEUR, "tndSAS0032")
    assert permission_problem(copy_of_compte, fournisseur, "premiere_connexion", "tndSAS0032") is None
    assert permission_problem(copy_of_compte, fournisseur, "premiere_connexion", "autre") is not None
    assert permission_problem(copy_of_compte, fournisseur, "creer_compte", None) is not None


# -- issue 19: the e-mails' prepared rendering, one build of the dossier, the status from the lookup -----------
value_texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


@given(st.sampled_from(sorted(TEMPLATES)), st.data())
def test_prepared_rendering_is_what_jinja_renders(name: str, data: st.DataObject) -> None:
    # The fast path joins fragments taken from the compiled template; Jinja itself must say the same.
    values = {v: data.draw(value_texts, label=v) for v in TEMPLATES[name].variables}
    compiled = emails._compiled()[name]
    assert compiled.text.straight
    assert compiled.html.straight  # the package's templates are straight-line
    email = emails.render(name, to="contact@le-select.example", context=values)
    assert email.text == compiled.text.template.render(values)
    assert email.html == compiled.html.template.render(values)
    assert email.subject == emails.one_line(compiled.subject.template.render(values))


@given(value_texts)
def test_html_values_are_escaped_as_markupsafe_escapes(value: str) -> None:
    assert emails.html_text(value) == (
        markupsafe.Markup("<br>\n").join(markupsafe.escape(p) for p in re.split(r"\r\n|\r|\n", value))
    )


def test_a_template_with_logic_is_rendered_by_jinja() -> None:
    env = emails._environment()
    env.loader = jinja2.DictLoader({"t.txt": "{% if numero %}{{ numero|upper }}{% endif %} {{ date }}"})
    body = emails._Body.build(env.get_template("t.txt"), frozenset({"numero", "date"}), straight=False)
    assert not body.straight
    assert body.render({"numero": "fin", "date": "{x}"}) == "FIN {x}"
    straight = emails._Body.build(env.from_string("{a} {{ numero }}}{{ date }}"), frozenset({"numero", "date"}),
                                  straight=True)
    assert straight.render({"numero": "{0}", "date": "}"}) == "{a} {0}}}"


def test_importing_the_package_leaves_jinja_and_the_templates_alone() -> None:
    code = ("import sys, segur_workflow, segur_workflow.engine; "
            "from segur_workflow import emails; "
            "assert 'jinja2' not in sys.modules, 'jinja2 imported'; "
            "assert emails._compiled.cache_info().currsize == 0, 'templates compiled at import'")
    subprocess.run([sys.executable, "-c", code], check=True)


@given(st.sampled_from(sorted(Status)), st.sampled_from(DOSSIER.triggers))
def test_the_route_lookup_is_the_definitions(status: Status, trigger: str) -> None:
    spec = DOSSIER.resolve(status.value, trigger)
    route = DOSSIER_BINDING.routes.get((status, DOSSIER_BINDING.commands[trigger]))
    if spec is None:
        assert route is None
    else:
        assert route is not None
        assert (route.spec, route.source, route.dest) == (spec, status, Status(spec.target(status.value)))
        assert route.dest is Status(spec.target(status.value))


def test_rebuild_is_evolve_without_the_checks() -> None:
    d = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert _rebuild(d, status=Status.SOLDE_A_MODIFIER, date_changement_statut=now) == attrs.evolve(
        d, status=Status.SOLDE_A_MODIFIER, date_changement_statut=now)
    assert _rebuild(d) == d
    assert _rebuild(d) is not d
    with pytest.raises(TypeError):
        _rebuild(d, statut=Status.SOLDE_A_MODIFIER)
    with pytest.raises(TypeError):
        _rebuild(d, Status.SOLDE_A_MODIFIER)  # type: ignore[call-arg]  # fields only by name
    # the rebuilder of a class, looked up once by an effect, is the same copy
    demande = d.demande_courante
    controles = {**demande.controles, Bloc.INFORMATIONS: Controle.KO}
    assert rebuilder(type(demande))(demande, controles=controles) == attrs.evolve(demande, controles=controles)


def test_link_is_append_with_positions() -> None:
    d = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    actor, details = Actor(Role.GESTIONNAIRE, "g"), {"z": "1", "a": "\x00"}
    by_name = append(d.history, at=now, actor=actor, trigger="controler_bloc", source=d.status, dest=d.status,
                     comment="é\u2028\"", command_id=None, details=details)
    by_position = link(d.history, HistoryEntry, now, actor, "controler_bloc", d.status, d.status, "é\u2028\"", None,
                       details)
    assert by_position == by_name
    assert by_position[-1].hash == chain_hash(d.history[-1].hash, by_name[-1])


@given(st.datetimes(timezones=st.sampled_from([UTC, examples.T0.tzinfo])))
def test_dates_for_people_are_strftimes(value: datetime) -> None:
    from segur_workflow._format import PARIS, format_date

    assert format_date(value) == value.astimezone(PARIS).strftime("%d/%m/%Y")


def _walked_constats(name: str) -> list[str]:
    """What the per-character walk of a file name reports (the code before the ASCII fast path)."""
    from segur_workflow.rules._files import _bad_char

    found: list[str] = []
    for ch in name + unicodedata.normalize("NFKC", name):
        if (why := _bad_char(ch)) is not None and why not in found:
            found.append(why)
    return found


@given(st.text(st.characters(max_codepoint=127), max_size=60)
       | st.text(st.sampled_from("pv_.PDF%2f\x00\x1f\x7f/\\:*?\"<>| -é\u202e\uff0e"), max_size=30))
def test_the_ascii_fast_path_of_file_names_reports_what_the_walk_reports(name: str) -> None:
    from segur_workflow.rules._files import _name_constats

    normalised = name if name.isascii() else unicodedata.normalize("NFKC", name)
    got = _name_constats(name, normalised)
    if "%" not in name:  # the percent decoding is the same code on both paths
        assert got == _walked_constats(name)
    assert (normalised == unicodedata.normalize("NFKC", name))
