"""The in-memory cases: the engine against its floors and its peers, e-mails, imports, memory, QA run.

Each case is a generator of rows (see :mod:`bench.registry`). Work that only computes is timed on
the CPU clock, in interleaved rounds (:mod:`bench.timing`); every contender is first checked to
produce the same dossier as ``handle()``.
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import pstats
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from segur_workflow import Bloc, Controle, ControlerBloc, Dossier, allowed_commands, handle, start
from segur_workflow import serialization as ser
from segur_workflow.examples import GESTIONNAIRE, owner
from segur_workflow.model import SAS

from . import fixtures, peers
from .registry import Case
from .report import INFO, MISSED, PENDING, Row, times, us, verdict
from .timing import Settings, compare


@attrs.frozen
class Config:
    timing: Settings
    memory_dossiers: int  # the 10k
    history_lengths: tuple[int, ...]
    property_examples: int
    property_timeout: float
    import_rounds: int
    # the host's section (bench/service.py)
    processes: tuple[int, ...]  # concurrent processes for the throughput rows
    life_seconds: float  # how long one throughput measurement runs
    life_rounds: int  # interleaved rounds of service vs raw per process count
    scaling_sizes: tuple[int, ...]  # dossiers in the table for the scaling rows
    scaling_ops: int  # commands timed per size and round
    stored_lengths: tuple[int, ...]  # history lengths through the repository
    stored_ops: int  # commands per length and round

    @classmethod
    def full_run(cls) -> Config:
        return cls(Settings(), 10_000, (10, 100, 1_000), 1_000, 150.0, 9,
                   (1, 2, 4), 1.0, 2, (1_000, 10_000, 100_000), 40, (10, 100, 1_000), 12)

    @classmethod
    def quick_run(cls) -> Config:
        return cls(Settings.quick(), 50, (10, 30), 5, 60.0, 1,
                   (1,), 0.2, 1, (50, 100), 3, (10, 30), 2)

    @property
    def quick_mode(self) -> bool:
        return self.memory_dossiers < 1_000

    @property
    def quick(self) -> bool:  # the name the case files of other parts read
        return self.quick_mode


# -- profiles: what a missed target spends its time on ---------------------------------------------------------
def profile(op: Callable[[], object], calls: int = 2_000, top: int = 6) -> str:
    """The functions ``op`` spends most of its own time in (cProfile), as "name share %" items."""
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        op()
    prof.disable()
    stats = pstats.Stats(prof)
    raw: Mapping[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values()) or 1.0
    ranked = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    out = []
    for (filename, _line, func), v in ranked:
        where = Path(filename).name if filename != "~" else "builtin"
        out.append(f"`{where}:{func}` {100 * v[2] / total:.0f} %")
    return "; ".join(out)


def _same_dossier(got: Dossier, expected: Dossier, *, but: tuple[str, ...] = ()) -> None:
    """A contender must build exactly ``handle()``'s dossier (minus the fields named in ``but``)."""
    if but:
        got = attrs.evolve(got, **{f: getattr(expected, f) for f in but})
    if got != expected:
        diff = [a.name for a in attrs.fields(Dossier) if getattr(got, a.name) != getattr(expected, a.name)]
        raise AssertionError(f"a contender built another dossier than handle() (fields {diff})")


