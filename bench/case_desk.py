"""Benchmark cases of the gestionnaire's desk (issue 16): worklists, workload and exports.

* ``search`` of one status page (50 rows) among N dossiers, on SQLite and PostgreSQL: the first page
  and a page deep in the keyset (``after`` = the numero a quarter of the way);
* a worklist read does not grow with the dossiers' history: a page of the 50 dossiers whose histories
  hold 1,000 entries vs a page of 50 whose histories hold 3 — target ≤ 1.5×;
* ``workload`` of a pool of 20 gestionnaires (the default assignment policy's read at every deposit);
* ``exports.write`` of every row, read page by page (keyset, 1,000 a page), to CSV, XLSX and ODS.

The dossiers are sealed copies written by the repository's own code (:func:`bench.case_storage.clone_sealed`):
one template per (status, gestionnaire), interleaved by numero so that every status page and every
gestionnaire's list spans the whole table, plus the 100 dossiers of the history comparison.

:func:`desk` is ``make bench``'s case (the runner plans its share: ``COSTS``/``SCALES`` below, bench/plan.py):
a database it can build within that share (``SEGUR_BENCH_DESK_DOSSIERS``, 2,000 at scale 1); alone:
``python -m bench.case_desk``. The issue's 100,000 are measured apart by
``python -m bench.large desk --dossiers 100000`` (:func:`large`), which writes its section of
docs/benchmarks-large.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from segur_workflow import exports
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.ports import DossierSummary
from segur_workflow.states import Status
from segur_workflow.testing.contract import fournisseur, make_dossier

try:
    from .case_storage import clone_sealed
    from .fixtures import with_history
    from .report import INFO, Row, us, verdict
except ImportError:  # run as a script
    from bench.case_storage import clone_sealed
    from bench.fixtures import with_history
    from bench.report import INFO, Row, us, verdict

PAGE = 50
POOL = tuple(f"gestionnaire.{i:02d}" for i in range(20))
LONG, SHORT = "g.historique_long", "g.historique_court"
#: The status whose pages are read (any would do: the templates spread the statuses evenly).
STATUS = Status.SOLDE_EN_INSTRUCTION

#: Wall seconds of a full run at scale 1 (2,000 dossiers, SQLite and PostgreSQL) on the project's machine when
#: quiet (bench.plan); the case reads ``cfg.scale`` (SCALES).
COSTS = {"desk": 20.0}
SCALES = ("desk",)
POSTGRES = ("desk",)


def _numero(n: int) -> str:
    return f"FINSAS{n:06d}"


def _copies(templates: int, t: int) -> tuple[Callable[[int], str], Callable[[int], Any]]:
    """``clone_sealed``'s numbering of template ``t``'s copies: copy ``i`` is dossier ``i × templates + t + 1``
    (the templates interleaved by numero), with that dossier's own provider."""
    return (lambda i: _numero(i * templates + t + 1)), (lambda i: fournisseur(i * templates + t + 1))


def build(repo: Any, count: int, *, histories: bool = True, progress: Callable[[int], object] | None = None
          ) -> float:
    """Store ``count`` dossiers in ``repo`` (an SQL repository); return the seconds it took.

    Copies of the (status, gestionnaire) templates, numero ``n`` taking template ``n % templates``;
    then (``histories``) 50 dossiers of 1,000 history entries (gestionnaire :data:`LONG`) and 50 of 3
    (:data:`SHORT`), last in numero order.
    """
    by_status = [make_dossier(1, status)[0] for status in Status]
    # the same dossier in every gestionnaire's hands (as after a reaffectation): search reads the column
    templates = [attrs.evolve(d, gestionnaire=who) for d in by_status for who in POOL]
    main = count - 2 * PAGE if histories else count
    started = time.perf_counter()
    written = 0
    for t, template in enumerate(templates):
        copies = (main - t + len(templates) - 1) // len(templates)
        if copies <= 0:
            continue
        numero_of, fournisseur_of = _copies(len(templates), t)
        clone_sealed(repo, [template], copies, start_at=0, numero_of=numero_of, fournisseur_of=fournisseur_of)
        written += copies
        if progress is not None:
            progress(written)
    if not histories:
        return time.perf_counter() - started
    long = attrs.evolve(with_history(1000), gestionnaire=LONG)
    short = make_dossier(1, Status.AVANCE_EN_INSTRUCTION, gestionnaire=SHORT)[0]
    for k, special in enumerate((long, short)):
        first = main + 1 + k * PAGE
        clone_sealed(repo, [special], PAGE, start_at=first, numero_of=_numero, fournisseur_of=fournisseur)
    if progress is not None:
        progress(count)
    return time.perf_counter() - started


