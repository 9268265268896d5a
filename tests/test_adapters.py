"""The adapter contract on our three adapters, plus what is specific to each of them."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from segur_workflow import (
    ConcurrencyConflict,
    Dossier,
    DossierAltere,
    DossierNotFound,
    SerializationError,
    Status,
)
from segur_workflow.adapters.memory import InMemoryRepository, _Entry
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.emails import Email
from segur_workflow.ports import DossierRepository
from segur_workflow.testing.contract import (
    RepositoryContract,
    SQLTampering,
    Tampering,
    make_dossier,
    postgres_dsn,
    step,
)


class TestInMemoryRepository(RepositoryContract):
    @pytest.fixture
    def repository(self) -> DossierRepository:
        return InMemoryRepository()


class TestSQLiteRepository(RepositoryContract):
    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[DossierRepository]:
        with SQLiteRepository(tmp_path / "dossiers.sqlite3") as repo:
            yield repo

    @pytest.fixture
    def tampering(self, tmp_path: Path) -> Tampering:
        return SQLTampering(lambda: sqlite3.connect(tmp_path / "dossiers.sqlite3"))


class TestKeyedSQLiteRepository(RepositoryContract):
    @pytest.fixture
    def repository(self, tmp_path: Path) -> Iterator[DossierRepository]:
        with SQLiteRepository(tmp_path / "dossiers.sqlite3", key=b"cle de test du contrat") as repo:
            yield repo

    @pytest.fixture
    def tampering(self, tmp_path: Path) -> Tampering:
        return SQLTampering(lambda: sqlite3.connect(tmp_path / "dossiers.sqlite3"))


class TestSQLiteInMemoryDatabase(RepositoryContract):
    @pytest.fixture
    def repository(self) -> Iterator[DossierRepository]:
        with SQLiteRepository(":memory:") as repo:
            yield repo


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server for one test, dropped afterwards."""
    import psycopg

    dsn = postgres_dsn()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield dsn, schema
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
class TestPostgresRepository(RepositoryContract):
    @pytest.fixture
    def repository(self, pg_schema: tuple[str, str]) -> Iterator[DossierRepository]:
        from segur_workflow.adapters.postgres import PostgresRepository

        dsn, schema = pg_schema
        with PostgresRepository(dsn, schema=schema) as repo:
            yield repo

    @pytest.fixture
    def tampering(self, pg_schema: tuple[str, str]) -> Tampering:
        import psycopg

        dsn, schema = pg_schema
        return SQLTampering(lambda: psycopg.connect(dsn, options=f"-c search_path={schema}"), "%s")


def test_every_adapter_satisfies_the_protocol(tmp_path: Path) -> None:
    assert isinstance(InMemoryRepository(), DossierRepository)
    with SQLiteRepository(tmp_path / "p.sqlite3") as repo:
        assert isinstance(repo, DossierRepository)


def test_sqlite_file_is_in_wal_mode_and_shared_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    dossier, emails = make_dossier(1)
    with SQLiteRepository(path) as writer, SQLiteRepository(path) as reader:
        writer.add(dossier, outbox=emails)
        assert reader.get(dossier.numero).dossier == dossier
        assert [e.email for e in reader.pending_emails()] == list(emails)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_refuses_a_tampered_row(tmp_path: Path) -> None:
    path = tmp_path / "tampered.sqlite3"
    dossier, _ = make_dossier(1, Status.AVANCE_DECIDEE)
    with SQLiteRepository(path) as repo:
        repo.add(dossier, outbox=())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE journal SET entries = replace(entries, '\"trigger\":\"decider\"',"
                     " '\"trigger\":\"rejeter\"')")
    with SQLiteRepository(path) as repo, pytest.raises(DossierAltere) as info:
        repo.get(dossier.numero)
    assert info.value.field == "journal[1]"
    assert isinstance(info.value, SerializationError)


def test_sqlite_version_check_is_in_the_database(tmp_path: Path) -> None:
    # Two repositories read version 1; the database, not Python, lets exactly one save through.
    path = tmp_path / "v.sqlite3"
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    with SQLiteRepository(path) as a, SQLiteRepository(path) as b:
        a.add(dossier, outbox=())
        one, emails_one = step(dossier, command_id="a")
        two, emails_two = step(dossier, command_id="b")
        assert a.save(one, expected_version=a.get(dossier.numero).version, outbox=emails_one) == 2
        with pytest.raises(ConcurrencyConflict):
            b.save(two, expected_version=1, outbox=emails_two)
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1


def test_missing_dossier_after_reopen(tmp_path: Path) -> None:
    with SQLiteRepository(tmp_path / "e.sqlite3") as repo, pytest.raises(DossierNotFound):
        repo.get("FINSAS000001")


def test_postgres_adapter_names_the_extra_when_psycopg_is_missing() -> None:
    # A child interpreter where `import psycopg` fails, as on an install without the extra.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "try:\n    import segur_workflow.adapters.postgres\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "segur-workflow[postgres]" in out


@pytest.mark.postgres
def test_postgres_refuses_a_bad_schema_name() -> None:
    from segur_workflow import InvalidInput
    from segur_workflow.adapters.postgres import PostgresRepository

    with pytest.raises(InvalidInput):
        PostgresRepository(postgres_dsn(), schema='x"; DROP TABLE dossiers; --')


# -- the contract can fail: adapters that break a promise are caught ---------------------------------------------
class _NoVersionCheck(InMemoryRepository):
    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email], **rest: Any) -> int:
        current = self.get(dossier.numero).version
        return super().save(dossier, expected_version=current, outbox=outbox, **rest)


class _OutboxOutsideTransaction(InMemoryRepository):
    """Writes the outbox even when the state write is refused afterwards."""

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email], **rest: Any) -> int:
        self._entries["email"].extend(_Entry("email", 900 + i, dossier.numero, expected_version + 1, email=e)
                                      for i, e in enumerate(outbox))
        return super().save(dossier, expected_version=expected_version, outbox=outbox, **rest)


def test_contract_catches_a_save_without_version_check() -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        RepositoryContract().test_stale_save_conflicts_and_writes_nothing(_NoVersionCheck())


def test_contract_catches_an_outbox_written_outside_the_transaction() -> None:
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        RepositoryContract().test_stale_save_conflicts_and_writes_nothing(_OutboxOutsideTransaction())
