"""Each diagram format is checked by its real consumer.

* DOT: Graphviz ``dot`` parses it and gives back (``-Tjson``) the nodes, clusters and edges it read.
* Mermaid: the ``mermaid`` npm package (under jsdom) parses it and gives back the relations it read.
* SCXML: SCION, an independent SCXML interpreter, loads it, lists the transitions it read, and runs
  one event sequence per edge of our definition: the state it ends in must be our target.

A missing consumer skips locally and fails under CI (``CI=true``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segur_workflow import (
    COMPTE,
    DOSSIER,
    MachineDefinition,
    Status,
    TransitionNotAllowed,
    WorkflowError,
    examples,
    handle,
)
from segur_workflow import diagrams as D
from segur_workflow.rules import RULES
from segur_workflow.states import INITIAL, StateSpec, TransitionSpec
from segur_workflow.vocabulary import Role

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MACHINES = (DOSSIER, COMPTE)
#: The formats that give text, from the registry (a new one is tested without editing this file).
TEXT_FORMATS = tuple(r.name for r in D.RENDERERS.values() if not r.binary)

NASTY = (
    'Il a dit "non" ; l\'été',
    "« guillemets » et apostrophe’s",
    "accents éàçœ — %% pas un commentaire",
    "<script>alert(1)</script> & #quot; {accolade} [*] --> x",
    "ligne 1\nligne 2\ttab \\ backslash | pipe `tick`",
)


def _missing(what: str) -> None:
    message = f"consommateur absent : {what} (installé par scripts/setup.d/ ; lancez `make test`)"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def dot_exe() -> str:
    exe = shutil.which("dot")
    if exe is None:
        _missing("Graphviz `dot` (paquet Debian graphviz)")
    assert exe is not None
    return exe


#: The Mermaid releases every text must parse on: npm aliases of tools/package.json, pinned by its lockfile.
#: 10.9 and 11.4 are what forges and editor previews embed; "mermaid" is the newest.
MERMAID_RELEASES = tuple(n for n in json.loads((TOOLS / "package.json").read_text(encoding="utf-8"))["dependencies"]
                         if n == "mermaid" or n.startswith("mermaid-"))


@pytest.fixture(scope="module")
def node_tools() -> Path:
    if shutil.which("node") is None or not all((TOOLS / "node_modules" / r).is_dir() for r in MERMAID_RELEASES):
        _missing("Node.js et tools/node_modules (npm ci dans tools/)")
    return TOOLS


def hostile_definition() -> MachineDefinition:
    """A machine whose every human text is hostile; rule names and triggers stay real identifiers."""
    f = frozenset({Role.FOURNISSEUR})
    return MachineDefinition(
        name="hostile",
        title=NASTY[0],
        states=(
            StateSpec("un", NASTY[1], NASTY[2], description=NASTY[3]),
            StateSpec("deux", NASTY[3], NASTY[2]),
            StateSpec("fin", NASTY[4], None, final=True, description=NASTY[0]),
        ),
        transitions=(
            TransitionSpec("creer", (), "un", f, guards=("motif_requis",), description=NASTY[3]),
            TransitionSpec("noter", ("un",), None, f, guards=("blocs_tous_ok", "commentaire_borne")),
            TransitionSpec("avancer", ("un",), "deux", f, email="avance_decidee", description=NASTY[4]),
            TransitionSpec("finir", ("deux",), "fin", frozenset(Role), owner_only=True),
        ),
    )


ALL = (*MACHINES, hostile_definition())


def edges(d: MachineDefinition) -> set[tuple[str, str, str]]:
    return {(src, t.trigger, dst) for src, t, dst in d.edges()}


def path_to(d: MachineDefinition, state: str) -> list[str]:
    """Shortest list of triggers from the initial pseudo-state to ``state`` (breadth first)."""
    todo: deque[tuple[str, list[str]]] = deque([(INITIAL, [])])
    seen = {INITIAL}
    while todo:
        here, path = todo.popleft()
        if here == state:
            return path
        for src, t, dst in d.edges():
            if src == here and dst not in seen:
                seen.add(dst)
                todo.append((dst, [*path, t.trigger]))
    raise AssertionError(f"{state} inaccessible")


@pytest.fixture(scope="module")
def highlighted() -> Any:
    return examples.dossier_at(Status.SOLDE_A_MODIFIER)


# -- DOT, read back by Graphviz ---------------------------------------------------------------------
def dot_json(exe: str, text: str) -> dict[str, Any]:
    proc = subprocess.run([exe, "-Tjson"], input=text.encode(), capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert not proc.stderr.strip(), proc.stderr.decode()  # no warning either
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.mark.parametrize("d", ALL, ids=lambda d: d.name)
def test_graphviz_reads_our_states_clusters_and_edges(dot_exe: str, d: MachineDefinition) -> None:
    data = dot_json(dot_exe, D.to_dot(d))
    objects = data["objects"]
    nodes = {o["_gvid"]: o for o in objects if "nodes" not in o}
    clusters = [o for o in objects if "nodes" in o]
    ids = {v: k for k, v in D.state_ids(d).items()}  # graphviz name -> our state name
    read = {(ids[nodes[e["tail"]]["name"]], ids[nodes[e["head"]]["name"]]) for e in data["edges"]}
    assert read == {(src, dst) for src, _t, dst in edges(d)}
    assert len(data["edges"]) == len(list(d.edges()))
    # one cluster per phase, holding exactly that phase's states
    groups = {s.group for s in d.states if s.group is not None}
    assert len(clusters) == len(groups)
    for c in clusters:
        members = {ids[nodes[i]["name"]] for i in c["nodes"]}
        (group,) = {d.state(m).group for m in members}
        assert members == {s.name for s in d.states if s.group == group}
    finals = {ids[o["name"]] for o in nodes.values() if o.get("peripheries") == "2"}
    assert finals == d.final_states
    # every edge is labelled in words; its identifiers are in its tooltip and its id
    by_pair: dict[tuple[str, str], set[str]] = {}
    for src, t, dst in d.edges():
        by_pair.setdefault((src, dst), set()).add(t.trigger)
    for e in data["edges"]:
        pair = (ids[nodes[e["tail"]]["name"]], ids[nodes[e["head"]]["name"]])
        (trigger,) = [t for t in by_pair[pair] if f"déclencheur {t}" in e["tooltip"]]
        spec = next(t for src, t, dst in d.edges() if (src, dst) == pair and t.trigger == trigger)
        assert D.html_escape(D.edge_title(spec)) in e["label"]
        assert e["id"] == f"{trigger}__{nodes[e['tail']]['name']}"


def test_graphviz_sees_the_highlighted_path(dot_exe: str, highlighted: Any) -> None:
    data = dot_json(dot_exe, D.to_dot(highlight=highlighted))
    nodes = {o["_gvid"]: o for o in data["objects"] if "nodes" not in o}
    current = [o["name"] for o in nodes.values() if o.get("fillcolor") == "#ffd54f"]
    assert current == ["solde_a_modifier"]
    taken = {(nodes[e["tail"]]["name"], nodes[e["head"]]["name"])
             for e in data["edges"] if e.get("color") == "#2e7d32"}
    expected = {("debut" if h.source is None else h.source.value, h.dest.value) for h in highlighted.history}
    assert taken == expected
    # avance: deposit + the portal's 2 controls + 1 control + decider; solde: deposit + the portal's bank
    # control (its placeholder amount is not vouched for), 1 KO control, request
    assert len(highlighted.history) == 9


@pytest.mark.parametrize("fmt", [r.name for r in D.RENDERERS.values() if r.binary])
def test_svg_and_png_are_rendered_by_graphviz(dot_exe: str, fmt: str, highlighted: Any) -> None:
    out = D.diagram("dossier", fmt, highlight=highlighted)
    assert isinstance(out, bytes)
    if fmt == "svg":
        assert b"<svg" in out
        assert b"A modifier" in out
    else:
        assert out.startswith(b"\x89PNG\r\n\x1a\n")


def test_missing_graphviz_names_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on the PATH
    assert D.dot_command() is None
    with pytest.raises(D.GraphvizMissing) as err:
        D.diagram("dossier", "svg")
    assert "graphviz" in err.value.message
    assert err.value.code == "diagramme.graphviz_absent"
    assert isinstance(err.value, WorkflowError)
    # text formats do not need Graphviz
    assert str(D.diagram("dossier", "dot")).startswith("digraph")


def test_graphviz_failure_is_a_workflow_error(dot_exe: str) -> None:
    with pytest.raises(D.GraphvizFailed, match="Graphviz a échoué"):
        D.render_dot("digraph { a -> }", "svg")


# -- Mermaid, read back by the mermaid package ------------------------------------------------------
def mermaid_parse(tools: Path, tmp: Path, texts: dict[str, str],
                  releases: tuple[str, ...] = MERMAID_RELEASES) -> dict[str, dict[str, dict[str, Any]]]:
    """Every text parsed by each release (default: every pinned one): ``{release: {name: result}}``."""
    files = []
    for name, text in texts.items():
        p = tmp / f"{name}.mmd"
        p.write_text(text, encoding="utf-8")
        files.append(str(p))
    proc = subprocess.run(["node", str(tools / "check-mermaid.mjs"), f"--release={','.join(releases)}", *files],
                          capture_output=True, text=True, check=False, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(files) * len(releases), proc.stderr
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        out.setdefault(r["release"], {})[Path(r["file"]).stem] = r
    return out


def test_the_pinned_mermaid_releases_are_the_ones_forges_embed(node_tools: Path, tmp_path: Path) -> None:
    parsed = mermaid_parse(node_tools, tmp_path, {"compte": D.to_mermaid("compte")})
    versions = {release: r["compte"]["version"] for release, r in parsed.items()}
    majors = sorted(tuple(int(x) for x in v.split(".")[:2]) for v in versions.values())
    assert majors[0] == (10, 9) and majors[1] == (11, 4), versions
    assert majors[2] >= (11, 13), versions  # the newest, which accepts what the older ones refuse


def _title_of(label: str) -> str:
    """The first line of a relation label read back by Mermaid (not the step marker), entities undone."""
    lines = [x for x in re.split(r"<br\s*/?>", label) if not x.startswith("✔")]
    return _unmermaid(lines[0])


def titled_edges(d: MachineDefinition) -> set[tuple[str, str, str]]:
    return {(src, " ".join(D.edge_title(t).split()), dst) for src, t, dst in d.edges()}


@pytest.mark.parametrize("release", MERMAID_RELEASES)
def test_mermaid_parses_every_diagram_and_reads_our_transitions(
    node_tools: Path, tmp_path: Path, highlighted: Any, release: str
) -> None:
    texts = {d.name: D.to_mermaid(d) for d in ALL}
    texts["surligne"] = D.to_mermaid(highlight=highlighted)
    results = mermaid_parse(node_tools, tmp_path, texts, (release,))[release]
    for name, r in results.items():
        assert r["ok"], (name, r.get("error"))
        assert r["diagramType"] == "stateDiagram"
    for d in ALL:
        ids = {v: k for k, v in D.state_ids(d).items()}
        read = set()
        final_marks = set()
        for rel in results[d.name]["relations"]:
            if rel["from"] == "root_start":
                read.add((INITIAL, _title_of(rel["label"]), ids[rel["to"]]))
            elif rel["to"].endswith("_end"):
                final_marks.add(ids[rel["from"]])
            else:
                read.add((ids[rel["from"]], _title_of(rel["label"]), ids[rel["to"]]))
        assert read == titled_edges(d)  # each edge, in the process's words
        assert final_marks == d.final_states
        # labels survive the escaping, and each state sits in its phase's composite state
        states = {s["id"]: s for s in results[d.name]["states"]}
        for s in d.states:
            seen = states[D.state_ids(d)[s.name]]
            assert _unmermaid(seen["description"]) == " ".join(s.label.split())
            parent = seen["parent"]
            assert (parent is None) == (s.group is None)
            if parent is not None:
                assert _unmermaid(states[parent]["description"]) == " ".join(D.group_title(s.group or "").split())
    marked = [r for r in results["surligne"]["relations"] if (r["label"] or "").startswith("✔")]
    assert len(marked) == len({(h.source, h.trigger, h.dest) for h in highlighted.history})


def _unmermaid(text: str) -> str:
    """Undo Mermaid's entity placeholders (``#quot;`` is read as ``ﬂ°°quot¶ß``, ``#35;`` as ``ﬂ°°35¶ß``)."""
    named = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return chr(int(code)) if code.isdigit() else named[code]

    return re.sub(r"ﬂ°°?(\w+)¶ß", one, text)


