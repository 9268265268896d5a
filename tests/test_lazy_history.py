"""The history of a dossier read from an SQL repository: a ``History`` whose rows below the journal's head are
read only when needed, and that behaves as the tuple of its entries (issue 11, the cold per-command cost)."""

from __future__ import annotations

import copy
import itertools
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segur_workflow import DossierAltere, SerializationError, Status, StorageError, engine, examples, serialization
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.commands import ControlerBloc, Decider
from segur_workflow.errors import InvalidInput
from segur_workflow.history import History, extended, extends
from segur_workflow.service import WorkflowService
from segur_workflow.testing.contract import make_dossier, step
from segur_workflow.vocabulary import Bloc, Controle

KEY = b"la cle de l'hote pour l'historique"


# -- the value: a lazy history behaves as the tuple of its items -------------------------------------------------
def _lazy(items: tuple[Any, ...], split: int, calls: list[int] | None = None) -> History[Any]:
    def loader() -> tuple[Any, ...]:
        if calls is not None:
            calls.append(1)
        return items[:split]

    return History(items[split:], before=split, loader=loader)


def _outcome(operation: Callable[[Any], Any], value: Any) -> tuple[str, Any]:
    """What ``operation(value)`` gives: its result, or the type of exception it raised."""
    try:
        return "ok", operation(value)
    except Exception as exc:  # the kind of error is what is compared
        return "raised", type(exc)


_SLICE_BOUNDS = st.one_of(st.none(), st.integers(-12, 12))
_OPERATIONS: list[Callable[[Any], Any]] = [
    len, bool, list, tuple, hash, lambda h: list(reversed(h)), lambda h: h == h, lambda h: 3 in h,
    lambda h: h.count(3), lambda h: h.index(3), lambda h: h + (99,), lambda h: (98,) + h,  # noqa: RUF005 - the operators themselves lambda h: h * 2,
    lambda h: pickle.loads(pickle.dumps(h)), copy.copy, copy.deepcopy, lambda h: h < (5,), lambda h: h >= (0, 0),
    lambda h: h > (), lambda h: h <= (1, 2, 3), lambda h: h[-1], lambda h: h[0], lambda h: h["x"],
]


@given(st.lists(st.integers(0, 6), max_size=10).map(tuple), st.data())
def test_a_lazy_history_and_the_tuple_of_its_items_behave_alike(items: tuple[int, ...], data: st.DataObject) -> None:
    split = data.draw(st.integers(0, len(items)), label="split")
    for operation in _OPERATIONS:
        assert _outcome(operation, _lazy(items, split)) == _outcome(operation, items)
    for index in range(-len(items) - 2, len(items) + 2):
        def item(h: Any, i: int = index) -> Any:
            return h[i]

        assert _outcome(item, _lazy(items, split)) == _outcome(item, items)
    window = slice(data.draw(_SLICE_BOUNDS), data.draw(_SLICE_BOUNDS),
                   data.draw(st.one_of(st.none(), st.integers(-4, 4).filter(bool))))
    assert _lazy(items, split)[window] == items[window]
    assert type(_lazy(items, split)[window]) is tuple
    # equality both ways, with the tuple, with another history of the same items, and inequality
    lazy = _lazy(items, split)
    assert lazy == items and items == lazy and lazy == _lazy(items, len(items) - split) and not lazy != items  # noqa: SIM202 - both operators
    assert lazy != (*items, 0) and (*items, 0) != lazy and lazy != list(items)
    # an appended history: the same as the tuple with the item appended, whether read before or not
    for read_first in (False, True):
        base = _lazy(items, split)
        if read_first:
            tuple(base)
        longer = extended(base, (7, 8))
        assert longer == (*items, 7, 8) and len(longer) == len(items) + 2 and extends(longer, base)
        assert not extends(base, longer) or not items


def test_what_the_engine_reads_never_calls_the_loader() -> None:
    items, calls = tuple(range(10)), list[int]()
    lazy = _lazy(items, 7, calls)
    assert (len(lazy), lazy[-1], lazy[-3], lazy[7:], lazy[-2:], bool(lazy)) == (10, 9, 7, (7, 8, 9), (8, 9), True)
    assert list(itertools.islice(reversed(lazy), 3)) == [9, 8, 7]
    longer = lazy + (10,)  # noqa: RUF005 - the operator a command uses
    assert extends(longer, lazy) and longer[len(lazy):] == (10,)
    assert "non lu" in repr(lazy)
    loaded_before = lazy.loaded
    assert calls == []
    assert lazy[0] == 0
    assert calls == [1]  # read once, then kept
    assert (loaded_before, lazy.loaded) == (False, True)
    assert list(lazy) == list(items) and calls == [1]


