"""The in-memory cases: the engine against its floors and its peers, e-mails, imports, memory, QA run.

Each case is a generator of rows (see :mod:`bench.registry`). Work that only computes is timed on
the CPU clock, in interleaved rounds (:mod:`bench.timing`); every contender is first checked to
produce the same dossier as ``handle()``.
"""

from __future__ import annotations

import cProfile
import gc
import json
import pstats
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from segur_workflow import Bloc, Controle, ControlerBloc, Dossier, allowed_commands, handle, start
from segur_workflow import serialization as ser
from segur_workflow.examples import GESTIONNAIRE, owner
from segur_workflow.model import SAS

from . import fixtures, peers, profiles
from .registry import Case
from .report import INFO, MISSED, Row, times, us, verdict
from .timing import Settings, compare


@attrs.frozen
class Config:
    """Sizes, rounds and examples of a run. A full run's are those of ``scale`` 1 multiplied by the scale the
    runner gives the case to fit its budget (:mod:`bench.plan`), each with a floor below which the figure
    would mean nothing; ``deadline`` is the case's own (seconds), for the waits inside it."""

    timing: Settings
    memory_dossiers: int  # the 10k
    history_lengths: tuple[int, ...]
    property_examples: int
    import_rounds: int
    # the host's section (bench/service.py)
    processes: tuple[int, ...]  # concurrent processes for the throughput rows
    life_seconds: float  # how long one throughput measurement runs
    life_rounds: int  # interleaved rounds of service vs raw per process count
    scaling_sizes: tuple[int, ...]  # dossiers in the table for the scaling rows
    scaling_ops: int  # commands timed per size and round
    stored_lengths: tuple[int, ...]  # history lengths through the repository
    stored_ops: int  # commands per length and round
    build_seconds: float = 25.0  # how long the table-size rows may spend filling their tables
    verify_seconds: float = 15.0  # how long the verify row may spend filling its database
    scale: float = 1.0
    deadline: float = 120.0

    @classmethod
    def full_run(cls, scale: float = 1.0, deadline: float | None = None) -> Config:
        s = min(1.0, max(0.0, scale))
        return cls(Settings.scaled(s), max(2_000, int(round(10_000 * s, -3))), (10, 100, 1_000),
                   max(20, round(80 * s)), max(3, round(7 * s)),
                   (1, 2, 4), max(0.25, 0.6 * s), 2, (1_000, 10_000, 100_000), max(10, round(40 * s)),
                   (10, 100, 1_000), max(4, round(12 * s)), build_seconds=max(6.0, 25.0 * s),
                   verify_seconds=max(4.0, 15.0 * s), scale=s, deadline=deadline or 120.0)

    @classmethod
    def quick_run(cls, deadline: float | None = None) -> Config:
        return cls(Settings.quick(), 50, (10, 30), 5, 1,
                   (1,), 0.2, 1, (50, 100), 3, (10, 30), 2, build_seconds=10.0, verify_seconds=10.0,
                   deadline=deadline or 60.0)

    @property
    def quick_mode(self) -> bool:
        return self.memory_dossiers < 1_000

    @property
    def quick(self) -> bool:  # the name the case files of other parts read
        return self.quick_mode


