"""The benchmark cases. Each returns rows of the results table; timings are interleaved (see timing)."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from segur_workflow import Actor, Bloc, Controle, ControlerBloc, Dossier, Status, allowed_commands, handle, start
from segur_workflow import serialization as ser
from segur_workflow.adapters import sqlite as sq
from segur_workflow.examples import GESTIONNAIRE, owner

from . import case_files, fixtures, peers
from .report import INFO, MISSED, PENDING, Row, times, us, verdict
from .timing import Settings, compare


@attrs.frozen
class Config:
    timing: Settings
    memory_dossiers: int  # the 10k
    scaling_sizes: tuple[int, ...]  # SQLite rows for the scaling case
    scaling_build_budget: float  # seconds we accept to spend building the biggest table
    history_lengths: tuple[int, ...]
    sqlite_ops: int  # commands timed per SQLite size
    property_examples: int
    property_timeout: float

    @classmethod
    def full(cls) -> Config:
        return cls(Settings(), 10_000, (1_000, 10_000, 100_000, 1_000_000), 150.0, (10, 100, 1_000), 2_000,
                   1_000, 300.0)

    @classmethod
    def quick(cls) -> Config:
        return cls(Settings.quick(), 200, (200, 1_000), 10.0, (10, 30), 50, 5, 120.0)


# -- per command: against the floor and the peers -------------------------------------------------------------
def per_command(cfg: Config) -> list[Row]:
    rows: list[Row] = []
    cb, dec = fixtures.controler_bloc(), fixtures.decider()

    warm_tr = peers.TransitionsModel(cb.dossier)
    warm_psm = peers.psm_new(cb.dossier)

    def tr_warm() -> object:
        warm_tr.dossier = cb.dossier  # same input each call: the history must not grow between calls
        return peers.transitions_fire(warm_tr, cb.command, cb.now)

    def psm_warm() -> object:
        warm_psm.model.dossier = cb.dossier
        return peers.psm_fire(warm_psm, cb.command, cb.now)

    t = compare({
        "floor": lambda: peers.floor_apply(cb.dossier, cb.command, cb.now),
        "handle": lambda: handle(cb.dossier, cb.command, now=cb.now),
        "transitions": lambda: peers.transitions_request(cb.dossier, cb.command, cb.now),
        "psm": lambda: peers.psm_request(cb.dossier, cb.command, cb.now),
        "transitions_warm": tr_warm,
        "psm_warm": psm_warm,
    }, cfg.timing)
    r = t.ratio("handle", "floor")
    rows.append(Row("`handle()` without e-mail (`controler_bloc`) vs floor",
                    f"{us(t.median('handle'))} vs {us(t.median('floor'))} = {times(r)}", "≤ 5×", verdict(r <= 5)))
    for peer, label in (("transitions", "`transitions`, a Machine per dossier"),
                        ("psm", "python-statemachine 3.x, an instance per dossier")):
        r = t.ratio(peer, "handle")
        rows.append(Row(f"{label}: build + fire `controler_bloc`, vs `handle()`",
                        f"{us(t.median(peer))} = handle × {r:.2f}", "≥ 5×", verdict(r >= 5)))
    for peer, label in (("transitions_warm", "`transitions`"), ("psm_warm", "python-statemachine")):
        r = t.ratio(peer, "handle")
        rows.append(Row(f"{label}: fire only on a machine kept in memory, vs `handle()`",
                        f"{us(t.median(peer))} = handle × {r:.2f}", "(information)", INFO))

    t = compare({
        "floor": lambda: peers.floor_apply(dec.dossier, dec.command, dec.now),
        "handle": lambda: handle(dec.dossier, dec.command, now=dec.now),
        "transitions": lambda: peers.transitions_request(dec.dossier, dec.command, dec.now),
        "psm": lambda: peers.psm_request(dec.dossier, dec.command, dec.now),
    }, cfg.timing)
    r = t.ratio("handle", "floor")
    rows.append(Row("`handle()` with e-mail rendering (`decider`) vs floor",
                    f"{us(t.median('handle'))} vs {us(t.median('floor'))} = {times(r)}", "≤ 10×", verdict(r <= 10)))
    for peer, label in (("transitions", "`transitions`"), ("psm", "python-statemachine")):
        r = t.ratio(peer, "handle")
        rows.append(Row(f"{label}: build + fire `decider` (no e-mail), vs `handle()` rendering its e-mail",
                        f"{us(t.median(peer))} = handle × {r:.2f}", "(information)", INFO))
    return rows


def lifecycle(cfg: Config) -> list[Row]:
    first, steps = fixtures.lifecycle()

    def run_handle() -> Dossier:
        d = first
        for command, now in steps:
            d = handle(d, command, now=now).dossier
        return d

    def run_floor() -> Dossier:
        d = first
        for command, now in steps:
            d = peers.floor_apply(d, command, now)
        return d

    def run_tr() -> Dossier:
        model = peers.TransitionsModel(first)
        for command, now in steps:
            peers.transitions_fire(model, command, now)
        return model.dossier

    def run_psm() -> Dossier:
        machine = peers.psm_new(first)
        for command, now in steps:
            peers.psm_fire(machine, command, now)
        d: Dossier = machine.model.dossier
        return d

    expected = run_handle()
    for other in (run_tr, run_psm, run_floor):  # the same work: the same history, entry for entry
        assert other().history == expected.history, other
    t = compare({"handle": run_handle, "floor": run_floor, "transitions": run_tr, "psm": run_psm}, cfg.timing)
    n = len(steps)
    rows = [Row(f"full lifecycle, {n} commands after the deposit (`handle()` chain)",
                f"{us(t.median('handle'))} ({us(t.median('handle') / n)} per command) = floor × "
                f"{t.ratio('handle', 'floor'):.2f}", "(information)", INFO)]
    for peer, label in (("transitions", "`transitions`"), ("psm", "python-statemachine")):
        r = t.ratio(peer, "handle")
        rows.append(Row(f"full lifecycle, {label} (one machine for the lifecycle, no e-mail) vs `handle()` "
                        "(6 e-mails rendered)", f"{us(t.median(peer))} = handle × {r:.2f}", "(information)", INFO))
    return rows


def entry_points(cfg: Config) -> list[Row]:
    cb = fixtures.controler_bloc()
    command = fixtures.deposer(1)
    numero = fixtures.numero(1)
    gest, prov = GESTIONNAIRE, owner(cb.dossier)
    contenders: dict[str, Callable[[], object]] = {
        "start": lambda: start(command, numero=numero, now=fixtures.NOW),
        "allowed_g": lambda: allowed_commands(cb.dossier, gest),
        "allowed_p": lambda: allowed_commands(cb.dossier, prov),
        "floor": lambda: peers.floor_apply(cb.dossier, cb.command, cb.now),
    }
    doc = ser.to_dict(cb.dossier)
    text = json.dumps(doc)
    contenders["to_dict"] = lambda: ser.to_dict(cb.dossier)
    contenders["from_dict"] = lambda: ser.from_dict(doc)
    contenders["roundtrip_json"] = lambda: ser.from_dict(json.loads(json.dumps(ser.to_dict(cb.dossier))))
    assert ser.from_dict(json.loads(text)) == cb.dossier
    t = compare(contenders, cfg.timing)
    rows = [
        Row("`start()` (deposit, 3 pieces checked, acknowledgement e-mail rendered)",
            f"{us(t.median('start'))} = floor × {t.ratio('start', 'floor'):.2f}", "(information)"),
        Row("`allowed_commands()` (gestionnaire / provider, avance en instruction)",
            f"{us(t.median('allowed_g'))} / {us(t.median('allowed_p'))}", "(information)"),
    ]
    h = len(cb.dossier.history)
    entries = "1 history entry" if h == 1 else f"{h} history entries"
    rows.append(Row(f"`serialization.to_dict` / `from_dict` (dossier with {entries})",
                    f"{us(t.median('to_dict'))} / {us(t.median('from_dict'))}; with JSON text both ways "
                    f"{us(t.median('roundtrip_json'))}", "(information)"))
    return rows


# -- history length -------------------------------------------------------------------------------------------
def history_scaling(cfg: Config) -> list[Row]:
    dossiers = {n: fixtures.with_history(n) for n in cfg.history_lengths}
    command = ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK)
    def op(d: Dossier) -> Callable[[], object]:
        return lambda: handle(d, command, now=fixtures.NOW)

    t = compare({str(n): op(d) for n, d in dossiers.items()}, cfg.timing)
    lo, hi = str(cfg.history_lengths[0]), str(cfg.history_lengths[-1])
    r = t.ratio(hi, lo)
    figures = ", ".join(f"{n}: {us(t.median(str(n)))}" for n in cfg.history_lengths)
    # Building a history of n entries costs n commands; per-command cost flat <=> the build is linear.
    rows = [Row(f"`handle()` per command vs history length ({figures})",
                f"{hi} entries / {lo} entries = {times(r)}", "≤ 1.5× (near-linear build)", verdict(r <= 1.5))]

    def roundtrip(d: Dossier) -> Callable[[], object]:
        return lambda: ser.from_dict(json.loads(json.dumps(ser.to_dict(d))))

    t = compare({str(n): roundtrip(d) for n, d in dossiers.items()}, cfg.timing)
    lengths = cfg.history_lengths
    mid = str(lengths[-2]) if len(lengths) > 2 else lo
    per_entry = (t.ratio(hi, mid)) * int(mid) / int(hi)
    figures = ", ".join(f"{n}: {us(t.median(str(n)))}" for n in lengths)
    rows.append(Row(f"JSON round trip (`to_dict` → text → `from_dict`) vs history length ({figures})",
                    f"per entry, {hi} entries / {mid} entries = {times(per_entry)}", "≤ 1.5× (near-linear)",
                    verdict(per_entry <= 1.5)))
    return rows


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
        dossiers = [ser.from_dict(json.loads(texts[i % len(texts)].replace(
            fixtures.numero(i % len(texts)), fixtures.numero(i)))) for i in range(n)]
        loaded = current()
        plains = [plain(d) for d in dossiers]
        both = current()
        del dossiers
        only_plain = current()
        containers = (both - only_plain) / n  # the dossiers' own objects, beyond the shared leaves
        plain_containers = (both - loaded) / n
        own = (only_plain - base) / n  # leaves + plain containers: "its own data"
        overhead = containers - plain_containers
        k = min(n, 500)
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


# -- SQLite ----------------------------------------------------------------------------------------------------
@attrs.frozen
class _Table:
    """Where the repository keeps a dossier: the table and the row of ``numero``, found by looking."""

    name: str
    columns: tuple[str, ...]
    key: str  # the column holding the numero


def _find_table(path: str, numero: str) -> _Table:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in tables:
            cols = tuple(r[1] for r in db.execute(f'PRAGMA table_info("{name}")'))
            for col in cols:
                if db.execute(f'SELECT 1 FROM "{name}" WHERE "{col}" = ?', (numero,)).fetchone():
                    return _Table(name, cols, col)
    raise LookupError(f"no table holds {numero}")


def _clone_rows(path: str, table: _Table, template: Dossier, count: int, start_at: int,
                doc_of: Callable[[int], Mapping[str, str]]) -> None:
    """Bulk-insert ``count`` copies of the template's row, numero and provider made distinct."""
    with sqlite3.connect(path) as db:
        row = db.execute(f'SELECT * FROM "{table.name}" WHERE "{table.key}" = ?', (template.numero,)).fetchone()
        old = {"numero": template.numero, "ans_id": template.fournisseur.ans_id}
        cols = ", ".join(f'"{c}"' for c in table.columns if c != "rowid")
        marks = ", ".join("?" for _ in table.columns)

        def distinct(value: object, new: Mapping[str, str]) -> object:
            if not isinstance(value, str):
                return value
            value = value.replace(old["numero"], new["numero"])
            if value.startswith("{"):
                # In the JSON document only the provider's own id changes: the history entries name
                # their actor too, and those are covered by the hash chain that loading verifies.
                return value.replace(f'"ans_id":"{old["ans_id"]}"', f'"ans_id":"{new["ans_id"]}"')
            return value.replace(old["ans_id"], new["ans_id"])

        def rows() -> Iterator[tuple[object, ...]]:
            for i in range(start_at, start_at + count):
                new = doc_of(i)
                yield tuple(distinct(v, new) for v in row)

        db.execute("BEGIN")
        db.executemany(f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})', rows())
        db.commit()


