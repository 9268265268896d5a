"""Sealed storage (issue 11): the migration of a real schema-3 database, the CLI verify/migrate, keys and
rotation, re-hashing without the key, hostile documents, and the property "any single edit is refused"."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segur_workflow import DossierAltere, SerializationError, Status, cli, serialization
from segur_workflow import _seal as sealing
from segur_workflow._seal import Keyring
from segur_workflow.adapters._journal import message
from segur_workflow.adapters.sqlite import SQLiteRepository, migrate_database
from segur_workflow.service import SteppingClock, WorkflowService
from segur_workflow.testing import strategies
from segur_workflow.testing.contract import SQLTampering, make_dossier, step

FIXTURE = Path(__file__).parent / "data" / "schema3.sqlite3"
KEY = b"la cle de l'hote, 32 octets ....."


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    target = tmp_path / "ancienne.sqlite3"
    shutil.copyfile(FIXTURE, target)
    return target


def _old_rows(path: Path) -> dict[str, tuple[int, dict[str, Any]]]:
    with sqlite3.connect(path) as conn:
        return {n: (v, json.loads(d)) for n, v, d in conn.execute("SELECT numero, version, data FROM dossiers")}


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# -- the migration of a database written by the previous release --------------------------------------------------
def test_the_fixture_is_what_the_previous_release_wrote() -> None:
    rows = _old_rows(FIXTURE)
    assert len(rows) == 5
    assert {doc["schema_version"] for _, doc in rows.values()} == {3}
    assert all("history" in doc and "sceau" not in doc for _, doc in rows.values())


def test_a_database_of_the_previous_layout_is_not_read_before_its_migration(old_db: Path) -> None:
    with pytest.raises(SerializationError) as info:
        SQLiteRepository(old_db)
    assert "migrate" in info.value.reason
    assert "journal" not in {r[0] for r in sqlite3.connect(old_db).execute("SELECT name FROM sqlite_master")}


def test_migration_keeps_every_dossier_version_outbox_and_command(old_db: Path) -> None:
    before = _old_rows(old_db)
    outbox, commands = _count(old_db, "outbox"), _count(old_db, "commands")
    lines: list[str] = []
    assert migrate_database(old_db, key=KEY, log=lines.append) == 5
    assert len(lines) == 5
    assert all("schéma 3 → 4" in line for line in lines)
    with SQLiteRepository(old_db, key=KEY) as repo:
        for numero, (version, doc) in before.items():
            stored = repo.get(numero)
            assert stored.version == version
            assert stored.dossier == serialization.from_dict(doc, verify=False)
        assert list(repo.verify()) == []
        assert len(repo.pending_emails(limit=1000)) == outbox - _count(old_db, "outbox WHERE sent_at IS NOT NULL")
        found = repo.find_command("depot-5")
        assert found is not None
        assert found.version == 1
    with sqlite3.connect(old_db) as conn:
        assert conn.execute("SELECT actor_role, actor_id, subject, digest FROM commands WHERE command_id = ?",
                            ("FINSAS000003-2",)).fetchone() == ("gestionnaire", "gestionnaire.asp", "FINSAS000003", "")
        assert conn.execute("SELECT actor_role, actor_id, subject FROM commands WHERE command_id = 'depot-5'"
                            ).fetchone() == ("fournisseur", "tndSAS0005", "tndSAS0005")
    assert (_count(old_db, "outbox"), _count(old_db, "commands"), _count(old_db, "journal")) == (outbox, commands, 5)


def test_a_migrated_database_goes_on_with_the_service(old_db: Path) -> None:
    migrate_database(old_db, key=KEY)
    with SQLiteRepository(old_db, key=KEY) as repo:
        dossier = repo.get("FINSAS000004").dossier
        service = WorkflowService(repo, clock=SteppingClock(dossier.history[-1].at + timedelta(hours=1)))
        result = service.handle("FINSAS000004", _completer(dossier))
        assert result.version == 8
        assert repo.get("FINSAS000004").dossier.status is Status.SOLDE_EN_INSTRUCTION
        assert list(repo.verify()) == []


def _completer(dossier: Any) -> Any:
    from segur_workflow import examples

    (command,) = examples.commands_to_fire(dossier, "completer")
    return command


def test_migration_twice_changes_nothing_the_second_time(old_db: Path) -> None:
    migrate_database(old_db, key=KEY)
    with sqlite3.connect(old_db) as conn:
        first = conn.execute("SELECT numero, head FROM dossiers ORDER BY numero").fetchall()
    assert migrate_database(old_db, key=KEY) == 0
    with sqlite3.connect(old_db) as conn:
        assert conn.execute("SELECT numero, head FROM dossiers ORDER BY numero").fetchall() == first


def test_migration_refuses_an_edited_old_history_and_changes_nothing(old_db: Path) -> None:
    with sqlite3.connect(old_db) as conn:
        conn.execute("UPDATE dossiers SET data = replace(data, 'PV illisible', 'PV lisible') WHERE numero = ?",
                     ("FINSAS000003",))
    before = old_db.read_bytes()
    with pytest.raises(SerializationError) as info:
        migrate_database(old_db, key=KEY)
    assert info.value.field.startswith("FINSAS000003:history[")
    assert old_db.read_bytes() == before


def test_migration_refuses_a_downgraded_document(old_db: Path) -> None:
    # schema_version set back to 2 with the hashes deleted: the attack the old loader re-sealed silently.
    with sqlite3.connect(old_db) as conn:
        (data,) = conn.execute("SELECT data FROM dossiers WHERE numero = 'FINSAS000005'").fetchone()
        doc = json.loads(data)
        doc["schema_version"] = 2
        doc["history"] = [{k: v for k, v in e.items() if k != "hash"} for e in doc["history"]]
        doc["coordonnees_bancaires"]["iban"] = "FR7612345000019876543210185"
        doc["sceau"] = {}  # and a field of a newer schema: refused for not being what it claims
        conn.execute("UPDATE dossiers SET data = ? WHERE numero = 'FINSAS000005'", (json.dumps(doc),))
    with pytest.raises(SerializationError) as info:
        migrate_database(old_db, key=KEY)
    assert info.value.field == "FINSAS000005:sceau"


def _old_postgres_layout(dsn: str, schema: str) -> None:
    """The fixture's tables and rows in a PostgreSQL schema, as the previous release's PostgreSQL adapter laid them
    out (the same statements with ``data`` in jsonb, an identity key and moments in timestamptz)."""
    import psycopg
    from psycopg.types.json import Jsonb

    old = sqlite3.connect(FIXTURE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        for (statement,) in old.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE"
                                        " 'sqlite_%' ORDER BY type DESC, rowid"):
            conn.execute(statement.replace("data    TEXT", "data    jsonb")
                         .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "bigint GENERATED BY DEFAULT AS IDENTITY"
                                  " PRIMARY KEY").replace("sent_at   TEXT", "sent_at   timestamptz"))
        for table in ("dossiers", "outbox", "commands"):
            cursor = old.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                values = [Jsonb(json.loads(v)) if n == "data" else v for n, v in zip(names, row, strict=True)]
                conn.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
                             values)
        conn.execute("SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT max(id) FROM outbox))")


@pytest.mark.postgres
def test_migration_of_a_postgresql_database_of_the_previous_layout(postgres_factory: Any) -> None:
    from segur_workflow.adapters.postgres import PostgresRepository
    from segur_workflow.adapters.postgres import migrate_database as migrate_postgres

    dsn, schema = postgres_factory.args[0], postgres_factory.keywords["schema"]
    _old_postgres_layout(dsn, schema)
    before = _old_rows(FIXTURE)
    with pytest.raises(SerializationError) as info:  # not read before its migration
        PostgresRepository(dsn, schema=schema, key=KEY)
    assert "migrate" in info.value.reason
    lines: list[str] = []
    assert migrate_postgres(dsn, key=KEY, schema=schema, log=lines.append) == 5
    assert len(lines) == 5 and all("schéma 3 → 4" in line for line in lines)
    assert migrate_postgres(dsn, key=KEY, schema=schema) == 0  # twice: nothing the second time
    with PostgresRepository(dsn, schema=schema, key=KEY) as repo:
        for numero, (version, doc) in before.items():
            stored = repo.get(numero)
            assert (stored.dossier, stored.version) == (serialization.from_dict(doc, verify=False), version)
        assert list(repo.verify()) == []
        found = repo.find_command("depot-5")
        assert found is not None and (found.actor_role, found.actor_id, found.version) == ("fournisseur",
                                                                                          "tndSAS0005", 1)
        dossier = repo.get("FINSAS000004").dossier
        service = WorkflowService(repo, clock=SteppingClock(dossier.history[-1].at + timedelta(hours=1)))
        assert service.handle("FINSAS000004", _completer(dossier)).version == 8
        assert list(repo.verify()) == []


@pytest.mark.postgres
def test_postgresql_migration_refuses_an_edited_old_history_and_changes_nothing(postgres_factory: Any) -> None:
    import psycopg

    from segur_workflow.adapters.postgres import migrate_database as migrate_postgres

    dsn, schema = postgres_factory.args[0], postgres_factory.keywords["schema"]
    _old_postgres_layout(dsn, schema)
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute("UPDATE dossiers SET data = replace(data::text, 'PV illisible', 'PV lisible')::jsonb"
                     " WHERE numero = 'FINSAS000003'")
        before = conn.execute("SELECT numero, version, data FROM dossiers ORDER BY numero").fetchall()
    with pytest.raises(SerializationError) as info:
        migrate_postgres(dsn, key=KEY, schema=schema)
    assert info.value.field.startswith("FINSAS000003:history[")
    with psycopg.connect(dsn, autocommit=True, options=f"-c search_path={schema}") as conn:
        assert conn.execute("SELECT numero, version, data FROM dossiers ORDER BY numero").fetchall() == before
        assert conn.execute("SELECT to_regclass('journal')").fetchone() == (None,)


# -- the command line ---------------------------------------------------------------------------------------------
def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_migrate_then_verify(old_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "cle"
    key_file.write_bytes(KEY + b"\n")
    code, out, _ = _run(capsys, "verify", "--db", str(old_db))
    assert code == 1
    assert "migrate" in out
    code, out, _ = _run(capsys, "migrate", "--db", str(old_db), "--key-file", str(key_file))
    assert code == 0
    assert out.count("schéma 3 → 4") == 5
    code, out, err = _run(capsys, "verify", "--db", str(old_db), "--key-file", str(key_file))
    assert (code, out) == (0, "")
    assert "5 dossier(s)" in err
    # without the key, a keyed database cannot be verified: every dossier says so
    code, out, _ = _run(capsys, "verify", "--db", str(old_db))
    assert code == 1
    assert len(out.splitlines()) == 5


@pytest.mark.postgres
def test_cli_migrate_then_verify_on_postgresql(postgres_factory: Any, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    dsn, schema = postgres_factory.args[0], postgres_factory.keywords["schema"]
    _old_postgres_layout(dsn, schema)
    key_file = tmp_path / "cle"
    key_file.write_bytes(KEY + b"\n")
    db = f"{dsn} options=-csearch_path={schema}"  # a conninfo string: the CLI opens PostgreSQL
    code, out, _ = _run(capsys, "verify", "--db", db)
    assert code == 1
    assert "migrate" in out
    code, out, _ = _run(capsys, "migrate", "--db", db, "--key-file", str(key_file))
    assert code == 0
    assert out.count("schéma 3 → 4") == 5
    code, out, err = _run(capsys, "verify", "--db", db, "--key-file", str(key_file))
    assert (code, out) == (0, "")
    assert "5 dossier(s)" in err


def test_cli_verify_one_line_per_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "d.sqlite3"
    with SQLiteRepository(db) as repo:
        for n in (1, 2, 3):
            dossier, emails = make_dossier(n, Status.SOLDE_EN_INSTRUCTION)
            repo.add(dossier, outbox=emails)
            changed, more = step(dossier)
            repo.save(changed, expected_version=1, outbox=more)
    tampering = SQLTampering(lambda: sqlite3.connect(db))
    tampering.edit_snapshot("FINSAS000001", ("coordonnees_bancaires", "iban"), "FR7612345000019876543210185")
    tampering.edit_history("FINSAS000003", 0, ("comment",), "ajouté")
    code, out, _ = _run(capsys, "verify", "--db", str(db))
    assert code == 1
    lines = out.splitlines()
    assert [line.split(" : ")[:2] for line in lines] == [["FINSAS000001", "data"], ["FINSAS000003", "journal[1]"]]


def test_cli_verify_reports_the_trace_of_a_whole_rollback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.sqlite3"
    with SQLiteRepository(db) as repo:
        dossier, emails = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repo.add(dossier, outbox=emails)
    tampering = SQLTampering(lambda: sqlite3.connect(db))
    older = tampering.copy_state("FINSAS000001")
    with SQLiteRepository(db) as repo:
        changed, more = step(dossier)
        repo.save(changed, expected_version=1, outbox=more)
    tampering.drop_last_write("FINSAS000001")
    tampering.restore_state("FINSAS000001", older)
    code, out, _ = _run(capsys, "verify", "--db", str(db))
    assert code == 1
    # the outbox trace, and (the tamperer restored the snapshot, not the worklist columns) the worklist's date
    assert "FINSAS000001 : outbox : outbox à la version 2" in out
    assert "FINSAS000001 : dossiers.date_changement_statut : " in out


# -- keys: rotation, downgrade, re-hash without the key -----------------------------------------------------------
def test_keys_rotate_through_a_keyring(tmp_path: Path) -> None:
    db = tmp_path / "k.sqlite3"
    old, new = b"ancienne cle", b"nouvelle cle"
    dossier, emails = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    untouched, _ = make_dossier(2)
    with SQLiteRepository(db, key={"2025": old}) as repo:
        repo.add(dossier, outbox=emails)
        repo.add(untouched, outbox=())
    ring = Keyring({"2025": old, "2026": new}, current="2026")
    with SQLiteRepository(db, key=ring) as repo:
        changed, more = step(dossier)
        repo.save(changed, expected_version=1, outbox=more)
        assert list(repo.verify()) == []
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT cle FROM journal WHERE numero = ? ORDER BY position",
                                           (dossier.numero,))] == ["2025", "2026"]
    with SQLiteRepository(db, key={"2026": new}) as repo:
        # The head's seal, under the new key, covers the whole journal: the dossier written since reads.
        assert repo.get(dossier.numero).dossier == changed
        # One whose head is still under the old key cannot be read without it,
        with pytest.raises(DossierAltere) as info:
            repo.get(untouched.numero)
        assert "inconnue" in info.value.reason
        # and verify, which checks every row's seal, says which rows need the old key.
        assert {(p.numero, p.where) for p in repo.verify()} == {(dossier.numero, "journal[1]"),
                                                                (untouched.numero, "journal[1]")}
    assert "ancienne" not in repr(ring)  # a keyring never shows its secrets


def test_a_journal_re_hashed_without_the_key_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    dossier, emails = make_dossier(1, Status.AVANCE_DECIDEE)
    with SQLiteRepository(db, key=KEY) as repo:
        repo.add(dossier, outbox=emails)
    # The attacker edits the IBAN and recomputes everything with the public hash function.
    edited = attrs.evolve(dossier, coordonnees_bancaires=attrs.evolve(dossier.coordonnees_bancaires,
                                                                      iban="FR7612345000019876543210185"))
    forged = tmp_path / "forged.sqlite3"
    with SQLiteRepository(forged) as repo:
        repo.add(edited, outbox=())
    with sqlite3.connect(forged) as conn:
        row = conn.execute("SELECT length, head, data FROM dossiers").fetchone()
        jrow = conn.execute("SELECT entries, emails, etat, cle, sceau FROM journal").fetchone()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE dossiers SET length = ?, head = ?, data = ?", row)
        conn.execute("UPDATE journal SET entries = ?, emails = ?, etat = ?, cle = ?, sceau = ?", jrow)
    with SQLiteRepository(db, key=KEY) as repo, pytest.raises(DossierAltere) as info:
        repo.get(dossier.numero)
    assert "sans clé" in info.value.reason
    # and the same forgery with a made-up key id fails its HMAC
    fake = sealing.Sealer(Keyring({"k": b"pas la bonne"}, current="k"))
    forged_seal = fake.seal(message(dossier.numero, sealing.GENESIS))
    with sqlite3.connect(db) as conn:
        kid = serialization.Keyring.of(KEY).current  # type: ignore[union-attr]
        conn.execute("UPDATE journal SET cle = ?, sceau = ?", (kid, forged_seal))
    with SQLiteRepository(db, key=KEY) as repo, pytest.raises(DossierAltere):
        repo.get(dossier.numero)


def test_a_document_re_sealed_without_the_key_is_refused() -> None:
    dossier, _ = make_dossier(1, Status.AVANCE_DECIDEE)
    edited = attrs.evolve(dossier, avance=attrs.evolve(dossier.avance, montant=dossier.avance.montant * 33))
    with pytest.raises(DossierAltere) as info:
        serialization.from_dict(serialization.to_dict(edited), key=KEY)
    assert info.value.numero == dossier.numero
    with pytest.raises(DossierAltere):
        serialization.from_dict(serialization.to_dict(edited, key=b"une autre cle"), key=KEY)
    assert serialization.from_dict(serialization.to_dict(dossier, key=KEY), key=KEY) == dossier


# -- hostile data -------------------------------------------------------------------------------------------------
def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


@pytest.mark.parametrize("where", ["fournisseur", "history", "champ_en_trop", "sceau"])
def test_deep_nesting_is_a_serialization_error_not_a_recursion_error(where: str) -> None:
    dossier, _ = make_dossier(1)
    doc = serialization.to_dict(dossier)
    doc[where] = _nested(50_000)
    with pytest.raises(SerializationError):
        serialization.from_dict(doc)
    with pytest.raises(SerializationError):
        serialization.migrate({**doc, "schema_version": 3})


def test_deeply_nested_json_text_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError):
        serialization.from_json("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("value", [b"\x00\xff", 42, 3.5, "", "{", "[]", '{"schema_version": 4}'])
def test_garbage_in_a_column_is_refused_as_altered(tmp_path: Path, value: Any) -> None:
    db = tmp_path / "g.sqlite3"
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    with SQLiteRepository(db) as repo:
        repo.add(dossier, outbox=())
    for column, table in (("data", "dossiers"), ("entries", "journal"), ("emails", "journal"), ("head", "dossiers"),
                          ("version", "dossiers"), ("sceau", "journal"), ("position", "journal")):
        target = tmp_path / f"{column}.sqlite3"
        shutil.copyfile(db, target)
        with sqlite3.connect(target) as conn:
            conn.execute(f"UPDATE {table} SET {column} = ?", (value,))
        with SQLiteRepository(target) as repo, pytest.raises(DossierAltere) as info:
            repo.get(dossier.numero)
        assert info.value.numero == dossier.numero


def test_invalid_utf8_in_the_file_is_refused_as_altered(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite3"
    dossier, _ = make_dossier(1)
    with SQLiteRepository(db) as repo:
        repo.add(dossier, outbox=())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE dossiers SET data = CAST(X'7B22C3' || CAST(substr(data, 2) AS BLOB) AS TEXT)")
    with SQLiteRepository(db) as repo, pytest.raises(DossierAltere):
        repo.get(dossier.numero)


# -- the property: every leaf of the stored form is evidence ------------------------------------------------------
def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path


def _other(value: Any) -> Any:
    """A different JSON value of the same kind where there is one."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("y" if value.endswith("x") else "x") if value else "x"
    return "x"