# -- per command: against the floors and the peers ---------------------------------------------------------------
def per_command(cfg: Config) -> Iterator[Row]:
    cb = fixtures.controler_bloc()
    expected = handle(cb.dossier, cb.command, now=cb.now).dossier
    least = peers.LeastWork.of(cb.dossier, expected)
    contenders: dict[str, Callable[[], Dossier]] = {
        "least": lambda: least.apply(cb.command),
        "data": lambda: peers.floor_apply(cb.dossier, cb.command, cb.now),
        "handle": lambda: handle(cb.dossier, cb.command, now=cb.now).dossier,
        "tr_shared": lambda: peers.transitions_shared(cb.dossier, cb.command, cb.now),
        "tr_event": lambda: peers.transitions_event(cb.dossier, cb.command, cb.now),
        "tr_naive": lambda: peers.transitions_request(cb.dossier, cb.command, cb.now),
        "psm": lambda: peers.psm_request(cb.dossier, cb.command, cb.now),
    }
    for op in contenders.values():
        _same_dossier(op(), expected)
    t = compare(contenders, cfg.timing)
    r = t.ratio("handle", "least")
    ok = r <= 4
    yield Row("`handle()` without e-mail (`controler_bloc`) vs the least work: a dict lookup + one `attrs.evolve` "
              "to the same dossier", f"{us(t.median('handle'))} vs {us(t.median('least'))} = {times(r)}", "≤ 4×",
              verdict(ok), note="" if ok else (
                  "What `handle()` does beyond the lookup and the evolve is the domain's own work: the sealed "
                  "history entry (canonical JSON + SHA-256, see the history-entry row), the effect (the new "
                  "bloc badges, the event), the checks (types, role, ownership, status, guard rules, date "
                  f"order). That data work alone, without any check, costs {times(t.ratio('data', 'least'))} "
                  "the least work in the same rounds: the target cannot be reached by cheaper checks, only by a "
                  "cheaper history entry or effect. Profile of `handle()` (own time): "
                  f"{profile(contenders['handle'])}."))
    r = t.ratio("data", "handle")
    yield Row("the same data work without any check (effect + sealed history entry + one evolve), vs `handle()`",
              f"{us(t.median('data'))} = handle × {r:.2f}", "(information)", INFO,
              note=f"`handle()`'s checks cost {100 * (1 - r):.0f} % of it; the rest is the data work every "
                   "contender below does too.")
    r = t.ratio("tr_shared", "handle")
    yield Row("`transitions`, one shared `Machine(model=None)`, `add_model` + fire + `remove_model` per request "
              "(its README's pattern), vs `handle()`", f"{us(t.median('tr_shared'))} = handle × {r:.2f}", "≥ 5×",
              verdict(r >= 5), note="" if r >= 5 else (
                  "On a shared machine `transitions` costs little beyond the data work both sides do; adding "
                  "the model (its trigger and `is_<state>` methods for every state) and removing it is most of "
                  f"it. Profile of the shared-machine request: {profile(contenders['tr_shared'])}."))
    r = t.ratio("tr_event", "handle")
    yield Row("`transitions`, `Event.trigger` on the shared machine with a bare model (the least it does), "
              "vs `handle()`", f"{us(t.median('tr_event'))} = handle × {r:.2f}", "(information)", INFO,
              note="No model registered: the event is looked up and fired, the same guards run, the same data "
                   "work follows. No permission, ownership, type or date check, no domain event: `handle()` does "
                   "those too, so this ratio is bound to stay near 1.")
    r = t.ratio("tr_naive", "handle")
    yield Row("`transitions`, a `Machine` built per request (context), vs `handle()`",
              f"{us(t.median('tr_naive'))} = handle × {r:.2f}", "(information)", INFO)
    r = t.ratio("psm", "handle")
    yield Row("python-statemachine 3.x, an instance per dossier: build + fire `controler_bloc`, vs `handle()`",
              f"{us(t.median('psm'))} = handle × {r:.2f}", "≥ 10×", verdict(r >= 10), note="" if r >= 10 else (
                  f"Profile of the python-statemachine request: {profile(contenders['psm'], 500)}."))

    dec = fixtures.decider()
    expected = handle(dec.dossier, dec.command, now=dec.now).dossier
    least = peers.LeastWork.of(dec.dossier, expected)
    contenders = {
        "least": lambda: least.apply(dec.command),
        "handle": lambda: handle(dec.dossier, dec.command, now=dec.now).dossier,
        "tr_shared": lambda: peers.transitions_shared(dec.dossier, dec.command, dec.now),
        "psm": lambda: peers.psm_request(dec.dossier, dec.command, dec.now),
    }
    _same_dossier(contenders["least"](), expected)
    for name in ("tr_shared", "psm"):
        _same_dossier(contenders[name](), expected, but=("emails_sent",))
    t = compare(contenders, cfg.timing)
    yield Row("`handle()` with its e-mail rendered (`decider`) vs the least work", f"{us(t.median('handle'))} vs "
              f"{us(t.median('least'))} = {times(t.ratio('handle', 'least'))}", "(information)", INFO)
    for peer, label in (("tr_shared", "`transitions` (shared machine)"), ("psm", "python-statemachine")):
        yield Row(f"{label}: fire `decider` (no e-mail), vs `handle()` rendering its e-mail",
                  f"{us(t.median(peer))} = handle × {t.ratio(peer, 'handle'):.2f}", "(information)", INFO)