def test_mermaid_parser_does_reject_broken_text(node_tools: Path, tmp_path: Path) -> None:
    """The consumer can fail: an unescaped quote in a state label is refused."""
    broken = D.to_mermaid().replace('state "Validée"', 'state "Val"idée"')
    for release, results in mermaid_parse(node_tools, tmp_path, {"casse": broken}).items():
        assert not results["casse"]["ok"], release


def test_old_mermaid_refuses_the_unescaped_colon_we_escape(node_tools: Path, tmp_path: Path) -> None:
    """Why colons are entities: 10.9 and 11.4 refuse a second ':' in a transition label."""
    raw = "stateDiagram-v2\n    a --> b : Décider<br/>par : Gestionnaire\n"
    escaped = "stateDiagram-v2\n    a --> b : " + D.mermaid_escape("Décider") + "<br/>" + D.mermaid_escape(
        "par : Gestionnaire") + "\n"
    parsed = mermaid_parse(node_tools, tmp_path, {"brut": raw, "echappe": escaped})
    assert not parsed["mermaid-10"]["brut"]["ok"]
    assert not parsed["mermaid-11-4"]["brut"]["ok"]
    assert all(r["echappe"]["ok"] for r in parsed.values())


# -- SCXML, loaded and run by SCION -----------------------------------------------------------------
def scion(tools: Path, tmp: Path, scxml: str, runs: list[list[str]]) -> dict[str, Any]:
    doc, runs_file = tmp / "machine.scxml", tmp / "runs.json"
    doc.write_text(scxml, encoding="utf-8")
    runs_file.write_text(json.dumps(runs), encoding="utf-8")
    proc = subprocess.run(["node", str(tools / "check-scxml.cjs"), str(doc), str(runs_file)], capture_output=True,
                          text=True, check=False, timeout=120)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


