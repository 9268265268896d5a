"""Hypothesis profiles of our suite. ``HYPOTHESIS_PROFILE=mutation`` (set by scripts/mutation.sh): no
deadline, derandomized, fewer examples, so that a mutant is killed by a failing assertion, never by a
slow or unlucky run."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("mutation", deadline=None, derandomize=True, database=None, max_examples=10,
                          suppress_health_check=list(HealthCheck))
# Speed is measured by the benchmark, never by a timed assertion: the default profile has no deadline and no
# too-slow health check, so a loaded machine (CI on 2 cores) cannot fail a test that is correct.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))

if os.environ.get("HYPOTHESIS_PROFILE") == "mutation":
    # scrypt at its real cost (16 MiB, ~0.15 s) is most of an account test's time and none of what a mutant of
    # the engine or the rules changes: under mutation testing the digest is taken at the smallest cost. The
    # stored cost parameters and every comparison are unchanged.
    import hashlib

    from segur_workflow import _secret

    def _cheap_digest(secret: str, sel: bytes, n: int, r: int, p: int) -> bytes:
        return hashlib.scrypt(secret.encode("utf-8", "surrogatepass"), salt=sel, n=2, r=1, p=1, dklen=32)

    _secret._digest = _cheap_digest

    _MUTATION_EXAMPLES = 10

    def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
        """Under mutation testing every hypothesis test runs at most 10 examples, even one that asks for more
        (200 hostile texts cost 6 s to each surviving mutant of the engine): a survivor pays all its tests."""
        for item in items:
            function: Any = getattr(item, "obj", None)
            own = getattr(function, "_hypothesis_internal_use_settings", None)
            if own is not None and own.max_examples > _MUTATION_EXAMPLES:
                function._hypothesis_internal_use_settings = settings(own, max_examples=_MUTATION_EXAMPLES)
            case: Any = getattr(item, "cls", None)
            machine = getattr(case, "settings", None)
            if isinstance(machine, settings) and machine.max_examples > _MUTATION_EXAMPLES:
                case.settings = settings(machine, max_examples=_MUTATION_EXAMPLES,
                                         stateful_step_count=min(machine.stateful_step_count, 8))


# -- the SQL repositories the multi-process tests run on (each test gets its own file or schema) --------------------
@pytest.fixture
def sqlite_factory(tmp_path: Path) -> Callable[[], Any]:
    """A picklable factory of SQLite repositories on one fresh file (each process opens its own)."""
    from segur_workflow.adapters.sqlite import SQLiteRepository

    return functools.partial(SQLiteRepository, tmp_path / "repository.sqlite3")


@pytest.fixture
def postgres_factory() -> Iterator[Callable[[], Any]]:
    """The same on the PostgreSQL test server, in a schema of its own, dropped afterwards."""
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository
    from segur_workflow.testing.contract import postgres_dsn

    dsn = postgres_dsn()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    # Two connections per repository: a dozen processes stay well within the server's max_connections.
    yield functools.partial(PostgresRepository, dsn, schema=schema, pool_size=2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def factory(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """Each SQL adapter in turn: the same multi-process checks hold for both."""
    chosen: Callable[[], Any] = request.getfixturevalue(f"{request.param}_factory")
    return chosen