def emails_case(cfg: Config) -> Iterator[Row]:
    """One e-mail as the engine renders it, against Jinja's own rendering of the same templates."""
    from segur_workflow import emails
    from segur_workflow.engine import email_context

    dec = fixtures.decider()
    after = handle(dec.dossier, dec.command, now=dec.now)
    sent = after.emails[0]
    ctx = email_context(after.dossier, dec.command, dec.now, SAS)
    name, to = sent.template, sent.to
    compiled = emails._compiled()[name]
    values = {k: ctx[k] for k in emails.TEMPLATES[name].variables}

    def jinja() -> tuple[str, str, str]:
        return (compiled.subject.template.render(values), compiled.text.template.render(values),
                compiled.html.template.render(values))

    def render() -> emails.Email:
        return emails.render(name, to=to, context=ctx)

    assert render() == sent
    assert jinja()[1:] == (sent.text, sent.html)
    t = compare({"render": render, "jinja": jinja, "context": lambda: email_context(after.dossier, dec.command,
                                                                                      dec.now, SAS)},
                cfg.timing)
    v = t.median("render")
    yield Row(f"one e-mail rendered (`{name}`: subject, text and HTML, values checked and escaped)", us(v),
              "≤ 15 µs", verdict(v <= 15e-6), note="" if v <= 15e-6 else (
                  f"Profile of `emails.render`: {profile(render)}."))
    yield Row("the same three parts rendered by Jinja's `Template.render` (the way before), vs `render()`",
              f"{us(t.median('jinja'))} = render × {t.ratio('jinja', 'render'):.2f}", "(information)", INFO,
              note="Each body is rendered by its compiled Jinja code once, with markers, when first needed; a "
                   "render fills the fragments with the values, escaped once each (a test holds the result to "
                   "Jinja's, for any values). A template with logic would be rendered by Jinja itself.")
    yield Row("the e-mail's context prepared by the engine (`email_context`: dates and amount formatted)",
              us(t.median("context")), "(information)", INFO)


def lifecycle(cfg: Config) -> Iterator[Row]:
    first, steps = fixtures.lifecycle()

    def run_handle() -> Dossier:
        d = first
        for command, now in steps:
            d = handle(d, command, now=now).dossier
        return d

    def run_with(fire: peers.Fire) -> Callable[[], Dossier]:
        def run() -> Dossier:
            d = first
            for command, now in steps:
                d = fire(d, command, now)
            return d

        return run

    contenders = {"handle": run_handle, "data": run_with(peers.floor_apply),
                  "tr_shared": run_with(peers.transitions_shared), "psm": run_with(peers.psm_request)}
    expected = run_handle()
    for name in ("data", "tr_shared", "psm"):
        _same_dossier(contenders[name](), expected, but=("emails_sent",))
    t = compare(contenders, cfg.timing)
    n = len(steps)
    yield Row(f"full lifecycle, {n} commands after the deposit (`handle()` chain, 6 e-mails rendered)",
              f"{us(t.median('handle'))} ({us(t.median('handle') / n)} per command) = data work × "
              f"{t.ratio('handle', 'data'):.2f}", "(information)", INFO)
    for peer, label in (("tr_shared", "`transitions` (shared machine, a model per request)"),
                        ("psm", "python-statemachine (an instance per request)")):
        yield Row(f"full lifecycle, {label}, no e-mail, vs `handle()`",
                  f"{us(t.median(peer))} = handle × {t.ratio(peer, 'handle'):.2f}", "(information)", INFO)