SW = "{" + D.SW_NS + "}"


@pytest.mark.parametrize("d", ALL, ids=lambda d: d.name)
def test_scion_reads_and_runs_our_transitions(node_tools: Path, tmp_path: Path, d: MachineDefinition) -> None:
    runs = [[*path_to(d, src), t.trigger] for src, t, _dst in d.edges()]
    data = scion(node_tools, tmp_path, D.to_scxml(d), runs)
    assert data["ok"], data
    read = {(t["source"], t["event"], t["target"]) for t in data["transitions"]}
    assert read == edges(d)  # every transition has a target: no targetless type="internal"
    assert all(tr["type"] in (None, "external") for tr in data["transitions"])
    internal = {(t["source"], t["event"]) for t in data["transitions"] if t["attrs"].get(SW + "interne") == "true"}
    assert internal == {(src, t.trigger) for src, t, _ in d.edges() if t.internal}
    states = {s["id"]: s for s in data["states"]}
    assert {i for i, s in states.items() if s["type"] == "final"} == d.final_states
    for s in d.states:
        assert states[s.name]["attrs"][SW + "libelle"] == s.label  # hostile text survives intact
        parent = states[s.name]["parent"]
        if s.final:  # top level, so that entering it ends the session; its phase is an attribute
            assert parent is None
            assert states[s.name]["attrs"].get(SW + "phase") == s.group
            continue
        assert (parent is None) == (s.group is None)
        if parent is not None:
            assert states[parent]["attrs"][SW + "libelle"] == D.group_title(s.group or "")
    by_edge = {(t["source"], t["event"]): t for t in data["transitions"]}
    for src, t, _ in d.edges():
        attrs = by_edge[(src, t.trigger)]["attrs"]
        assert attrs.get(SW + "regles", "").split() == list(t.guards)
        assert set(attrs[SW + "roles"].split()) == {r.value for r in t.roles}
    # behaviour: each run ends in our target, and in a final configuration exactly when the target is final
    for (src, _t, dst), run in zip(d.edges(), data["runs"], strict=True):
        assert run["configurations"][-2] == [src], run
        assert run["configurations"][-1] == [dst], run
        assert run["final"] == (dst in d.final_states)