def test_a_history_is_read_only_and_checks_what_it_is_given() -> None:
    lazy = _lazy((1, 2, 3), 1)
    with pytest.raises(AttributeError):
        lazy._tail = ()
    with pytest.raises(TypeError):
        History((1,), before=2)  # earlier items and nothing to read them with
    with pytest.raises(TypeError):
        History((1,), before=-1, loader=tuple)
    short = History((3,), before=2, loader=lambda: (1,))  # a loader that gives too few
    with pytest.raises(InvalidInput):  # a WorkflowError naming the loader
        tuple(short)


# -- through a repository ------------------------------------------------------------------------------------------
def _grown(repo: Any, n: int, commands: int) -> Any:
    """Dossier ``n`` stored, then sent ``commands`` bloc controls, one save (one journal row) each."""
    dossier, _ = make_dossier(n)
    version = repo.add(dossier, outbox=())
    for i in range(commands):
        now = dossier.history[-1].at + timedelta(minutes=1)
        command = ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, (Controle.KO, Controle.A_INSTRUIRE)[i % 2])
        dossier = engine.handle(dossier, command, now=now).dossier
        version = repo.save(dossier, expected_version=version, outbox=())
    return dossier


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A function opening a new repository on one database (SQLite file, or a PostgreSQL schema)."""
    if request.param == "sqlite":
        yield lambda: SQLiteRepository(tmp_path / "lazy.sqlite3", key=KEY)
        return
    import uuid

    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository
    from segur_workflow.testing.contract import postgres_dsn

    dsn, schema = postgres_dsn(), f"t_{uuid.uuid4().hex[:12]}"
    yield lambda: PostgresRepository(dsn, key=KEY, schema=schema, pool_size=2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _journal(repo: Any, numero: str) -> list[tuple[Any, ...]]:
    with repo._reading() as cur:
        return [tuple(r) for r in repo._journal_rows(cur, numero, None)]


def test_a_command_through_the_service_reads_and_writes_only_the_head(opened: Callable[[], Any],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with opened() as builder:
        grown = _grown(builder, 1, 30)
        before = _journal(builder, grown.numero)
    with opened() as repo:
        reads: list[tuple[str, int]] = []
        fetch = repo._fetch_prefix
        def counted(numero: str, upto: int) -> Any:
            reads.append((numero, upto))
            return fetch(numero, upto)

        monkeypatch.setattr(repo, "_fetch_prefix", counted)
        service = WorkflowService(repo)
        for _ in range(2):
            service.handle(grown.numero, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.KO))
        assert reads == []  # neither the reads nor the saves read a row below the head
        after = _journal(repo, grown.numero)
        assert after[: len(before)] == before and len(after) == len(before) + 2  # two rows appended, none rewritten
        stored = repo.get(grown.numero)
        assert isinstance(stored.dossier.history, History) and not stored.dossier.history.loaded
        assert len(stored.dossier.history) == len(grown.history) + 2
        assert stored.dossier.history[: len(grown.history)] == grown.history  # read now, once
        assert reads == [(grown.numero, len(after) - 1)]
        assert tuple(stored.dossier.emails_sent) == tuple(grown.emails_sent)
        assert reads == [(grown.numero, len(after) - 1)]  # the e-mails came with the same rows
        assert list(repo.verify()) == []


def test_a_stored_dossier_serialises_copies_and_compares_as_the_one_written(opened: Callable[[], Any]) -> None:
    with opened() as repo:
        grown = _grown(repo, 2, 5)

        def read() -> Any:
            return repo.get(grown.numero).dossier  # a new lazy history each time

        assert read() == grown and grown == read() and read() == read()
        assert serialization.to_dict(read(), key=KEY) == serialization.to_dict(grown, key=KEY)
        assert serialization.from_dict(serialization.to_dict(read(), key=KEY), key=KEY) == grown
        assert attrs.evolve(read(), gestionnaire="g.autre") != grown
        for operation in (copy.copy, copy.deepcopy, lambda d: pickle.loads(pickle.dumps(d)), hash,
                          lambda d: pickle.loads(pickle.dumps(d.history)), lambda d: copy.deepcopy(d.emails_sent),
                          lambda d: pickle.loads(pickle.dumps(d.emails_sent))):
            # as the dossier written (the pickled bytes may differ: a read shares one actor between its entries)
            assert _outcome(operation, read()) == _outcome(operation, grown)
            assert operation is hash or _outcome(operation, read())[0] == "ok"  # read-only mappings: no hash


def test_an_edited_old_row_is_refused_when_read_and_by_verify(opened: Callable[[], Any]) -> None:
    with opened() as repo:
        grown = _grown(repo, 3, 4)
        with repo._transaction() as cur:  # an attacker's edit of the first row: another comment
            (entries,) = cur.execute(repo._sql("SELECT entries FROM journal WHERE numero = ? AND position = 1"),
                                     (grown.numero,)).fetchone()
            edited: Any = entries.replace('"comment":null', '"comment":"vu"', 1) if isinstance(entries, str) else [
                {**e, "comment": "vu"} for e in entries]
            if not isinstance(entries, str):
                from psycopg.types.json import Jsonb

                edited = Jsonb(edited)
            cur.execute(repo._sql("UPDATE journal SET entries = ? WHERE numero = ? AND position = 1"),
                        (edited, grown.numero))
    with opened() as repo:
        stored = repo.get(grown.numero)  # the snapshot and the head row are intact: the read goes through
        assert stored.dossier.history[-1] == grown.history[-1]
        with pytest.raises(DossierAltere) as info:
            list(stored.dossier.history)
        assert info.value.field == "journal[1]" and info.value.numero == grown.numero
        assert [(p.numero, p.where) for p in repo.verify()] == [(grown.numero, "journal[1]")]


def test_a_decision_reads_the_whole_history_and_so_refuses_an_edited_deposit(tmp_path: Path) -> None:
    """``Decider`` compares the bank details with those of the deposit entry, the first one: it is read, so a
    payment is never decided on a journal whose rows below the head were changed."""
    db = tmp_path / "decide.sqlite3"
    with SQLiteRepository(db, key=KEY) as repo:
        dossier, _ = make_dossier(4)
        version = repo.add(dossier, outbox=())
        *prep, _decide = examples.commands_to_fire(dossier, "decider")
        now = dossier.history[-1].at
        for command in prep:
            now += timedelta(hours=1)
            dossier = engine.handle(dossier, command, now=now).dossier
            version = repo.save(dossier, expected_version=version, outbox=())
    with sqlite3.connect(db) as conn:
        (entries,) = conn.execute("SELECT entries FROM journal WHERE position = 1").fetchone()
        conn.execute("UPDATE journal SET entries = ? WHERE position = 1", (entries.replace("deposer_avance",
                                                                                            "deposer_avanc3", 1),))
    with SQLiteRepository(db, key=KEY) as repo:
        with pytest.raises(DossierAltere):
            WorkflowService(repo).handle(dossier.numero, Decider(examples.GESTIONNAIRE))
        assert repo.get(dossier.numero).version == version  # nothing decided, nothing written


def test_a_history_read_after_its_repository_closed_is_a_storage_error(opened: Callable[[], Any]) -> None:
    # on both adapters (PostgreSQL's closed pool raised psycopg_pool.PoolClosed): a StorageError that names
    # the dossier and says what to do, never a driver's message nor a method's name
    with opened() as repo:
        grown = _grown(repo, 5, 2)
        lazy = repo.get(grown.numero).dossier.history
    with pytest.raises(StorageError) as caught:
        tuple(lazy)
    assert grown.numero in str(caught.value) and "avant de fermer le dépôt" in str(caught.value)
    assert "_fetch" not in str(caught.value) and "Error" not in str(caught.value)


def test_every_method_of_a_closed_repository_says_it_is_closed(opened: Callable[[], Any]) -> None:
    # the repository's own words, not the driver's (sqlite3.ProgrammingError, psycopg_pool.PoolClosed)
    with opened() as repo:
        repo.add(make_dossier(7)[0], outbox=())
    public = [name for name in dir(repo) if not name.startswith("_") and name != "close"
              and callable(getattr(repo, name)) and not isinstance(getattr(repo, name), type)]
    assert {"get", "save", "add", "create", "search", "find_command", "pending_emails", "verify"} <= set(public)
    for name in public:
        with pytest.raises(StorageError) as caught:
            getattr(repo, name)()
        assert "fermé" in str(caught.value), name
        assert "Error" not in str(caught.value), name


def test_a_format_2_journal_is_refused_with_its_reason(tmp_path: Path) -> None:
    db = tmp_path / "format2.sqlite3"
    with SQLiteRepository(db, key=KEY) as repo:
        repo.add(make_dossier(6)[0], outbox=())
    with sqlite3.connect(db) as conn:  # the previous journal, without the digest of the rows before
        conn.execute("ALTER TABLE journal DROP COLUMN precedent")
    with pytest.raises(SerializationError) as info:
        SQLiteRepository(db, key=KEY)
    assert "format 2" in info.value.reason and info.value.field == "journal"


def test_a_dossier_saved_from_an_earlier_read_is_checked_without_reading_again(tmp_path: Path) -> None:
    """Two reads of the same head give histories that start alike: a save of a dossier made from the first
    one, after the second read, reads no row below the head either; one that changes an old entry is refused."""
    with SQLiteRepository(tmp_path / "twice.sqlite3", key=KEY) as repo:
        grown = _grown(repo, 7, 6)
    with SQLiteRepository(tmp_path / "twice.sqlite3", key=KEY) as repo:
        first = repo.get(grown.numero)
        repo.get(grown.numero)
        changed, _ = step(first.dossier)
        assert repo.save(changed, expected_version=first.version, outbox=()) == first.version + 1
        assert not first.dossier.history.loaded  # type: ignore[attr-defined]
        latest = repo.get(grown.numero)
        rewritten = attrs.evolve(step(latest.dossier)[0], history=(
            attrs.evolve(latest.dossier.history[0], comment="réécrit"), *tuple(step(latest.dossier)[0].history)[1:]))
        with pytest.raises(InvalidInput):  # the journal only grows
            repo.save(rewritten, expected_version=latest.version, outbox=())
        assert Status(repo.get(grown.numero).dossier.status) is changed.status


def test_a_head_row_of_many_entries_builds_only_its_last_ones(tmp_path: Path) -> None:
    """A dossier stored in one write (a migrated one: its whole history in its first row) reads as fast as
    any: the read checks the row's seal and builds its last entries; the others are built when needed."""
    with SQLiteRepository(tmp_path / "long.sqlite3", key=KEY) as builder:
        grown = _grown(builder, 8, 40)
    with SQLiteRepository(tmp_path / "whole.sqlite3", key=KEY) as repo:
        repo.add(grown, outbox=())
        stored = repo.get(grown.numero).dossier
        history = stored.history
        assert isinstance(history, History) and len(history) == len(grown.history)
        loaded_before = history.loaded
        assert history[-1] == grown.history[-1] and stored.emails_sent[-1] == grown.emails_sent[-1]
        assert stored == grown
        assert (loaded_before, history.loaded) == (False, True)
        out = WorkflowService(repo).handle(grown.numero, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS,
                                                                       Controle.KO))
        assert len(out.dossier.history) == len(grown.history) + 1
        assert list(repo.verify()) == []