def _median(op: Callable[[], object], seconds: float) -> float:
    """Median seconds of ``op`` over about ``seconds`` of runs (at least 7, at most 2,000)."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 7 or (time.perf_counter() < deadline and len(samples) < 2000):
        started = time.perf_counter()
        op()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _interleaved(a: Callable[[], object], b: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Medians of ``a`` and ``b`` measured in alternating rounds (a loaded machine slows both alike)."""
    ta: list[float] = []
    tb: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(ta) < 7 or (time.perf_counter() < deadline and len(ta) < 1000):
        for op, into in ((a, ta), (b, tb)):
            started = time.perf_counter()
            op()
            into.append(time.perf_counter() - started)
    return statistics.median(ta), statistics.median(tb)


def reads(repo: Any, label: str, count: int, seconds: float, *, histories: bool = True) -> Iterator[Row]:
    """The worklist rows of ``repo`` (built by :func:`build` with ``count`` dossiers and ``histories``)."""
    first = repo.search(status=STATUS, limit=PAGE)
    middle = _numero(count // 4)  # deep in the keyset, with pages of this status still after it
    deep = repo.search(status=STATUS, limit=PAGE, after=middle)
    assert first
    assert deep
    assert deep[0].numero > middle
    assert all(s.status is STATUS for s in first + deep)
    t_first = _median(lambda: repo.search(status=STATUS, limit=PAGE), seconds)
    t_deep = _median(lambda: repo.search(status=STATUS, limit=PAGE, after=middle), seconds)
    yield Row(f"`search(status=…, limit={PAGE})`: one status page among {count:,} dossiers, {label}",
              f"first page {us(t_first)}, the page after {middle} {us(t_deep)}", "measured", INFO)
    mine = repo.search(status=STATUS, gestionnaire=POOL[3], limit=PAGE)
    assert mine
    assert all(s.gestionnaire == POOL[3] for s in mine)
    t_mine = _median(lambda: repo.search(status=STATUS, gestionnaire=POOL[3], limit=PAGE), seconds)
    yield Row(f"`search(status=…, gestionnaire=…)`: a gestionnaire's page of one status, {label}",
              f"{us(t_mine)} ({len(mine)} rows)", "measured", INFO)
    yield from _histories(repo, label, seconds) if histories else ()
    load = repo.workload(POOL)
    assert sum(load.values()) > 0
    t_load = _median(lambda: repo.workload(POOL), seconds)
    yield Row(f"`workload` of a pool of {len(POOL)} gestionnaires among {count:,} dossiers, {label}",
              us(t_load), "measured", INFO)


def _histories(repo: Any, label: str, seconds: float) -> Iterator[Row]:
    longs = repo.search(gestionnaire=LONG, limit=PAGE)
    shorts = repo.search(gestionnaire=SHORT, limit=PAGE)
    assert len(longs) == len(shorts) == PAGE
    t_long, t_short = _interleaved(lambda: repo.search(gestionnaire=LONG, limit=PAGE),
                                   lambda: repo.search(gestionnaire=SHORT, limit=PAGE), seconds)
    ratio = t_long / t_short
    yield Row(f"worklist page of {PAGE} dossiers with 1,000-entry histories vs 3-entry ones, {label}",
              f"{us(t_long)} vs {us(t_short)} ({ratio:.2f}×)", "≤ 1.5×", verdict(ratio <= 1.5))


def _every_row(repo: Any, page: int = 1000) -> Iterator[DossierSummary]:
    after = None
    while True:
        rows = repo.search(limit=page, after=after)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].numero