def test_scion_refuses_a_broken_document(node_tools: Path, tmp_path: Path) -> None:
    broken = D.to_scxml().replace('target="avance_decidee"', 'target="nulle_part"')
    data = scion(node_tools, tmp_path, broken, [["deposer_avance", "decider"]])
    assert not data["ok"]
    assert "nulle_part" in data["error"]


# -- SCXML run by two interpreters along random event walks, against our engine ------------------------
def engine_walks(count: int, length: int, seed: int = 15) -> list[tuple[list[str], list[str]]]:
    """Random walks through the engine: (events, status after each event).

    Each walk starts with the example deposit (its history: deposit and the portal's own controls), then
    draws triggers at random among all of the definition's: a trigger the status allows is fired through
    ``handle`` (with the preparatory controls ``commands_to_fire`` adds, which are events too); one it does
    not allow is refused by the engine and must be ignored by the interpreters, the status unchanged.
    """
    rng = random.Random(seed)
    walks = []
    for _ in range(count):
        dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
        events = [e.trigger for e in dossier.history]
        statuses = [e.dest.value for e in dossier.history]
        now = dossier.date_changement_statut
        for _step in range(length):
            trigger = rng.choice(DOSSIER.triggers)
            if trigger not in DOSSIER.triggers_from(dossier.status.value):
                with contextlib.suppress(ValueError):  # no example command for it here: the definition says
                    command = examples.commands_to_fire(dossier, trigger)[-1]
                    with pytest.raises(TransitionNotAllowed):
                        handle(dossier, command, now=now + timedelta(minutes=1))
                events.append(trigger)
                statuses.append(dossier.status.value)
                continue
            for command in examples.commands_to_fire(dossier, trigger):
                now += timedelta(minutes=1)
                dossier = handle(dossier, command, now=now).dossier
                events.append(command.trigger)
                statuses.append(dossier.status.value)
        walks.append((events, statuses))
    return walks