def test_the_cli_shows_a_history_of_many_journal_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``show`` closes its repository before printing: the dossier is read whole first."""
    from segur_workflow import cli

    db = tmp_path / "show.sqlite3"
    with SQLiteRepository(db) as repo:
        grown = _grown(repo, 9, 12)
    assert cli.main(["show", grown.numero, "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.count("Contrôle") >= len(grown.history) - 4, out


def test_writes_that_append_no_entry_do_not_make_the_next_read_read_everything(
        opened: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A save of an unchanged dossier (or one that only changes a field) leaves a head row without entries: the
    read takes the last entry from the snapshot, which the head sealed (its digest), and reads nothing below."""
    with opened() as builder:
        grown = _grown(builder, 10, 6)
        version = len(grown.history) - len(make_dossier(10)[0].history) + 1
        for _ in range(3):
            version = builder.save(grown, expected_version=version, outbox=())
    with opened() as repo:
        reads: list[int] = []
        fetch = repo._fetch_prefix

        def counted(numero: str, upto: int) -> Any:
            reads.append(upto)
            return fetch(numero, upto)

        monkeypatch.setattr(repo, "_fetch_prefix", counted)
        stored = repo.get(grown.numero)
        assert stored.version == version
        assert stored.dossier.history[-1] == grown.history[-1] and len(stored.dossier.history) == len(grown.history)
        assert repo.save(stored.dossier, expected_version=version, outbox=()) == version + 1
        stored = repo.get(grown.numero)
        assert reads == []
        assert stored.dossier == grown and reads == [version]  # the rows below the head, read once
        assert list(repo.verify()) == []
    with opened() as repo, repo._transaction() as cur:  # an edit of one of the empty rows
        cur.execute(repo._sql("UPDATE journal SET cle = NULL WHERE numero = ? AND position = ?"),
                    (grown.numero, version - 1))
    with opened() as repo:
        stored = repo.get(grown.numero)
        with pytest.raises(DossierAltere) as info:
            tuple(stored.dossier.history)
        assert info.value.field == f"journal[{version - 1}]"
        assert [p.where for p in repo.verify()] == [f"journal[{version - 1}]"]