# -- profiles: what a missed target spends its time on ---------------------------------------------------------
def explained(note: str, op: Callable[[], object], calls: int = 500) -> dict[str, str]:
    """A missed row's ``note`` (ending with the operation's first functions by own time) and ``profile``
    (the cProfile table of ``op`` for the profiles page), as keywords of :class:`Row`."""
    summary, table_ = profiles.top(op, calls)
    return {"note": f"{note} Profile (own time): {summary}.", "profile": table_}


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
              verdict(ok), **({} if ok else explained(
                  "What `handle()` does beyond the lookup and the evolve is the domain's own work: the sealed "
                  "history entry (canonical JSON + SHA-256, see the history-entry row), the effect (the new "
                  "bloc badges, the event), the checks (types, role, ownership, status, guard rules, date "
                  f"order). That data work alone, without any check, costs {times(t.ratio('data', 'least'))} "
                  "the least work in the same rounds: what is left to win is in the history entry and the "
                  "effect more than in the checks.", contenders["handle"])))
    r = t.ratio("data", "handle")
    yield Row("the same data work without any check (effect + sealed history entry + one evolve), vs `handle()`",
              f"{us(t.median('data'))} = handle × {r:.2f}", "(information)", INFO,
              note=f"`handle()`'s checks cost {100 * (1 - r):.0f} % of it; the rest is the data work every "
                   "contender below does too.")
    r = t.ratio("tr_shared", "handle")
    yield Row("`transitions`, one shared `Machine(model=None)`, `add_model` + fire + `remove_model` per request "
              "(its README's pattern), vs `handle()`", f"{us(t.median('tr_shared'))} = handle × {r:.2f}", "≥ 5×",
              verdict(r >= 5), **({} if r >= 5 else explained(
                  "On a shared machine `transitions` costs little beyond the data work both sides do "
                  f"({times(t.ratio('data', 'handle'))} `handle()` here); adding the model (its trigger and "
                  "`is_<state>` methods for every state) and removing it is most of the rest: the ratio is "
                  "bounded by (machine + data work) / `handle()`, so only a cheaper `handle()` moves it.",
                  contenders["tr_shared"])))
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
              f"{us(t.median('psm'))} = handle × {r:.2f}", "≥ 10×", verdict(r >= 10), **({} if r >= 10 else explained(
                  "python-statemachine does the same data work as `handle()`; what it adds is its instance.",
                  contenders["psm"])))

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
              "≤ 15 µs", verdict(v <= 15e-6), **({} if v <= 15e-6 else explained(
                  "Rendering fills the body's fragments with the checked and escaped values.", render)))
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
    mails = len(expected.emails_sent) - len(first.emails_sent)
    yield Row(f"full lifecycle, {n} commands after the deposit (`handle()` chain, {mails} e-mails rendered)",
              f"{us(t.median('handle'))} ({us(t.median('handle') / n)} per command) = data work × "
              f"{t.ratio('handle', 'data'):.2f}", "(information)", INFO)
    for peer, label in (("tr_shared", "`transitions` (shared machine, a model per request)"),
                        ("psm", "python-statemachine (an instance per request)")):
        yield Row(f"full lifecycle, {label}, no e-mail, vs `handle()`",
                  f"{us(t.median(peer))} = handle × {t.ratio(peer, 'handle'):.2f}", "(information)", INFO)


def entry_points(cfg: Config) -> Iterator[Row]:
    import hashlib

    import orjson

    from segur_workflow.history import append, canonical

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
    # the bytes the chain hashes for this very entry: the previous hash, a newline, the entry's canonical JSON
    new_entry = append(cb.dossier.history, **fields)[-1]
    entry_bytes = (cb.dossier.history[-1].hash + "\n" + canonical(new_entry)).encode("utf-8", "surrogatepass")
    assert hashlib.sha256(entry_bytes).hexdigest() == new_entry.hash
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
              "over the same bytes", f"{us(t.median('entry'))} vs {us(t.median('sha'))} = "
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
@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(a.name for a in attrs.fields(cls)) if attrs.has(cls) else None


def plain(value: Any) -> Any:
    """The same data as plain containers: attrs values become tuples of their fields, maps dicts.

    Leaves (str, Decimal, datetime, enum members) are the dossier's own objects, so the difference
    with the dossier is exactly the cost of its containers.
    """
    cls: type = type(value)
    names = _field_names(cls)
    if names is not None:
        return tuple([plain(getattr(value, n)) for n in names])
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple([plain(v) for v in value])
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
    # Built before tracing starts: tracemalloc slows every allocation, and a deposit inspects its files.
    k = min(n, 50)
    spare = [fixtures.fresh_dossier(i) for i in range(k)]
    with _traced() as current:
        base = current()
        # "Loaded" as a host loads them: each from its own JSON text, so nothing is shared by accident.
        # verify=False: the number is rewritten in sealed text, which the seal would (rightly) refuse
        dossiers = [ser.from_dict(json.loads(texts[i % len(texts)].replace(
            fixtures.numero(i % len(texts)), fixtures.numero(i))), verify=False) for i in range(n)]
        loaded = current()
        # Their own data is measured on the first `kept` (a multiple of the 50 texts, so the same mix): building
        # 10,000 plain copies under tracemalloc costs more than the whole measure tells.
        kept = min(n, 1_000)
        del dossiers[kept:]
        trimmed = current()
        plains = [plain(d) for d in dossiers]
        both = current()
        del dossiers
        only_plain = current()
        containers = (both - only_plain) / kept  # the dossiers' own objects, beyond the shared leaves
        plain_containers = (both - trimmed) / kept
        own = (only_plain - base) / kept  # leaves + plain containers: "its own data"
        overhead = containers - plain_containers
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
            f"{(loaded - base) / n / 1024:.2f} KiB each; its own data as plain tuples/dicts (first {kept:,}) "
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
              **_import_note(r <= 2, set(deps)))