WALKS = engine_walks(count=30, length=16)


def test_walks_reach_every_status_and_every_edge() -> None:
    """The random walks are worth comparing: together they visit every status and fire every edge."""
    seen_status = {st for _events, statuses in WALKS for st in statuses}
    assert seen_status == set(DOSSIER.state_names)
    fired = {step for events, statuses in WALKS for step in zip([INITIAL, *statuses], events, statuses, strict=False)}
    assert edges(DOSSIER) <= fired


def _atomic(d: MachineDefinition, configuration: Any) -> list[str]:
    names = {INITIAL, *d.state_names}
    return sorted(str(s) for s in configuration if str(s) in names)


def test_scion_follows_the_engine_and_terminates_in_final_statuses(node_tools: Path, tmp_path: Path) -> None:
    data = scion(node_tools, tmp_path, D.to_scxml(), [events for events, _ in WALKS])
    assert data["ok"], data
    for (events, statuses), run in zip(WALKS, data["runs"], strict=True):
        assert run["configurations"][0] == [INITIAL]
        assert [_atomic(DOSSIER, c) for c in run["configurations"][1:]] == [[st] for st in statuses], events
        assert run["final"] == (statuses[-1] in DOSSIER.final_states)


@pytest.mark.parametrize("d", MACHINES, ids=lambda d: d.name)
def test_python_statemachine_loads_and_runs_every_edge(d: MachineDefinition) -> None:
    processor = pytest.importorskip("statemachine.io.scxml.processor")
    for src, t, dst in d.edges():
        proc = processor.SCXMLProcessor()
        proc.parse_scxml(d.name, D.to_scxml(d))
        sm = proc.start()
        for trigger in path_to(d, src):
            sm.send(trigger)
        assert _atomic(d, sm.configuration_values) == [src]
        sm.send(t.trigger)
        assert _atomic(d, sm.configuration_values) == [dst], (src, t.trigger)
        assert sm.is_terminated == (dst in d.final_states)


def test_python_statemachine_follows_the_engine() -> None:
    processor = pytest.importorskip("statemachine.io.scxml.processor")
    for events, statuses in WALKS:
        proc = processor.SCXMLProcessor()
        proc.parse_scxml("dossier", D.to_scxml())
        sm = proc.start()
        assert _atomic(DOSSIER, sm.configuration_values) == [INITIAL]
        for event, status in zip(events, statuses, strict=True):
            sm.send(event)
            assert _atomic(DOSSIER, sm.configuration_values) == [status], (events, event)
            # a dossier in a final status is a terminated configuration, and only then
            assert sm.is_terminated == (status in DOSSIER.final_states)


def test_scxml_marks_the_dossier_path(highlighted: Any) -> None:
    from xml.etree import ElementTree as ET

    root = ET.fromstring(D.to_scxml(highlight=highlighted))
    current = [e.get("id") for e in root.iter() if e.get(SW + "courant") == "true"]
    assert current == ["solde_a_modifier"]
    steps = sorted(int(n) for e in root.iter() for n in (e.get(SW + "etapes") or "").split())
    assert steps == list(range(1, len(highlighted.history) + 1))


# -- PlantUML, drawn by PlantUML ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def plantuml_exe() -> str:
    exe = shutil.which("plantuml")
    if exe is None:
        _missing("PlantUML (paquet Debian plantuml)")
    assert exe is not None
    return exe


def _svg_texts(svg: Path) -> list[str]:
    from xml.etree import ElementTree as ET

    return ["".join(t.itertext()) for t in ET.parse(svg).iter() if t.tag.endswith("}text")]