def _edited(doc: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = _other(target[path[-1]])
    return out


def _refused(doc: Any, key: bytes | None) -> bool:
    try:
        serialization.from_dict(doc, key=key)
    except SerializationError:  # DossierAltere included
        return True
    return False


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.dossiers(), st.sampled_from([None, KEY]))
def test_any_single_edit_of_the_stored_document_is_refused(dossier: Any, key: bytes | None) -> None:
    doc = serialization.to_dict(dossier, key=key)
    assert serialization.from_dict(copy.deepcopy(doc), key=key) == dossier
    for path in _leaves(doc):
        assert _refused(_edited(doc, path), key), path
    for name in doc:  # a field removed
        assert _refused({k: v for k, v in doc.items() if k != name}, key), name


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(strategies.dossiers(status=Status.SOLDE_EN_INSTRUCTION))
def test_any_single_edit_of_the_stored_rows_is_refused(tmp_path_factory: pytest.TempPathFactory, dossier: Any) -> None:
    base = tmp_path_factory.mktemp("rows") / "d.sqlite3"
    with SQLiteRepository(base, key=KEY) as repo:
        repo.add(dossier, outbox=())
        changed, emails = step(dossier)
        repo.save(changed, expected_version=1, outbox=emails)
        assert repo.get(dossier.numero).dossier == changed
    with sqlite3.connect(base) as conn:
        snapshot = json.loads(conn.execute("SELECT data FROM dossiers").fetchone()[0])
        rows = conn.execute("SELECT position, entries, emails FROM journal").fetchall()
    targets: list[tuple[str, str, int | None, Any]] = [("dossiers", "data", None, snapshot)]
    targets += [("journal", col, pos, json.loads(text)) for pos, e, m in rows
                for col, text in (("entries", e), ("emails", m))]
    head = len(rows)
    for table, column, position, value in targets:
        for path in _leaves(value):
            where = "" if position is None else f" AND position = {position}"
            with sqlite3.connect(base) as conn:
                (original,) = conn.execute(f"SELECT {column} FROM {table} WHERE 1=1{where}").fetchone()
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE 1=1{where}",
                             (json.dumps(_edited(value, path), ensure_ascii=False, separators=(",", ":"),
                                         sort_keys=True),))
            with SQLiteRepository(base, key=KEY) as repo:
                if position is None or position == head:  # the snapshot and the head row: refused by the read
                    with pytest.raises(DossierAltere):
                        repo.get(dossier.numero)
                else:  # a row below the head: refused when the entries it holds are read
                    stored = repo.get(dossier.numero)
                    with pytest.raises(DossierAltere):
                        _whole(stored.dossier)
            with sqlite3.connect(base) as conn:
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE 1=1{where}", (original,))
    with SQLiteRepository(base, key=KEY) as repo:
        assert repo.get(dossier.numero).dossier == changed