def sqlite_floor(cfg: Config) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.sqlite3")
        repo = sq.SQLiteRepository(path)
        d = fixtures.fresh_dossier(1, at_status=Status.AVANCE_EN_INSTRUCTION)
        repo.add(d, outbox=())
        table = _find_table(path, d.numero)
        raw = sqlite3.connect(path, isolation_level=None)
        repo_conn = _repo_conn(repo)
        row = raw.execute(f'SELECT * FROM "{table.name}" WHERE "{table.key}" = ?', (d.numero,)).fetchone()
        doc_col = max(range(len(row)), key=lambda i: len(row[i]) if isinstance(row[i], str | bytes) else 0)
        doc_name = table.columns[doc_col]
        payload = row[doc_col]
        # SQLite skips writing a row whose bytes do not change: the floor bumps the version, as save does.
        bump = ', "version" = "version" + 1' if "version" in table.columns else ""
        update = f'UPDATE "{table.name}" SET "{doc_name}" = ?{bump} WHERE "{table.key}" = ?'

        def repo_get_save() -> object:
            stored = repo.get(d.numero)
            return repo.save(stored.dossier, expected_version=stored.version, outbox=())

        def raw_update() -> object:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute(update, (payload, d.numero))
            raw.execute("COMMIT")
            return None

        rows: list[Row] = []
        sync = repo_conn.execute("PRAGMA synchronous").fetchone()[0] if repo_conn is not None else None
        modes: list[tuple[int | None, str]] = [(sync, "as the repository opens it")]
        if repo_conn is not None and sync != 1:
            modes.append((1, "both with `synchronous=NORMAL` (no fsync per commit)"))
        for level, how in modes:
            if level is not None:
                raw.execute(f"PRAGMA synchronous={int(level)}")
                if repo_conn is not None:
                    repo_conn.execute(f"PRAGMA synchronous={int(level)}")
            t = compare({"repo": repo_get_save, "raw": raw_update}, cfg.timing)
            r = t.ratio("repo", "raw")
            mode = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, "?") if level is not None else "?"
            first = len(rows) == 0
            rows.append(Row(
                f"SQLite `get` + `save` vs raw `sqlite3` UPDATE of the same row, WAL, synchronous={mode} ({how})",
                f"{us(t.median('repo'))} vs {us(t.median('raw'))} = {times(r)}",
                "≤ 3×" if first else "(information)", verdict(r <= 3) if first else INFO))
        raw.close()
        _close(repo)
    return rows