def _import_note(ok: bool, deps: set[str]) -> dict[str, str]:
    """The import row's note; when the target is missed, the import's profile: ``python -X importtime``, the
    modules by their own time (what importing each one ran, its imports apart)."""
    note = ("Jinja is imported and the templates are checked and compiled when the first e-mail is rendered, not "
            "at import; `cattrs`/`orjson` load with `serialization`.")
    if ok:
        return {"note": note}
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import segur_workflow"], capture_output=True,
                         text=True, timeout=120, check=True)
    own: list[tuple[int, str]] = []
    for line in out.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            own.append((int(parts[0]), parts[2].strip()))
    total = sum(us_ for us_, _ in own) or 1
    ours = sum(us_ for us_, m in own if m.startswith("segur_workflow"))
    theirs = sum(us_ for us_, m in own if m.split(".")[0] in {d.split(".")[0] for d in deps})
    ranked = sorted(own, reverse=True)[:15]
    lines = ["`python -X importtime -c \"import segur_workflow\"` in a fresh process: each module's own import time "
             "(its imports apart), the first 15.", "", "| own time | share | module |", "|---:|---:|---|"]
    lines += [f"| {t / 1e3:,.1f} ms | {100 * t / total:.1f} % | `{m}` |" for t, m in ranked]
    return {"note": f"{note} Of the import's own time, the package's modules take {100 * ours / total:.0f} %, its "
                    f"dependencies' {100 * theirs / total:.0f} %, the standard library the rest. First modules by own "
                    "time: " + "; ".join(f"`{m}` {100 * t / total:.0f} %" for t, m in ranked[:6]) + ".",
            "profile": "\n".join(lines)}


#: Steps per example, as the QA kit's own tests run its machine (tests/test_qa_machine.py).
STEPS = 10
#: Issue 8's property target: this many examples of the kit's stateful machine.
PROPERTY_EXAMPLES = 1_000
#: Processes sharing them, as ``pytest -n 2`` shares the suite's two halves.
PROPERTY_PROCESSES = 2


# -- the stateful property run ---------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent

#: One process's share: the kit's machine (every trigger, every invariant) over the engine, as the suite's
#: ``TestMachineUn``/``TestMachineDeux`` run it, with the example count of issue 8; prints examples and seconds.
_PROPERTY_CHILD = """
import sys, time
started = time.perf_counter()
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from segur_workflow.testing.machine import DossierMachine

class Machine(DossierMachine):
    pass

n = int(sys.argv[1])
run_state_machine_as_test(Machine, settings=settings(max_examples=n, stateful_step_count=int(sys.argv[2]),
                          deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]))
print(n, time.perf_counter() - started)
"""


