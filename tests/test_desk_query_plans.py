"""The worklist reads use an index, never a scan of ``dossiers``: each ``search`` filter and ``workload``.

The statements are not restated here: they are captured as the repositories run them (``search`` with
every combination of filters, with and without ``after``; ``workload``), then given to the database's
own planner — SQLite's ``EXPLAIN QUERY PLAN``, PostgreSQL's ``EXPLAIN (FORMAT JSON)`` with sequential
scans disabled, so that a missing index shows as a ``Seq Scan`` (or as an index condition that does not
name the filtered column) instead of being hidden by the planner's preference for a small table.
A plan is served when ``dossiers`` is searched through an index whose condition names a filtered
column (both for the gestionnaire's page of one status, and for ``workload``), and no sort is needed
for a page (keyset order comes from the index).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.testing.contract import make_dossier, postgres_dsn

FILTERS = {"status": sw.Status.AVANCE_EN_INSTRUCTION, "gestionnaire": "c.martin", "ans_id": "tndSAS0002",
           "siret": "39431067600017"}
#: The filter sets whose every column the index must serve (the gestionnaire's list of one status); with
#: a more selective filter (siret, ans_id), the planner is free to search by it.
WHOLLY_SERVED = (frozenset({"status", "gestionnaire"}),)


class _Recorder:
    """A cursor (or sqlite3 connection) that remembers what it is asked to run."""

    def __init__(self, inner: Any, seen: list[tuple[str, tuple[Any, ...]]]) -> None:
        self._inner, self._seen = inner, seen

    def execute(self, query: str, params: Sequence[Any] = (), /) -> Any:
        self._seen.append((query, tuple(params)))
        return self._inner.execute(query, params)


def _recording(cls: type[Any]) -> type[Any]:
    class Recording(cls):  # type: ignore[misc]
        seen: list[tuple[str, tuple[Any, ...]]]

        @contextmanager
        def _reading(self) -> Iterator[_Recorder]:
            with super()._reading() as cur:
                yield _Recorder(cur, self.seen)

    return Recording


@attrs.frozen
class Plan:
    """What a plan says of ``dossiers``: scanned whole, the columns its index conditions name, sorted, and
    whether the rows are judged from the index alone (covering: the table itself is not read)."""

    scans: bool
    searched: frozenset[str]
    sorts: bool
    covering: bool
    text: str


def _sqlite_plan(conn: Any, query: str, params: tuple[Any, ...]) -> Plan:
    details = [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + query, params)]
    searched: set[str] = set()
    for d in details:
        m = re.match(r"SEARCH dossiers USING (?:COVERING )?INDEX \w+ \((.*)\)", d)
        if m:
            searched |= set(re.findall(r"(\w+)[=<>]", m.group(1)))
    return Plan(any(d.startswith("SCAN dossiers") for d in details), frozenset(searched),
                any("TEMP B-TREE" in d for d in details), any("COVERING INDEX" in d for d in details),
                " | ".join(details))


def _pg_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child)


def _pg_plan(conn: Any, query: str, params: tuple[Any, ...]) -> Plan:
    (document,), = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchall()
    nodes = list(_pg_nodes(document[0]["Plan"]))
    searched: set[str] = set()
    for n in nodes:
        searched |= set(re.findall(r"\((\w+) (?:=|>|<|>=|<=) ", n.get("Index Cond", "")))
    scans = any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "dossiers" for n in nodes)
    return Plan(scans, frozenset(searched), any(n["Node Type"] in {"Sort", "Incremental Sort"} for n in nodes),
                any(n["Node Type"] == "Index Only Scan" for n in nodes),
                " | ".join(f"{n['Node Type']} {n.get('Index Name', '')} {n.get('Index Cond', '')} "
                           f"{n.get('Filter', '')}" for n in nodes))


@attrs.frozen
class Database:
    repo: Any
    plan: Callable[[str, tuple[Any, ...]], Plan]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        repo = _recording(SQLiteRepository)(tmp_path / "plans.sqlite3")
        repo.seen = []
        with repo:
            _store(repo)
            yield Database(repo, lambda q, p: _sqlite_plan(repo._conn, q, p))
        return
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    dsn, schema = postgres_dsn(), f"t_{uuid.uuid4().hex[:12]}"
    try:
        repo = _recording(PostgresRepository)(dsn, schema=schema, pool_size=2)
        repo.seen = []
        with repo, psycopg.connect(dsn, autocommit=True) as conn:
            _store(repo)
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute("ANALYZE dossiers")
            conn.execute("SET enable_seqscan = off")  # a missing index must show, not be hidden by a tiny table
            yield Database(repo, lambda q, p: _pg_plan(conn, q, p))
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _store(repo: Any) -> None:
    statuses = (sw.Status.AVANCE_EN_INSTRUCTION, sw.Status.SOLDE_A_MODIFIER, sw.Status.SOLDE_DECIDEE)
    for n, status in enumerate(statuses, 1):
        d, emails = make_dossier(n, status, gestionnaire="c.martin")
        repo.add(d, outbox=emails)


def _planned(database: Database, call: Callable[[], object]) -> Plan:
    """The plan of the one statement ``call`` runs on the repository."""
    database.repo.seen.clear()
    call()
    (statement,) = database.repo.seen
    return database.plan(*statement)


FILTER_SETS = [frozenset(c) for r in range(1, len(FILTERS) + 1) for c in itertools.combinations(FILTERS, r)]


@pytest.mark.parametrize("after", [None, "FINSAS000001"])
@pytest.mark.parametrize("columns", FILTER_SETS, ids=lambda c: "+".join(sorted(c)))
def test_every_worklist_filter_is_served_by_an_index(database: Database, columns: frozenset[str],
                                                     after: str | None) -> None:
    plan = _planned(database, lambda: database.repo.search(**{c: FILTERS[c] for c in columns}, limit=50,
                                                           after=after))
    assert not plan.scans, plan.text
    assert plan.searched & columns, plan.text
    if columns in WHOLLY_SERVED:
        assert columns <= plan.searched, plan.text
    if "ans_id" not in columns:  # ans_id is unique: at most one row, whatever sorts it
        assert not plan.sorts, plan.text  # the page comes in numero order from the index, stops at its limit


def test_the_unfiltered_pages_come_in_key_order(database: Database) -> None:
    first = _planned(database, lambda: database.repo.search(limit=50))
    assert not first.sorts, first.text
    deeper = _planned(database, lambda: database.repo.search(limit=50, after="FINSAS000001"))
    assert not deeper.scans and not deeper.sorts and "numero" in deeper.searched, deeper.text


def test_workload_is_counted_from_an_index(database: Database) -> None:
    # Searched by gestionnaire, the status judged inside the index: SQLite searches both columns; PostgreSQL
    # 15 keeps the gestionnaire order for its GroupAggregate and filters the status in an index-only scan.
    plan = _planned(database, lambda: database.repo.workload(["c.martin", "a.durand"]))
    assert not plan.scans, plan.text
    assert "gestionnaire" in plan.searched, plan.text
    assert "status" in plan.searched or plan.covering, plan.text