def entry_points(cfg: Config) -> Iterator[Row]:
    import hashlib

    import orjson

    from segur_workflow.history import append

    cb = fixtures.controler_bloc()
    command = fixtures.deposer(1)
    numero = fixtures.numero(1)
    created = start(command, numero=numero, now=fixtures.NOW).dossier
    first = created.history[0]
    fields = {a: getattr(first, a) for a in ("at", "actor", "trigger", "source", "dest", "comment", "command_id",
                                             "details")}
    gest, prov = GESTIONNAIRE, owner(cb.dossier)
    doc = ser.to_dict(cb.dossier)
    text = ser.to_json(cb.dossier)
    raw = orjson.dumps(doc)
    entry_bytes = ("0" * 64 + "\n" + json.dumps(fields, default=str)).encode()
    contenders: dict[str, Callable[[], object]] = {
        "start": lambda: start(command, numero=numero, now=fixtures.NOW),
        "start_floor": lambda: (attrs.evolve(created, history=()), append((), **fields)),
        "allowed_g": lambda: allowed_commands(cb.dossier, gest),
        "allowed_p": lambda: allowed_commands(cb.dossier, prov),
        "entry": lambda: append(cb.dossier.history, **fields),
        "sha": lambda: hashlib.sha256(entry_bytes).hexdigest(),
        "to_json": lambda: ser.to_json(cb.dossier),
        "from_json": lambda: ser.from_json(text),
        "json_floor": lambda: hashlib.sha256(orjson.dumps(doc)).hexdigest(),
        "parse_floor": lambda: hashlib.sha256(raw).hexdigest() and orjson.loads(raw),
    }
    assert ser.from_json(text) == cb.dossier
    t = compare(contenders, cfg.timing)
    yield Row("`start()` (deposit: pieces and identifiers checked, the SYSTEME controls, acknowledgement e-mail)",
              f"{us(t.median('start'))} = floor × {t.ratio('start', 'start_floor'):.2f}", "(information)", INFO,
              note="floor: one `attrs.evolve` of the created dossier and its first history entry appended.")
    yield Row("one history entry (`history.append`: the entry, its canonical JSON, its SHA-256), vs one SHA-256 "
              "over bytes of the same size", f"{us(t.median('entry'))} vs {us(t.median('sha'))} = "
              f"{times(t.ratio('entry', 'sha'))}", "(information)", INFO)
    yield Row("`allowed_commands()` (gestionnaire / provider, avance en instruction)",
              f"{us(t.median('allowed_g'))} / {us(t.median('allowed_p'))}", "(information)", INFO)
    h = len(cb.dossier.history)
    yield Row(f"`serialization.to_json` / `from_json` (dossier with {h} history entries) vs `orjson` + one SHA-256 "
              "over the same document", f"{us(t.median('to_json'))} / {us(t.median('from_json'))} vs "
              f"{us(t.median('json_floor'))} / {us(t.median('parse_floor'))} = "
              f"{times(t.ratio('to_json', 'json_floor'))} / {times(t.ratio('from_json', 'parse_floor'))}",
              "(information)", INFO)


# -- history length -------------------------------------------------------------------------------------------
def history_scaling(cfg: Config) -> Iterator[Row]:
    dossiers = {n: fixtures.with_history(n) for n in cfg.history_lengths}
    command = ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK)

    def op(d: Dossier) -> Callable[[], object]:
        return lambda: handle(d, command, now=fixtures.NOW)

    t = compare({str(n): op(d) for n, d in dossiers.items()}, cfg.timing)
    lo, hi = str(cfg.history_lengths[0]), str(cfg.history_lengths[-1])
    r = t.ratio(hi, lo)
    figures = ", ".join(f"{n}: {us(t.median(str(n)))}" for n in cfg.history_lengths)
    # Building a history of n entries costs n commands; per-command cost flat <=> the build is linear.
    yield Row(f"`handle()` per command vs history length, in memory ({figures})",
              f"{hi} entries / {lo} entries = {times(r)}", "≤ 1.5× (near-linear build)", verdict(r <= 1.5))

    def roundtrip(d: Dossier) -> Callable[[], object]:
        return lambda: ser.from_json(ser.to_json(d))

    t = compare({str(n): roundtrip(d) for n, d in dossiers.items()}, cfg.timing)
    lengths = cfg.history_lengths
    mid = str(lengths[-2]) if len(lengths) > 2 else lo
    per_entry = (t.ratio(hi, mid)) * int(mid) / int(hi)
    figures = ", ".join(f"{n}: {us(t.median(str(n)))}" for n in lengths)
    yield Row(f"JSON round trip (`to_json` → `from_json`) vs history length ({figures})",
              f"per entry, {hi} entries / {mid} entries = {times(per_entry)}", "≤ 1.5× (near-linear)",
              verdict(per_entry <= 1.5))