def property_run(cfg: Config) -> Iterator[Row]:
    """Issue 8's row: the QA kit's stateful machine, two processes side by side, wall time.

    A full run times ``cfg.property_examples`` of the 1,000 examples (all of them would take minutes of
    both cores, more than the whole bench's budget) and states the time of 1,000 at the measured rate.
    """
    sample = cfg.property_examples
    case = (f"stateful property run (`segur_workflow.testing.machine`, {STEPS} steps per example), "
            f"{PROPERTY_PROCESSES} processes side by side as `pytest -n 2` shares the suite's halves, wall time")
    target = f"{PROPERTY_EXAMPLES:,} examples < 30 s"
    shares = [sample // PROPERTY_PROCESSES + (1 if i < sample % PROPERTY_PROCESSES else 0)
              for i in range(PROPERTY_PROCESSES)]
    started = time.perf_counter()
    # the run's share of the case's deadline: the rest is for the profile of a missed target
    limit = 0.6 * cfg.deadline
    procs = [subprocess.Popen([sys.executable, "-c", _PROPERTY_CHILD, str(n), str(STEPS)], cwd=REPO, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in shares]
    try:
        outputs = [p.communicate(timeout=max(1.0, limit - (time.perf_counter() - started)))
                   for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
            p.communicate()
        yield Row(case, f"{sample:,} examples not done after {limit:.0f} s", target, MISSED,
                  note="the run overran the case's deadline (a loaded machine, or a hanging example)")
        return
    took = time.perf_counter() - started
    failed = [err for p, (_out, err) in zip(procs, outputs, strict=True) if p.returncode != 0]
    if failed:
        tail = (failed[0].strip().splitlines() or ["?"])[-1]
        yield Row(case, f"failed after {took:.1f} s: {tail}", target, MISSED,
                  note="a failing property is a test failure, reported here as the bench saw it")
        return
    # each child's own time from its first import: the interpreter start is paid once per process
    own = max(float(out.split()[1]) for out, _err in outputs)
    whole = own * PROPERTY_EXAMPLES / sample
    ok = whole < 30
    measured = "" if sample >= PROPERTY_EXAMPLES else f"; {PROPERTY_EXAMPLES:,} at that rate ≈ {whole:.0f} s"
    yield Row(case, f"{sample:,} examples in {took:.1f} s (slowest process {own:.1f} s from its imports){measured}",
              target, verdict(ok) if not cfg.quick_mode else INFO, **({} if ok or cfg.quick_mode else
                                                                          _property_profile(max(6, sample // 4))))


def _property_profile(examples: int) -> dict[str, str]:
    """Where the machine's examples spend their time: hypothesis's drawing, the engine, the invariants."""
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from segur_workflow.testing.machine import DossierMachine

    class Machine(DossierMachine):
        pass

    def run(examples: int) -> None:
        run_state_machine_as_test(Machine, settings=settings(
            max_examples=examples, stateful_step_count=STEPS, deadline=None, database=None,
            suppress_health_check=list(HealthCheck)))

    run(2)  # templates compiled, strategies built: what every later example finds ready
    prof = cProfile.Profile()
    prof.enable()
    run(examples)
    prof.disable()
    raw: Mapping[Any, Any] = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = max(v[3] for v in raw.values()) or 1.0
    shares = []
    for label, function in _property_parts():
        code = getattr(function, "__code__", None)
        key = None if code is None else (code.co_filename, code.co_firstlineno, code.co_name)
        if key in raw:
            shares.append(f"{label} {100 * raw[key][3] / total:.0f} %")
    return {"note": ("Each example deposits a dossier whose pieces the kit's strategies draw as real files "
                     "(inspected by `Attachment.from_bytes`, pikepdf and Pillow since issue 13), then fires 10 "
                     "random commands and checks every invariant after each. Share of the run's time (cProfile, "
                     f"cumulative, {examples} examples in this process): {'; '.join(shares)}."),
            "profile": profiles.of_stats(raw, examples).table()}


def _property_parts() -> list[tuple[str, object]]:
    """The functions whose cumulative share the property row names, found where they are defined now."""
    import importlib

    from hypothesis.internal.conjecture.data import ConjectureData

    import segur_workflow as sw
    from segur_workflow.model import Attachment

    parts: list[tuple[str, object]] = [("hypothesis drawing (all strategies)", ConjectureData.draw),
                                       ("`start()`", sw.start), ("`handle()`", sw.handle),
                                       ("inspecting the drawn files (`Attachment.from_bytes`)",
                                        getattr(Attachment.from_bytes, "__func__", Attachment.from_bytes))]
    kit = "segur_workflow.testing"
    for module, name, label in ((f"{kit}.strategies", "_command", "drawing commands (kit's strategies)"),
                                (f"{kit}.strategies", "_attachment", "of which drawing files"),
                                (f"{kit}.invariants", "check_allowed_commands",
                                 "`allowed_commands` checked against `handle`")):
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            found = None
        if found is not None:
            parts.append((label, found))
    return parts


#: Costs: the wall seconds of each case at full scale on the project's 2-core machine, quiet (measured at
#: 15:06 UTC on 2026-12-01, load 0.3 rising to 6 by the end; see bench/plan.py).
CASES: Mapping[str, Case] = MappingProxyType({
    "per_command": Case(per_command, "handle() vs the least work, transitions and python-statemachine", 7, 40),
    "emails": Case(emails_case, "one e-mail rendered", 5, 30),
    "imports": Case(imports, "import time vs the dependencies'", 9, 40),
    "lifecycle": Case(lifecycle, "a whole lifecycle in memory", 4, 30),
    "entry_points": Case(entry_points, "start(), history entry, allowed_commands, serialisation", 4, 30),
    "history": Case(history_scaling, "handle() and the JSON round trip vs history length", 4, 30),
    "memory": Case(memory, "memory per dossier (10,000 dossiers at full scale)", 18, 40, fixed=3),
    "property": Case(property_run, "the QA kit's stateful machine, rate of its 1,000 examples (issue 8)", 36, 60,
                     fixed=6),
})

__all__ = ["CASES", "INFO", "Config", "Row"]