@pytest.mark.parametrize(("column", "value"), [
    ("position", 7), ("version", 5), ("etat", "0" * 64), ("cle", "une-autre-cle"), ("cle", None),
    ("sceau", "f" * 64), ("sceau", "pas un sceau"), ("entries", "[]"), ("emails", '[{"x": 1}]'),
    ("entries", b"\xff\xfe"),
])
def test_an_edit_of_any_column_of_an_old_journal_row_is_refused_when_it_is_read(
        tmp_path: Path, column: str, value: object) -> None:
    """The head's seal covers the digest of every row before it: an edit of the first of three rows, made behind
    the repository's back, is refused as soon as the entries below the head are read (the read itself checks
    only the snapshot and the head row), by a repository that had read them before as by a fresh one, and by
    ``verify``."""
    db = tmp_path / "old-row.sqlite3"
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    with SQLiteRepository(db, key=KEY) as warm:
        warm.add(dossier, outbox=())
        for version in (1, 2):
            dossier, emails = step(dossier)
            warm.save(dossier, expected_version=version, outbox=emails)
        assert warm.get(dossier.numero).dossier == dossier  # read whole, checked and kept
        with sqlite3.connect(db) as conn:
            conn.execute(f"UPDATE journal SET {column} = ? WHERE position = 1", (value,))
        with pytest.raises(DossierAltere) as seen_warm:
            _whole(warm.get(dossier.numero).dossier)
    with SQLiteRepository(db, key=KEY) as cold:
        stored = cold.get(dossier.numero)  # the snapshot and the head row are intact
        assert len(stored.dossier.history) == len(dossier.history)
        assert stored.dossier.history[-1] == dossier.history[-1]  # the head row's entries: no reading
        with pytest.raises(DossierAltere) as seen:
            _whole(stored.dossier)
        with pytest.raises(DossierAltere):  # and again on the next attempt: nothing was kept
            stored.dossier.history[0]
        problems = list(cold.verify())
    # the careful pass says which row (a moved row is missing at its own place: row 1)
    assert seen.value.field.startswith("journal[1]") or column == "position", seen.value.field
    assert [p.where for p in problems] == [seen.value.field] or column == "position", problems
    assert seen_warm.value.field == seen.value.field