# -- memory -----------------------------------------------------------------------------------------------------
def plain(value: Any) -> Any:
    """The same data as plain containers: attrs values become tuples of their fields, maps dicts.

    Leaves (str, Decimal, datetime, enum members) are the dossier's own objects, so the difference
    with the dossier is exactly the cost of its containers.
    """
    if attrs.has(type(value)):
        return tuple(plain(getattr(value, a.name)) for a in attrs.fields(type(value)))
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


@contextmanager
def _traced() -> Iterator[Callable[[], int]]:
    gc.collect()
    tracemalloc.start()
    try:
        yield lambda: (gc.collect(), tracemalloc.get_traced_memory()[0])[1]
    finally:
        tracemalloc.stop()


def memory(cfg: Config) -> list[Row]:
    n = cfg.memory_dossiers
    texts = [json.dumps(ser.to_dict(fixtures.fresh_dossier(i))) for i in range(min(n, 50))]
    with _traced() as current:
        base = current()
        # "Loaded" as a host loads them: each from its own JSON text, so nothing is shared by accident.
        # verify=False: the number is rewritten in sealed text, which the seal would (rightly) refuse
        dossiers = [ser.from_dict(json.loads(texts[i % len(texts)].replace(
            fixtures.numero(i % len(texts)), fixtures.numero(i))), verify=False) for i in range(n)]
        loaded = current()
        plains = [plain(d) for d in dossiers]
        both = current()
        del dossiers
        only_plain = current()
        containers = (both - only_plain) / n  # the dossiers' own objects, beyond the shared leaves
        plain_containers = (both - loaded) / n
        own = (only_plain - base) / n  # leaves + plain containers: "its own data"
        overhead = containers - plain_containers
        k = min(n, 200)
        spare = [fixtures.fresh_dossier(i) for i in range(k)]
        before_machines = current()
        machines_tr = [peers.TransitionsModel(d) for d in spare]
        per_tr = (current() - before_machines) / k
        del machines_tr
        before_machines = current()
        machines_psm = [peers.psm_new(d) for d in spare]
        per_psm = (current() - before_machines) / k
        del machines_psm, plains, spare
    status = "solde en instruction, 6 history entries"
    return [
        Row(f"memory per dossier, {n:,} dossiers ({status}), loaded with `from_dict`, tracemalloc",
            f"{(loaded - base) / n / 1024:.2f} KiB each; its own data as plain tuples/dicts "
            f"{own / 1024:.2f} KiB; beyond it: {overhead:+,.0f} bytes",
            "≤ 2 KiB beyond its own data", verdict(overhead <= 2048)),
        Row("memory of a machine per dossier (what the engine avoids)",
            f"`transitions`: +{per_tr / 1024:.1f} KiB per dossier; "
            f"python-statemachine: +{per_psm / 1024:.1f} KiB", "(information)"),
    ]