def export_rows(repo: Any, count: int, folder: Path, formats: Sequence[str] = exports.FORMATS) -> Iterator[Row]:
    """``exports.write`` of every row of ``repo`` to each format, read page by page from it."""
    for fmt in formats:
        target = folder / f"export.{fmt}"
        started = time.perf_counter()
        written = exports.write(_every_row(repo), target, format=fmt)
        took = time.perf_counter() - started
        assert written == count, (written, count)
        yield Row(f"`exports.write` of {count:,} rows to {fmt.upper()}, read page by page from SQLite",
                  f"{took:.1f} s ({us(took / count)} per row, {target.stat().st_size / 1e6:.2f} MB)", "measured", INFO)
        target.unlink()


def _sqlite_rows(count: int, seconds: float, folder: Path, formats: Sequence[str], *, histories: bool = True
                 ) -> Iterator[Row]:
    path = folder / "desk.sqlite3"
    with SQLiteRepository(path) as repo:
        repo._conn.execute("PRAGMA synchronous=OFF")  # building only: the reads are what is measured
        built = build(repo, count, histories=histories)
    with SQLiteRepository(path, read_only=True) as repo:
        yield from reads(repo, f"SQLite (built in {built:.0f} s)", count, seconds, histories=histories)
        yield from export_rows(repo, count, folder, formats)


def _postgres_rows(dsn: str, count: int, seconds: float) -> Iterator[Row]:
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    schema = f"bench_desk_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresRepository(dsn, schema=schema) as repo:
            built = build(repo, count)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'VACUUM (ANALYZE) "{schema}".dossiers')  # what autovacuum does after a bulk load
            yield from reads(repo, f"PostgreSQL (built in {built:.0f} s)", count, seconds)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def desk(cfg: Any) -> Iterator[Row]:
    """The ``make bench`` rows: a database the case's deadline holds (the 100,000 are :func:`large`'s).

    A quick run only checks that the case works: 160 dossiers on SQLite, no history pages, CSV.
    """
    quick = bool(getattr(cfg, "quick_mode", False) or getattr(cfg, "quick", False))
    if quick:
        with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
            yield from _sqlite_rows(160, 0.05, Path(tmp), ("csv",), histories=False)
        return
    scale = min(1.0, max(0.0, float(getattr(cfg, "scale", 1.0))))
    count = int(os.environ.get("SEGUR_BENCH_DESK_DOSSIERS") or max(1_000, int(2_000 * scale)))
    seconds = 0.1 + 0.3 * scale
    with tempfile.TemporaryDirectory(prefix="bench-desk-") as tmp:
        yield from _sqlite_rows(count, seconds, Path(tmp), exports.FORMATS)
    dsn = os.environ.get("SEGUR_BENCH_PG_DSN")
    if dsn:
        yield from _postgres_rows(dsn, count, seconds)
    else:
        yield Row("desk reads on PostgreSQL", "not run: no SEGUR_BENCH_PG_DSN", "measured", INFO)


def large(count: int, *, pg_dsn: str | None, seconds: float = 2.0, say: Callable[[str], object] = print
          ) -> list[Row]:
    """The issue's targets at full size (``python -m bench.large desk``): every row, each said as it comes."""
    rows: list[Row] = []

    def keep(found: Iterator[Row]) -> None:
        for row in found:
            rows.append(row)
            say(f"{row.case}\n    {row.figure}   [{row.target}] {row.verdict}")

    with tempfile.TemporaryDirectory(prefix="bench-desk-large-") as tmp:
        keep(_sqlite_rows(count, seconds, Path(tmp), exports.FORMATS))
    if pg_dsn:
        keep(_postgres_rows(pg_dsn, count, seconds))
    return rows


if __name__ == "__main__":
    class _Cfg:
        quick = "--quick" in sys.argv

    for line in desk(_Cfg()):
        print(f"{line.case}\n    {line.figure}   [{line.target}] {line.verdict}")