def _whole(dossier: Any) -> tuple[Any, Any]:
    """Every history entry and e-mail record of ``dossier``: those below the journal's head are read now."""
    return tuple(dossier.history), tuple(dossier.emails_sent)


# -- the Decider re-checks what it pays -----------------------------------------------------------------------------
def _ready_to_decide() -> tuple[Any, Any, Any]:
    from segur_workflow import examples
    from segur_workflow.engine import handle

    dossier = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    *prep, decider = examples.commands_to_fire(dossier, "decider")
    now = dossier.history[-1].at
    for command in prep:
        now += timedelta(hours=1)
        dossier = handle(dossier, command, now=now).dossier
    return dossier, decider, now + timedelta(hours=1)


@pytest.mark.parametrize("edit", ["iban", "titulaire", "montant"])
def test_decider_refuses_to_pay_what_was_not_validated(edit: str) -> None:
    from segur_workflow import RuleViolations
    from segur_workflow.engine import handle

    dossier, decider, now = _ready_to_decide()
    rib = dossier.coordonnees_bancaires
    if edit == "montant":
        bad = attrs.evolve(dossier, solde=attrs.evolve(dossier.solde, montant=dossier.solde.montant * 33))
        code = "paiement.montant"
    else:
        bad = attrs.evolve(dossier, coordonnees_bancaires=attrs.evolve(rib, **{edit: "FR7612345000019876543210185"}))
        code = "paiement.coordonnees_bancaires"
    with pytest.raises(RuleViolations) as info:
        handle(bad, decider, now=now)
    assert info.value.codes == {code}
    paid = handle(dossier, decider, now=now)
    assert next(type(e).__name__ for e in paid.events) == "PaiementDeclenche"


def test_the_deposit_records_the_fingerprint_of_the_bank_details() -> None:
    from segur_workflow import examples
    from segur_workflow.engine import rib_fingerprint

    dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    assert dossier.history[0].details["coordonnees_bancaires"] == rib_fingerprint(examples.COORDONNEES)


def test_verify_reports_a_dossier_deleted_with_its_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "del.sqlite3"
    with SQLiteRepository(db) as repo:
        for n in (1, 2):
            dossier, emails = make_dossier(n)
            repo.add(dossier, outbox=emails)
    with sqlite3.connect(db) as conn:  # foreign keys are off for this connection, as for an attacker's
        conn.execute("DELETE FROM journal WHERE numero = 'FINSAS000002'")
        conn.execute("DELETE FROM dossiers WHERE numero = 'FINSAS000002'")
    code, out, _ = _run(capsys, "verify", "--db", str(db))
    assert code == 1
    assert out.splitlines() == ["FINSAS000002 : outbox : des lignes de outbox nomment un dossier absent "
                                "(dossier supprimé ?)"]