# -- import time ------------------------------------------------------------------------------------------------
def _dependency_modules() -> list[str]:
    """The modules of the package's own dependencies that ``import segur_workflow`` loads."""
    code = ("import sys, json, importlib.metadata as md; before = set(sys.modules); import segur_workflow; "
            "top = md.packages_distributions(); "
            "print(json.dumps(sorted(m for m in set(sys.modules) - before "
            "if top.get(m.split('.')[0]) and not m.startswith('segur_workflow') and not m.startswith('_'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    modules: list[str] = json.loads(out.stdout)
    return modules


def imports(cfg: Config) -> Iterator[Row]:
    deps = _dependency_modules()
    programs = {"bare": "pass", "package": "import segur_workflow", "deps": "import " + ", ".join(deps) if deps
                else "pass"}

    def run(code: str) -> float:
        # The child's own CPU time at the end of its imports: on a loaded machine the wall clock mostly
        # measures the queue for a CPU.
        out = subprocess.run([sys.executable, "-c", f"{code}\nimport time\nprint(time.process_time())"],
                             check=True, timeout=120, capture_output=True, text=True)
        return float(out.stdout.strip().splitlines()[-1])

    package: list[float] = []
    dependencies: list[float] = []
    ratios: list[float] = []
    for i in range(cfg.import_rounds):
        order = list(programs)[i % 3:] + list(programs)[: i % 3]
        took = {name: run(programs[name]) for name in order}
        package.append(took["package"] - took["bare"])
        dependencies.append(took["deps"] - took["bare"])
        ratios.append(package[-1] / max(dependencies[-1], 1e-6))
    r = statistics.median(ratios)
    tops = sorted({m.split(".")[0] for m in deps})
    yield Row(f"`import segur_workflow` vs importing the modules of its dependencies it loads ({', '.join(tops)}), "
              "CPU time of fresh processes, interpreter start subtracted",
              f"{statistics.median(package) * 1e3:.0f} ms vs "
              f"{statistics.median(dependencies) * 1e3:.0f} ms = {times(r)}", "≤ 2×", verdict(r <= 2),
              note=("Jinja is imported and the templates are checked and compiled when the first e-mail is "
                    "rendered, not at import; `cattrs`/`orjson` load with `serialization`.") + ("" if r <= 2 else
                    " What remains is the package's own modules: building its attrs classes, the two machine "
                    "definitions (`states.py`) and the rule catalogue."))


#: Steps per example, as the QA kit's own 1,000-example test runs its machine (tests/test_qa_machine.py).
STEPS = 10


# -- the stateful property run ---------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent


def _project_machine_tests() -> tuple[list[str], int]:
    """The test suite's TestCases of the QA kit's machine (``TestX = X.TestCase``) and their examples."""
    from segur_workflow.testing.machine import DossierMachine

    ids: list[str] = []
    total = 0
    for path in sorted((REPO / "tests").glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"^(Test\w+) = (\w+)\.TestCase$", text, flags=re.MULTILINE)
        if not found or "testing.machine" not in text:
            continue
        spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for test_name, machine_name in found:
            machine = getattr(module, machine_name, None)
            if isinstance(machine, type) and issubclass(machine, DossierMachine):
                ids.append(f"tests/{path.name}::{test_name}")
                total += getattr(module, test_name).settings.max_examples
    return ids, total


def _pytest(args: list[str], cwd: Path, timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False)
    return time.perf_counter() - started, proc


def _failed(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["?"]
    return tail[0]


def property_run(cfg: Config) -> Iterator[Row]:
    """The test suite's own stateful TestCases of the QA kit, run as ``make test`` runs them (issue 8's row)."""
    case = "stateful property run (`segur_workflow.testing.machine`), as `make test` runs it"
    ids, total = _project_machine_tests()
    if cfg.quick_mode:
        yield Row(case, "not run in --quick", "< 30 s", PENDING)
        return
    if not ids:
        yield Row(case, "no TestCase of the machine in tests/", "< 30 s", PENDING)
        return
    try:
        took, proc = _pytest(["-n", "2", *ids], REPO, cfg.property_timeout)
    except subprocess.TimeoutExpired:
        yield Row(case, f"stopped after {cfg.property_timeout:.0f} s", "< 30 s", MISSED,
                  note="the pytest run overran the case's deadline (a loaded machine, or a hanging test)")
        return
    names = ", ".join(f"`{i.split('::')[1]}`" for i in ids)
    if proc.returncode != 0:
        yield Row(case, f"failed after {took:.1f} s: {_failed(proc)}", "< 30 s", MISSED,
                  note="a failing property is a test failure, reported here as the bench saw it")
    else:
        yield Row(f"stateful property run as `make test` runs it: {names} ({total:,} examples, `pytest -n 2`), "
                  "wall time", f"{took:.1f} s (interpreter start included)", "< 30 s", verdict(took < 30),
                  note="" if took < 30 else "wall time on the shared machine: two xdist workers competing with "
                  "the other jobs; see the load average of the run")


CASES: Mapping[str, Case] = MappingProxyType({
    "per_command": Case(per_command, "handle() vs the least work, transitions and python-statemachine", 120, 40),
    "emails": Case(emails_case, "one e-mail rendered", 60, 30),
    "imports": Case(imports, "import time vs the dependencies'", 90, 40),
    "lifecycle": Case(lifecycle, "a whole lifecycle in memory", 60, 30),
    "entry_points": Case(entry_points, "start(), history entry, allowed_commands, serialisation", 90, 30),
    "history": Case(history_scaling, "handle() and the JSON round trip vs history length", 90, 30),
    "memory": Case(memory, "memory per dossier (10,000 dossiers)", 180, 40),
    "property": Case(property_run, "the QA kit's stateful run as make test runs it", 200, 60),
})

__all__ = ["CASES", "INFO", "Config", "Row"]