def _repo_conn(repo: Any) -> sqlite3.Connection | None:
    """The repository's connection, to read (and for the information row, set) its settings."""
    for attr in ("_conn", "conn", "_db", "db", "connection", "_connection"):
        conn = getattr(repo, attr, None)
        if isinstance(conn, sqlite3.Connection):
            return conn
    return None


def _close(repo: Any) -> None:
    close = getattr(repo, "close", None)
    if callable(close):
        close()


def sqlite_scaling(cfg: Config) -> list[Row]:
    results: dict[int, float] = {}
    gets: dict[int, float] = {}
    notes: list[str] = []
    rng = random.Random(8)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "scale.sqlite3")
        repo = sq.SQLiteRepository(path)
        template = fixtures.fresh_dossier(0, at_status=Status.AVANCE_EN_INSTRUCTION)
        repo.add(template, outbox=())
        table = _find_table(path, template.numero)
        have = 1
        rate = None  # rows per second of the bulk insert, measured on the way up
        for size in cfg.scaling_sizes:
            if rate is not None and (size - have) / rate > cfg.scaling_build_budget:
                notes.append(f"{size:,} rows skipped: building them would take about {(size - have) / rate:.0f} s "
                             f"at the measured {rate:,.0f} rows/s, over the run's budget")
                break
            started = time.perf_counter()
            _clone_rows(path, table, template, size - have, have,
                        lambda i: {"numero": fixtures.numero(i), "ans_id": fixtures.fournisseur(i).ans_id})
            if size - have > 1000:
                rate = (size - have) / (time.perf_counter() - started)
            have = size
            picks = [fixtures.numero(rng.randrange(size)) for _ in range(cfg.sqlite_ops)]
            gest = GESTIONNAIRE
            results[size], gets[size] = _timed_commands(repo, picks, gest)
        _close(repo)
    sizes = sorted(results)
    lo, hi = sizes[0], sizes[-1]
    r = results[hi] / results[lo]
    r_get = gets[hi] / gets[lo]
    figures = ", ".join(f"{s:,}: {us(results[s])}" for s in sizes)
    read_figures = ", ".join(f"{s:,}: {us(gets[s])}" for s in sizes)
    return [
        Row(f"per-command cost (get + `controler_bloc` + save, as the repository opens the file) vs dossiers "
            f"in SQLite ({figures})",
            f"{hi:,} rows / {lo:,} rows = {times(r)}" + ("; " + "; ".join(notes) if notes else ""),
            "flat (≤ 1.5×)", verdict(r <= 1.5)),
        Row(f"`get` alone (no commit, so no fsync hides the lookup) vs dossiers in SQLite ({read_figures})",
            f"{hi:,} rows / {lo:,} rows = {times(r_get)}", "flat (≤ 1.5×)", verdict(r_get <= 1.5)),
    ]