def test_plantuml_draws_every_state_and_transition(plantuml_exe: str, tmp_path: Path, highlighted: Any) -> None:
    texts = {d.name: D.to_plantuml(d) for d in ALL}
    texts["surligne"] = D.to_plantuml(highlight=highlighted)
    for name, text in texts.items():
        (tmp_path / f"{name}.puml").write_text(text, encoding="utf-8")
    proc = subprocess.run([plantuml_exe, "-charset", "UTF-8", "-failfast2", "-tsvg", "-o", str(tmp_path / "svg"),
                           *(str(tmp_path / f"{n}.puml") for n in texts)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for d in ALL:
        drawn = _svg_texts(tmp_path / "svg" / f"{d.name}.svg")
        for s in d.states:
            assert " ".join(s.label.split()) in drawn, s.label  # labels survive the escaping, readable
        for t in d.transitions:
            assert " ".join(D.edge_title(t).split()) in drawn
        assert " ".join(d.title.split()) in drawn
    drawn = _svg_texts(tmp_path / "svg" / "surligne.svg")
    assert [x for x in drawn if x.startswith("✔ étape")] != []
    joined = " ".join(drawn)
    assert all(meaning.split(" (")[0] in joined for _f, _b, meaning in D.COULEURS.values())  # the legend


def test_plantuml_does_refuse_broken_text(plantuml_exe: str, tmp_path: Path) -> None:
    broken = D.to_plantuml().replace('state "Validée"', 'state "« Validée »"')
    (tmp_path / "casse.puml").write_text(broken, encoding="utf-8")
    proc = subprocess.run([plantuml_exe, "-charset", "UTF-8", "-checkonly", str(tmp_path / "casse.puml")],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode != 0


def test_plantuml_lists_every_edge_and_marks_the_path(highlighted: Any) -> None:
    text = D.to_plantuml(highlight=highlighted)
    assert text.startswith("@startuml") and text.rstrip().endswith("@enduml")
    ids = D.state_ids(DOSSIER)
    for src, t, dst in DOSSIER.edges():
        left = "[*]" if src == INITIAL else ids[src]
        title = re.escape(D.plantuml_escape(D.edge_title(t)))
        assert re.search(rf"^{re.escape(left)} -.*-> {dst} : (✔ étape [0-9, ]+\\n)?{title}", text, re.M)
    assert "solde_a_modifier #FFD54F" in text


def test_unknown_machine_format_and_wrong_highlight_are_refused(highlighted: Any) -> None:
    with pytest.raises(D.DiagramError, match="Machine inconnue"):
        D.to_mermaid("nope")
    with pytest.raises(D.DiagramError, match="Format inconnu"):
        D.diagram("dossier", "gif")
    with pytest.raises(D.DiagramError, match="compte"):
        D.to_dot("compte", highlight=highlighted)
    with pytest.raises(D.DiagramError):
        D.path_of("FINSAS009250")  # type: ignore[arg-type]


def test_highlight_follows_history_step_by_step(highlighted: Any) -> None:
    hl = D.path_of(highlighted)
    assert hl.current == "solde_a_modifier"
    assert hl.steps[0].source == INITIAL
    assert [s.number for s in hl.steps] == list(range(1, 10))
    assert hl.numbers("avance_en_instruction", "controler_bloc", "avance_en_instruction") == (2, 3, 4)
    assert "avance_rejetee" not in hl.visited()
    # every step is an edge of the definition
    assert {(s.source, s.trigger, s.dest) for s in hl.steps} <= edges(DOSSIER)


def test_labels_are_in_the_process_words_and_identifiers_in_the_tooltip() -> None:
    decider = DOSSIER.resolve("avance_en_instruction", "decider")
    assert decider is not None
    assert D.edge_lines(decider) == ["Décider — paiement déclenché", "par : Gestionnaire",
                                     "si : Tous les blocs sont en « Contrôle OK ».", "courriel : Avance validée"]
    tip = D.edge_tooltip(decider)
    assert "decider" in tip and "blocs_tous_ok" in tip and "avance_decidee" in tip and "paiement" in tip
    depot = DOSSIER.resolve(None, "deposer_avance")
    assert depot is not None
    lines = D.edge_lines(depot)
    assert lines[0] == "Déposer la demande d'avance"
    joined = " ".join(" ".join(lines).split())
    assert "Fournisseur SAS (propriétaire)" in joined
    for rule in depot.guards:
        assert rule not in joined  # identifiers stay out of the label…
        assert " ".join(RULES[rule].description.split()) in joined  # …the rule is there in words
        assert rule in D.edge_tooltip(depot)
    # every transition of the shipped machines has its French label; none shows an identifier
    for d in MACHINES:
        for t in d.transitions:
            assert t.label and "_" not in t.label
            assert all("_" not in line for line in D.edge_lines(t)), t.trigger


def test_highlighted_dot_has_a_colour_legend(dot_exe: str, highlighted: Any) -> None:
    data = dot_json(dot_exe, D.to_dot(highlight=highlighted))
    legend = [o for o in data["objects"] if o.get("name") == "legende"]
    assert len(legend) == 1
    for fill, _border, meaning in D.COULEURS.values():
        assert D.html_escape(meaning) in legend[0]["label"]
        assert fill in legend[0]["label"]
    assert "legende" not in D.to_dot()  # only a highlighted path needs one


# -- escaping, as properties ------------------------------------------------------------------------
@given(st.text())
def test_mermaid_escape_leaves_no_syntax_character(text: str) -> None:
    out = D.mermaid_escape(text)
    assert "\n" not in out and '"' not in out and "%" not in out and "<" not in out
    assert ":" not in out  # Mermaid before 11.13 ends a transition label at a second colon
    # every ';' closes an entity code that we wrote
    assert re.fullmatch(r"([^#;]|#(quot|lt|gt|amp|\d+);)*", out)


@given(st.text())
def test_dot_quote_is_one_balanced_string(text: str) -> None:
    out = D.dot_quote(text)
    inner = out[1:-1]
    assert out[0] == out[-1] == '"'
    assert "\n" not in out
    assert not re.search(r'(?<!\\)(\\\\)*"', inner)  # no unescaped quote inside


@given(st.text())
def test_html_escape_leaves_no_markup(text: str) -> None:
    out = D.html_escape(text)
    assert not set(out) & set("<>\"'\n")
    assert re.fullmatch(r"([^&]|&(amp|lt|gt|quot|#39);)*", out)


def _walk(d: MachineDefinition) -> Iterator[str]:
    yield from (s.name for s in d.states)


def test_every_state_appears_in_every_format() -> None:
    for d in MACHINES:
        for fmt in TEXT_FORMATS:
            text = D.diagram(d, fmt)
            assert isinstance(text, str)
            for name in _walk(d):
                assert name in text


# -- highlight on random legal paths ------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), max_size=12))
def test_highlight_of_any_path_is_the_history(choices: list[int]) -> None:
    """Walk the engine along random legal triggers; the highlight is exactly the walk, in every format."""
    dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    now = dossier.date_changement_statut
    for choice in choices:
        if dossier.status.final:
            break
        possible = sorted(DOSSIER.triggers_from(dossier.status.value))
        for command in examples.commands_to_fire(dossier, possible[choice % len(possible)]):
            now += timedelta(minutes=1)
            dossier = handle(dossier, command, now=now).dossier
    hl = D.path_of(dossier)
    assert len(hl.steps) == len(dossier.history)
    assert hl.steps[-1].dest == hl.current == dossier.status.value
    for before, after in zip(hl.steps, hl.steps[1:], strict=False):
        assert before.dest == after.source  # a connected path
    assert {(s.source, s.trigger, s.dest) for s in hl.steps} <= edges(DOSSIER)
    # the same steps are marked in each format
    marks = re.findall(r"✔ étape ([0-9, ]+)", D.to_mermaid(highlight=dossier))
    marked_mermaid = sum(m.count(",") + 1 for m in marks)
    assert marked_mermaid == len(hl.steps)
    current_dot = re.findall(r'"(\w+)" \[[^\]]*fillcolor="#ffd54f"', D.to_dot(highlight=dossier))
    assert current_dot == [hl.current]


@given(st.text())
def test_plantuml_escape_leaves_no_syntax_character(text: str) -> None:
    out = D.plantuml_escape(text).replace("<U+005C>", "")
    assert re.fullmatch(r"([^&]|&#\d+;)*", out)
    assert not set(re.sub(r"&#\d+;", "", out)) & set('"«»\\~<>\n*/-[]{}|`#@&')


# -- notebooks: IPython's display protocol, without IPython ------------------------------------------
def test_definition_and_dossier_display_as_svg_in_a_notebook(dot_exe: str, highlighted: Any) -> None:
    from xml.etree import ElementTree as ET

    svg = DOSSIER._repr_svg_()
    assert svg is not None
    root = ET.fromstring(svg.encode())
    assert root.tag.endswith("svg")
    bundle = highlighted._repr_mimebundle_()
    assert set(bundle) >= {"image/svg+xml", "text/plain", "text/markdown"}
    assert "FINSAS" in bundle["text/plain"]
    assert "Légende" in bundle["image/svg+xml"]  # the path and its colour legend
    assert bundle["text/markdown"] == f"```mermaid\n{D.to_mermaid(highlight=highlighted)}```\n"
    assert COMPTE._repr_mimebundle_()["image/svg+xml"].count("<svg") == 1
    with pytest.raises(D.DiagramError):
        D.Diagramme("compte", highlight=highlighted)


def test_the_package_gives_the_display_hooks_their_drawing_without_loading_the_diagrams() -> None:
    # a definition and a dossier sit below the diagrams: they draw through `_display.DRAWING`, which
    # `import segur_workflow` fills; the diagrams load when a notebook first shows something
    code = (
        "import sys, segur_workflow as sw\n"
        "loaded = 'segur_workflow.diagrams' in sys.modules\n"
        "bundle = sw.COMPTE._repr_mimebundle_()\n"
        "print(loaded, 'segur_workflow.diagrams' in sys.modules, bundle['text/markdown'].split()[1])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "stateDiagram-v2"]


def test_without_graphviz_a_notebook_still_shows_the_mermaid_text(monkeypatch: pytest.MonkeyPatch,
                                                                   highlighted: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on the PATH
    assert DOSSIER._repr_svg_() is None
    bundle = highlighted._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    assert bundle["text/markdown"].startswith("```mermaid\nstateDiagram-v2")


def test_without_graphviz_the_error_names_the_formats_of_the_registry_that_need_none(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(D.GraphvizMissing) as missing:
        D.diagram("dossier", "svg")
    texts = tuple(name for name, r in D.RENDERERS.items() if not r.graphviz)
    assert missing.value.formats == texts and "svg" not in texts
    assert f"format texte ({', '.join(texts)})" in missing.value.message


# -- the registry of formats -----------------------------------------------------------------------------
def test_the_registry_is_the_one_list_of_formats() -> None:
    assert tuple(D.RENDERERS) == D.FORMATS
    suffixes = [s for r in D.RENDERERS.values() for s in r.suffixes]
    assert len(suffixes) == len(set(suffixes)), "a suffix names one format only"
    for name, r in D.RENDERERS.items():
        assert r.name == name and r.suffix == r.suffixes[0]
        assert D.renderer(name) is r
        for suffix in r.suffixes:
            assert D.renderer_for_suffix(suffix) is r
            assert D.renderer_for_suffix("." + suffix.upper()) is r
    assert D.renderer_for_suffix("gif") is None and D.renderer_for_suffix("") is None
    with pytest.raises(D.DiagramError, match=r"Format inconnu .* mermaid, dot"):
        D.renderer(["mermaid"])  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_a_text_renderer_draws_the_graph_it_is_given(fmt: str, highlighted: Any) -> None:
    graph = D.graph(highlight=highlighted)
    text = D.RENDERERS[fmt].render(graph)
    assert isinstance(text, str)
    assert text == D.diagram("dossier", fmt, highlight=highlighted)
    for node in graph.nodes:
        assert node.name in text
    assert graph.node(highlighted.status.value).current


def test_the_graph_marks_the_path_once_for_every_format(highlighted: Any) -> None:
    graph = D.graph(highlight=highlighted)
    taken = {(e.source, e.trigger, e.dest): e.steps for e in graph.edges if e.steps}
    history = [(INITIAL if h.source is None else h.source.value, h.trigger, h.dest.value)
               for h in highlighted.history]
    assert sorted(n for steps in taken.values() for n in steps) == list(range(1, len(history) + 1))
    for (edge, steps) in taken.items():
        assert all(history[n - 1] == edge for n in steps)
    visited = {n.name for n in graph.nodes if n.visited}
    assert highlighted.status.value not in visited
    assert visited == {h.dest.value for h in highlighted.history} - {highlighted.status.value}
    # the phases partition the states
    assert sorted(n.name for g in graph.groups for n in g.nodes) == sorted(n.name for n in graph.nodes)


def test_docgen_writes_one_source_per_text_format() -> None:
    from segur_workflow import docgen

    written = docgen.files()
    for stem in (*(d.name for d in MACHINES), docgen.EXEMPLE):
        for r in D.RENDERERS.values():
            path = f"{docgen.GENERATED}/{stem}.{r.suffix}"
            assert (path in written) is (not r.binary), path
    assert written[f"{docgen.GENERATED}/dossier.mmd"] == D.to_mermaid("dossier")
    page = written[f"{docgen.GENERATED}/diagrams.md"]
    assert all(f"[{r.title}](compte.{r.suffix})" in page for r in D.RENDERERS.values() if not r.binary)