def _timed_commands(repo: Any, picks: list[str], actor: Actor) -> tuple[float, float]:
    """Median per-command time of get → handle → save, and of the get alone, over 5 chunks."""
    chunks = [picks[i::5] for i in range(5)]
    per: list[float] = []
    reads: list[float] = []
    results = (Controle.OK, Controle.KO)
    for chunk in chunks:
        gc.collect()
        started = time.perf_counter()
        for k, numero in enumerate(chunk):
            stored = repo.get(numero)
            out = handle(stored.dossier, ControlerBloc(actor, Bloc.INFORMATIONS, results[k % 2]), now=fixtures.NOW)
            repo.save(out.dossier, expected_version=stored.version, outbox=out.emails)
        per.append((time.perf_counter() - started) / max(1, len(chunk)))
        started = time.perf_counter()
        for numero in chunk:
            repo.get(numero)
        reads.append((time.perf_counter() - started) / max(1, len(chunk)))
    per.sort()
    reads.sort()
    return per[len(per) // 2], reads[len(reads) // 2]


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


def property_run(cfg: Config) -> list[Row]:
    case = "stateful property run (1,000 examples, `segur_workflow.testing.machine`)"
    rows: list[Row] = []
    ids, total = _project_machine_tests()
    if cfg.property_examples < 1000:
        rows.append(Row(case + ", as `make test` runs it", "not run in --quick", "< 30 s", PENDING))
    elif not ids:
        rows.append(Row(case + ", as `make test` runs it", "no TestCase of the machine in tests/", "< 30 s", PENDING))
    else:
        took, proc = _pytest(["-n", "2", *ids], REPO, cfg.property_timeout)
        names = ", ".join(f"`{i.split('::')[1]}`" for i in ids)
        if proc.returncode != 0:
            rows.append(Row(case + ", as `make test` runs it", f"failed after {took:.1f} s: {_failed(proc)}",
                            "< 30 s", MISSED))
        else:
            rows.append(Row(f"stateful property run as `make test` runs it: {names} ({total:,} examples, "
                            "`pytest -n 2`), wall time", f"{took:.1f} s (interpreter start included)", "< 30 s",
                            verdict(took < 30)))
    test = (
        "from hypothesis import HealthCheck, settings\n"
        "from segur_workflow.testing.machine import DossierMachine as M\n"
        f"TestRun = settings(max_examples={cfg.property_examples}, stateful_step_count={STEPS}, deadline=None,\n"
        "                   database=None,\n"
        "                   suppress_health_check=list(HealthCheck))(M).TestCase\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "test_bench_property_run.py"
        file.write_text(test, encoding="utf-8")
        took, proc = _pytest(["-x", str(file)], Path(tmp), cfg.property_timeout)
    label = (f"the same machine, {cfg.property_examples:,} examples of {STEPS} steps in **one** process "
             "(no xdist)")
    if proc.returncode != 0:
        rows.append(Row(label, f"failed after {took:.1f} s: {_failed(proc)}", "(information)", MISSED))
    else:
        rows.append(Row(label, f"{took:.1f} s (interpreter start included)", "(information)", INFO))
    return rows


CASES: Mapping[str, Callable[[Config], list[Row]]] = MappingProxyType({
    "per_command": per_command,
    "lifecycle": lifecycle,
    "entry_points": entry_points,
    "history": history_scaling,
    "memory": memory,
    "sqlite": sqlite_floor,
    "scaling": sqlite_scaling,
    "property": property_run,
    "files": case_files.files,
})

__all__ = ["CASES", "INFO", "Config", "Row"]
