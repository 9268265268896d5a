"""A hostile review of what a repository keeps between its reads and writes (issue 11): threads sharing one
repository, a writer with the database in hand, values that travel. Each test here failed on a defect, or pins a
claim that a plausible change would break."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import pickle
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import pytest

from segur_workflow import (
    ConcurrencyConflict,
    DossierAltere,
    DossierNotFound,
    InvalidInput,
    Status,
    StorageError,
    examples,
    handle,
)
from segur_workflow._email import Email
from segur_workflow.adapters._journal import TAIL
from segur_workflow.adapters._rows import digest_of, dumps, message
from segur_workflow.adapters._schema import JOURNAL_COLUMNS
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.commands import ControlerBloc
from segur_workflow.model import Dossier
from segur_workflow.testing.contract import make_dossier, step
from segur_workflow.vocabulary import Bloc, Controle

KEY = b"la cle de l'hote pour la revue hostile"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repository(request: pytest.FixtureRequest) -> Iterator[Any]:
    factory: Callable[..., Any] = request.getfixturevalue(f"{request.param}_factory")
    repo = factory(key=KEY)
    yield repo
    repo.close()


# -- threads sharing one repository ------------------------------------------------------------------------------
def test_a_read_that_loaded_before_another_threads_save_is_no_rollback(repository: Any) -> None:
    """A read loads the rows, then checks them: a save by another thread of this process may land in between
    (on SQLite the lock is let go between the two, on PostgreSQL they are two connections). The version this
    read loaded is older than the one the save just wrote, yet nothing was rolled back."""
    dossier = make_dossier(1, Status.AVANCE_EN_INSTRUCTION)[0]
    repository.add(dossier, outbox=())
    journal = repository._journal
    real = journal.check
    interleaved: list[int] = []

    def check(*args: Any, **kwargs: Any) -> Any:
        if not interleaved:  # another thread's save, between this read's load and its check
            interleaved.append(repository.save(dossier, expected_version=1, outbox=()))
        return real(*args, **kwargs)

    journal.check = check
    try:
        stored = repository.get(dossier.numero)
    finally:
        del journal.check
    assert interleaved == [2]
    assert stored.version == 1
    # the save's chain is the one kept: the next save goes on from it
    assert repository.get(dossier.numero).version == 2
    assert repository.save(dossier, expected_version=2, outbox=()) == 3


def test_threads_reading_and_saving_one_dossier_see_no_alteration(repository: Any) -> None:
    dossier = make_dossier(2, Status.AVANCE_EN_INSTRUCTION)[0]
    repository.add(dossier, outbox=())
    altered: list[DossierAltere] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                repository.get(dossier.numero)
            except DossierAltere as exc:
                altered.append(exc)

    def writer() -> None:
        try:
            for _ in range(60):
                try:
                    stored = repository.get(dossier.numero)
                    repository.save(stored.dossier, expected_version=stored.version, outbox=())
                except ConcurrencyConflict:
                    pass
                except DossierAltere as exc:
                    altered.append(exc)
        finally:
            stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads switch often: the interleavings come quickly
    try:
        threads = [threading.Thread(target=reader) for _ in range(2)] + [threading.Thread(target=writer)
                                                                        for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        sys.setswitchinterval(interval)
    assert altered == []
    assert repository.get(dossier.numero).version >= 61


# -- an attacker who can recompute unkeyed digests (key=None) --------------------------------------------------------
def _forge_snapshot(path: Path, numero: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """Store ``edit`` of the snapshot of ``numero`` (SQLite, unkeyed), written as ``edit`` orders its keys, as an
    attacker with the public hash functions would: a journal row of a write that appended nothing, chained on the
    head and sealed. (An edit in place of the head, at the same version, is refused by a repository that saw it.)"""
    raw = sqlite3.connect(path)
    try:
        data, length, version = raw.execute("SELECT data, length, version FROM dossiers WHERE numero = ?",
                                            (numero,)).fetchone()
        text = json.dumps(edit(json.loads(data)), ensure_ascii=False, separators=(",", ":"))  # not sorted
        head = list(raw.execute(f"SELECT {JOURNAL_COLUMNS} FROM journal WHERE numero = ? AND position = ?",
                                (numero, length)).fetchone())
        assert head[5] is None  # an unkeyed journal
        row = [length + 1, version + 1, "[]", "[]", hashlib.sha256(text.encode("utf-8")).hexdigest(), None,
               digest_of(dumps(head)), head[7], head[8]]
        sceau = hashlib.sha256(message(numero, digest_of(dumps(row)[:-1] + b","))).hexdigest()
        raw.execute(f"INSERT INTO journal (numero, {JOURNAL_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                    (numero, *row, sceau))
        raw.execute("UPDATE dossiers SET data = ?, head = ?, version = ?, length = ? WHERE numero = ?",
                    (text, sceau, version + 1, length + 1, numero))
        raw.commit()
    finally:
        raw.close()


def _fresh(path: Path, numero: str) -> Dossier:
    with SQLiteRepository(path) as fresh:
        return fresh.get(numero).dossier


def _alike(one: Dossier, other: Dossier) -> None:
    """Equal, and alike where equality does not look: the order of every mapping, the types, the offsets."""
    assert one == other
    for demande in ("avance", "solde"):
        mine, theirs = getattr(one, demande), getattr(other, demande)
        if mine is not None:
            assert list(mine.pieces.items()) == list(theirs.pieces.items())
            assert list(mine.controles.items()) == list(theirs.controles.items())
            assert str(mine.montant) == str(theirs.montant)
            assert type(mine.pieces) is type(theirs.pieces) is MappingProxyType
    assert one.date_depot.utcoffset() == other.date_depot.utcoffset()


def test_a_forged_reordering_of_a_mapping_is_read_as_a_fresh_repository_reads_it(tmp_path: Path) -> None:
    """key=None: an attacker re-seals what they write. The warm repository must give what the bytes say, the order
    of a mapping included (its JSON sorted is the same, the value read from it is not alike)."""
    path = tmp_path / "u.sqlite3"
    dossier = make_dossier(3, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(path) as repo:
        repo.add(dossier, outbox=())
        before = repo.get(dossier.numero).dossier

        def reorder(data: dict[str, Any]) -> dict[str, Any]:
            avance = data["avance"]
            avance["controles"] = dict(reversed(list(avance["controles"].items())))
            avance["pieces"] = dict(reversed(list(avance["pieces"].items())))
            return data

        _forge_snapshot(path, dossier.numero, reorder)
        warm = repo.get(dossier.numero).dossier
        fresh = _fresh(path, dossier.numero)
        assert list(fresh.avance.controles) == list(reversed(list(before.avance.controles)))
        _alike(warm, fresh)


def test_a_forged_edit_is_read_as_a_fresh_repository_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "u.sqlite3"
    dossier = make_dossier(4, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(path) as repo:
        repo.add(dossier, outbox=())
        repo.get(dossier.numero)
        repo.get(dossier.numero)  # the whole body now served as it is

        def edit(data: dict[str, Any]) -> dict[str, Any]:
            data["avance"]["montant"] = "999999.00"
            data["coordonnees_bancaires"]["iban"] = data["coordonnees_bancaires"]["iban"][:-1] + "0"
            data["date_depot"] = "2023-05-23T10:00:00+02:00"
            return data

        _forge_snapshot(path, dossier.numero, edit)
        warm = repo.get(dossier.numero).dossier
        fresh = _fresh(path, dossier.numero)
        assert str(fresh.avance.montant) == "999999.00"
        _alike(warm, fresh)
        assert warm.coordonnees_bancaires == fresh.coordonnees_bancaires != dossier.coordonnees_bancaires


# -- a save (PostgreSQL: one statement of data-modifying CTEs) raced, refused, hostile ---------------------------------
def _rows(repository: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with repository._reading() as cur:
        return [tuple(r) for r in cur.execute(repository._sql(sql), params).fetchall()]


def _written(repository: Any, numero: str) -> tuple[Any, ...]:
    """Everything a save of ``numero`` writes, per table: what must not move when a save is refused."""
    return (_rows(repository, "SELECT version, length, head, data FROM dossiers WHERE numero = ?", numero),
            _rows(repository, "SELECT position, version FROM journal WHERE numero = ? ORDER BY position", numero),
            _rows(repository, "SELECT version, template, recipient, subject, body_text, body_html FROM outbox"
                  " WHERE numero = ? ORDER BY id", numero),
            _rows(repository, "SELECT event_id, version, type FROM events WHERE numero = ? ORDER BY id", numero),
            _rows(repository, "SELECT command_id, version FROM commands WHERE numero = ? ORDER BY command_id", numero))


def _outcome(dossier: Dossier, command_id: str | None, minutes: int = 1) -> Any:
    return handle(dossier, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.KO, command_id=command_id),
                  now=dossier.history[-1].at + timedelta(minutes=minutes))


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at once (each in its thread, released together); what each returned or raised."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # what is compared is the kind of refusal
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.parametrize("racers", [2, 5, 8])
def test_racing_saves_of_one_dossier_write_one_whole_save_and_nothing_of_the_others(
        factory: Callable[..., Any], racers: int) -> None:
    repositories = [factory(key=KEY) for _ in range(racers)]  # as many processes: each its own cache
    try:
        dossier = make_dossier(10 + racers, Status.AVANCE_EN_INSTRUCTION)[0]
        repositories[0].add(dossier, outbox=())
        for round_ in range(3):
            stored = [r.get(dossier.numero) for r in repositories]
            outcomes = [_outcome(s.dossier, f"cmd-{racers}-{round_}-{i}", minutes=i + 1) for i, s in enumerate(stored)]
            version = stored[0].version
            results = _race([
                functools.partial(r.save, o.dossier, expected_version=version,
                                  outbox=(*o.emails, *o.emails) if i % 2 else o.emails, events=o.events)
                for i, (r, o) in enumerate(zip(repositories, outcomes, strict=True))])
            winners = [i for i, result in enumerate(results) if result == version + 1]
            assert len(winners) == 1, results
            assert all(isinstance(results[i], ConcurrencyConflict) for i in range(racers) if i not in winners), results
            won = outcomes[winners[0]]
            snapshot, journal, outbox, events, commands = _written(repositories[0], dossier.numero)
            assert snapshot[0][:2] == (version + 1, version + 1) and len(journal) == version + 1
            sent = (*won.emails, *won.emails) if winners[0] % 2 else won.emails
            assert [o[1:] for o in outbox if o[0] == version + 1] == [
                (e.template, e.to, e.subject, e.text, e.html) for e in sent]
            assert [e[0] for e in events if e[1] == version + 1] == [e.event_id for e in won.events]
            assert [c for c in commands if c[1] == version + 1] == [(f"cmd-{racers}-{round_}-{winners[0]}",
                                                                     version + 1)]
            assert repositories[0].get(dossier.numero).dossier == won.dossier
    finally:
        for r in repositories:
            r.close()


def test_one_command_id_raced_on_two_dossiers_writes_one_and_leaves_the_other_untouched(
        factory: Callable[..., Any]) -> None:
    one, other = factory(key=KEY), factory(key=KEY)
    try:
        a, b = make_dossier(20)[0], make_dossier(21)[0]
        one.add(a, outbox=())
        one.add(b, outbox=())
        untouched = {d.numero: _written(one, d.numero) for d in (a, b)}
        outcomes = [_outcome(a, "la-meme-commande"), _outcome(b, "la-meme-commande")]
        results = _race([functools.partial(repo.save, o.dossier, expected_version=1, outbox=o.emails,
                                           events=o.events) for repo, o in zip((one, other), outcomes, strict=True)])
        assert sorted(map(type, results), key=str) == sorted([int, ConcurrencyConflict], key=str), results
        loser = (a, b)[[isinstance(r, ConcurrencyConflict) for r in results].index(True)]
        assert _written(one, loser.numero) == untouched[loser.numero]  # nothing of it: not the snapshot, no row
        assert one.find_command("la-meme-commande") is not None
    finally:
        one.close()
        other.close()


def test_an_event_id_taken_by_another_dossier_refuses_the_whole_save(factory: Callable[..., Any]) -> None:
    repository = factory(key=KEY)
    try:
        a, b = make_dossier(22)[0], make_dossier(23)[0]
        repository.add(a, outbox=())
        repository.add(b, outbox=())
        first = _outcome(a, None)
        assert first.events
        repository.save(first.dossier, expected_version=1, outbox=first.emails, events=first.events)
        second = _outcome(b, None)
        taken = tuple(attrs.evolve(e, event_id=first.events[-1].event_id) for e in second.events)
        before = _written(repository, b.numero)
        with pytest.raises(ConcurrencyConflict):
            repository.save(second.dossier, expected_version=1, outbox=second.emails, events=taken)
        assert _written(repository, b.numero) == before
        assert repository.save(second.dossier, expected_version=1, outbox=second.emails, events=second.events) == 2
    finally:
        repository.close()


_HOSTILE_TEXTS = ["", "NULL", "null", '"quoted"', "it's", "back\\slash", "{a,b}", "{}", "a,b", "(1,2)", "\\N",
                  "$1", "%s", "%(x)s", "--", "/*", "é\u00e9\u0301 日本 😀", "\t\nline\r\n", "'; DROP TABLE outbox; --",
                  "x" * 1_000_000]


def _one_line(text: str) -> str:
    return " ".join(text.split())  # a header is one line (a line break in it is refused)


@pytest.mark.parametrize("count", [1, len(_HOSTILE_TEXTS)])
def test_e_mails_of_hostile_text_come_back_exactly_in_their_order(factory: Callable[..., Any], count: int) -> None:
    repository = factory(key=KEY)
    try:
        dossier = make_dossier(24 + min(count, 2))[0]
        repository.add(dossier, outbox=())
        outcome = _outcome(dossier, f"hostile-{count}")
        texts = _HOSTILE_TEXTS[:count]
        emails = tuple(Email(template=_one_line(t)[:50] or "t", to="ok@example.fr", subject=_one_line(t)[:200],
                             text=t, html=t[::-1]) for t in texts)
        assert repository.save(outcome.dossier, expected_version=1, outbox=emails, events=outcome.events) == 2
        back = [(e.email.template, e.email.to, e.email.subject, e.email.text, e.email.html)
                for e in repository.pending_emails(limit=100) if e.numero == dossier.numero]
        assert back == [(e.template, e.to, e.subject, e.text, e.html) for e in emails]
    finally:
        repository.close()


def test_a_stale_save_and_a_save_of_a_dossier_gone_are_refused_in_their_own_words(
        factory: Callable[..., Any]) -> None:
    mine, theirs = factory(key=KEY), factory(key=KEY)
    try:
        dossier = make_dossier(30)[0]
        mine.add(dossier, outbox=())
        read = mine.get(dossier.numero)
        outcome = _outcome(read.dossier, "stale")
        theirs.save(_outcome(theirs.get(dossier.numero).dossier, "first").dossier, expected_version=1, outbox=())
        before = _written(mine, dossier.numero)
        with pytest.raises(ConcurrencyConflict) as stale:
            mine.save(outcome.dossier, expected_version=1, outbox=outcome.emails, events=outcome.events)
        assert (stale.value.expected_version, stale.value.actual_version) == (1, 2)
        assert _written(mine, dossier.numero) == before and mine.find_command("stale") is None
        # deleted whole behind its back, its chain still in this repository's cache: not found, nothing written
        gone = make_dossier(31)[0]
        mine.add(gone, outbox=())
        mine.get(gone.numero)
        with mine._transaction() as cur:
            for table in ("journal", "outbox", "events", "commands", "dossiers"):
                cur.execute(mine._sql(f"DELETE FROM {table} WHERE numero = ?"), (gone.numero,))
        later = _outcome(gone, "gone")
        with pytest.raises(DossierNotFound):
            mine.save(later.dossier, expected_version=1, outbox=later.emails, events=later.events)
        assert _written(mine, gone.numero) == ([], [], [], [], [])
        with pytest.raises(DossierNotFound):
            mine.get(gone.numero)
    finally:
        mine.close()
        theirs.close()


_REFUSED_EMAILS = {
    "NUL in the text": {"text": "avant\x00après"},
    "NUL in the html": {"html": "<p>\x00</p>"},
    "NUL in the template": {"template": "accuse\x00"},
    "a lone surrogate in the text": {"text": "\ud800"},
    "a header in the subject": {"subject": "Dossier reçu\r\nBcc: tous@example.fr"},
    "a line feed in the subject": {"subject": "Dossier\nreçu"},
    "a number for a text": {"text": 123},
    "no html": {"html": None},
    "bytes for a subject": {"subject": b"objet"},
}


@pytest.mark.parametrize("fields", list(_REFUSED_EMAILS.values()), ids=list(_REFUSED_EMAILS))
def test_an_e_mail_no_adapter_can_store_or_send_as_given_is_refused_before_anything_is_written(
        repository: Any, fields: dict[str, Any]) -> None:
    """Bad input is expected input: the same InvalidInput on every adapter (SQLite stored a NUL that PostgreSQL
    refused with a driver's message), and nothing written."""
    dossier = make_dossier(40)[0]
    repository.add(dossier, outbox=())
    outcome = _outcome(dossier, "courriel")
    email = attrs.evolve(Email("accuse", "ok@example.fr", "Objet", "Texte", "<p>Texte</p>"), **fields)
    before = _written(repository, dossier.numero)
    with pytest.raises(InvalidInput) as refused:
        repository.save(outcome.dossier, expected_version=1, outbox=[*outcome.emails, email], events=outcome.events)
    assert refused.value.parameter == "outbox"
    assert _written(repository, dossier.numero) == before
    other = make_dossier(41)[0]
    with pytest.raises(InvalidInput):
        repository.add(other, outbox=[email])
    with pytest.raises(DossierNotFound):
        repository.get(other.numero)


# -- a dossier read with a lazy history travels; after close, the repository's own words ---------------------------
def _grown(repository: Any, n: int, commands: int) -> Dossier:
    dossier = make_dossier(n)[0]
    version = repository.add(dossier, outbox=())
    for _ in range(commands):
        dossier, emails = step(dossier)
        version = repository.save(dossier, expected_version=version, outbox=emails)
    return dossier


def test_a_dossier_read_with_a_lazy_history_travels_and_after_close_says_why_not(repository: Any) -> None:
    grown = _grown(repository, 50, 2 * TAIL)  # rows below the head: the history is read on demand
    loaded = repository.get(grown.numero).dossier
    assert len(loaded.history) == len(grown.history)
    tuple(loaded.history)  # every row read now, while the repository is open
    lazy = repository.get(grown.numero).dossier
    repository.close()
    for travel in (pickle.dumps, copy.deepcopy, lambda d: pickle.dumps(d.history)):
        with pytest.raises(StorageError) as closed:
            travel(lazy)
        assert grown.numero in str(closed.value) and "Error" not in str(closed.value)
    for back in (pickle.loads(pickle.dumps(loaded)), copy.deepcopy(loaded)):
        assert back == grown
        assert type(back.avance.controles) is type(back.history[-1].details) is MappingProxyType
        with pytest.raises(TypeError):
            back.avance.controles[Bloc.INFORMATIONS] = Controle.KO  # type: ignore[index]


# -- the pool's check without a round trip (PostgreSQL) -------------------------------------------------------------
def _backends(repository: Any, count: int) -> list[int]:
    """The server pids of ``count`` pooled connections, each held at once so that they are distinct."""
    held = [repository._pool.getconn() for _ in range(count)]
    try:
        return [conn.info.backend_pid for conn in held]
    finally:
        for conn in held:
            repository._pool.putconn(conn)


@pytest.mark.postgres
def test_pooled_connections_ended_by_the_server_are_replaced_without_an_error(postgres_factory: Any) -> None:
    import psycopg

    from segur_workflow.testing.contract import postgres_dsn

    repository = postgres_factory(key=KEY, pool_size=3)
    try:
        dossier = repository_grown = _grown(repository, 60, 1)
        pids = _backends(repository, 3)
        with psycopg.connect(postgres_dsn(), autocommit=True) as admin:
            for pid in pids:  # each ended, and gone, before the repository is used again
                assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)
        version = repository.get(dossier.numero).version
        for _ in range(6):  # more uses than connections: every ended one is met
            stored = repository.get(dossier.numero)
            dossier, emails = step(stored.dossier)
            version = repository.save(dossier, expected_version=version, outbox=emails)
        assert repository.get(dossier.numero).dossier == dossier != repository_grown
        assert not set(_backends(repository, 3)) & set(pids)
    finally:
        repository.close()


@pytest.mark.postgres
def test_a_pooled_connection_given_back_inside_a_transaction_or_an_error_serves_again(postgres_factory: Any) -> None:
    repository = postgres_factory(key=KEY, pool_size=1)  # one connection: the next use is that one
    try:
        dossier = _grown(repository, 61, 1)
        with repository._pool.connection() as conn:
            conn.execute("BEGIN")
            conn.execute("SELECT 1")  # left open: INTRANS
        assert repository.get(dossier.numero).dossier == dossier
        with repository._pool.connection() as conn:
            conn.execute("BEGIN")
            with pytest.raises(Exception, match="division by zero"):
                conn.execute("SELECT 1 / 0")  # left failed: INERROR
        assert repository.get(dossier.numero).dossier == dossier
        later, emails = step(dossier)
        assert repository.save(later, expected_version=2, outbox=emails) == 3
    finally:
        repository.close()


def test_an_unchanged_save_of_a_forged_order_is_read_back_as_a_fresh_repository_reads_it(tmp_path: Path) -> None:
    """The save writes the fields' JSON sorted (canonical), the read before it held them in the forged order: the
    fields of that read are not those of the bytes now stored, and the next read must not take them whole."""
    path = tmp_path / "u.sqlite3"
    dossier = make_dossier(5, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(path) as repo:
        repo.add(dossier, outbox=())
        repo.get(dossier.numero)

        def reorder(data: dict[str, Any]) -> dict[str, Any]:
            data["avance"]["controles"] = dict(reversed(list(data["avance"]["controles"].items())))
            return data

        _forge_snapshot(path, dossier.numero, reorder)
        read = repo.get(dossier.numero)
        assert repo.save(read.dossier, expected_version=read.version, outbox=()) == read.version + 1
        warm = repo.get(dossier.numero).dossier
        _alike(warm, _fresh(path, dossier.numero))


def test_a_save_on_a_head_changed_behind_the_cache_or_onto_anothers_provider_writes_nothing(
        repository: Any) -> None:
    from segur_workflow import DuplicateFinancingRequest

    dossier = make_dossier(70)[0]
    repository.add(dossier, outbox=())
    repository.get(dossier.numero)  # the chain this repository will save on, cached
    with repository._transaction() as cur:  # an attacker's head, at the same version
        cur.execute(repository._sql("UPDATE dossiers SET head = ? WHERE numero = ?"), ("0" * 64, dossier.numero))
    outcome = _outcome(dossier, "sur-une-tete-changee")
    before = _written(repository, dossier.numero)
    with pytest.raises(DossierAltere) as altered:
        repository.save(outcome.dossier, expected_version=1, outbox=outcome.emails, events=outcome.events)
    assert altered.value.field == "head"
    assert _written(repository, dossier.numero) == before
    # another dossier's provider: refused by the unique index, nothing of the save written
    mine, theirs = make_dossier(71)[0], make_dossier(72)[0]
    repository.add(mine, outbox=())
    repository.add(theirs, outbox=())
    taken = attrs.evolve(mine, fournisseur=attrs.evolve(mine.fournisseur, ans_id=theirs.fournisseur.ans_id))
    before = _written(repository, mine.numero)
    with pytest.raises(DuplicateFinancingRequest) as duplicate:
        repository.save(taken, expected_version=1, outbox=outcome.emails)
    assert duplicate.value.existing == theirs.numero
    assert _written(repository, mine.numero) == before


def test_dossiers_dropped_from_a_full_cache_are_read_saved_and_guarded_as_before(tmp_path: Path) -> None:
    from segur_workflow.adapters._journal import ChainCache

    path = tmp_path / "c.sqlite3"
    with SQLiteRepository(path, key=KEY) as repo:
        repo._journal.cache = ChainCache(1)  # each read drops the dossier read before
        dossiers = [make_dossier(80 + i)[0] for i in range(3)]
        for d in dossiers:
            repo.add(d, outbox=())
        a = dossiers[0]
        raw = sqlite3.connect(path)
        old = raw.execute("SELECT data, version, length, head FROM dossiers WHERE numero = ?", (a.numero,)).fetchone()
        later, emails = step(a)
        assert repo.save(later, expected_version=1, outbox=emails) == 2
        for d in dossiers[1:]:
            repo.get(d.numero)  # a's chain dropped, its version still known
        assert repo._journal.cache.get(a.numero) is None
        # a rollback of a (its first state put back, the later row deleted) is still seen as one
        raw.execute("DELETE FROM outbox WHERE numero = ? AND version = 2", (a.numero,))
        raw.execute("DELETE FROM journal WHERE numero = ? AND position = 2", (a.numero,))
        raw.execute("UPDATE dossiers SET data = ?, version = ?, length = ?, head = ? WHERE numero = ?",
                    (*old, a.numero))
        raw.commit()
        raw.close()
        with pytest.raises(DossierAltere) as rolled_back:
            repo.get(a.numero)
        assert rolled_back.value.field == "version"
        with SQLiteRepository(path, key=KEY) as fresh:  # what no process saw is only a valid older state
            assert fresh.get(a.numero).version == 1
        # the others, dropped and read again in turn, save and read as ever
        for d in dossiers[1:]:
            stored = repo.get(d.numero)
            nxt, emails = step(stored.dossier)
            assert repo.save(nxt, expected_version=stored.version, outbox=emails) == 2
            assert repo.get(d.numero).dossier == nxt


def test_a_forged_order_in_the_snapshots_copy_of_the_last_entry_is_read_as_a_fresh_repository_reads_it(
        tmp_path: Path) -> None:
    """A write that appended no entry: the read takes the last entry from the snapshot's copy, which the warm
    repository built before; its ``details`` in another order is not the same copy."""
    path = tmp_path / "u.sqlite3"
    dossier = make_dossier(6, Status.AVANCE_EN_INSTRUCTION)[0]
    assert len(dossier.history[-1].details) >= 2
    with SQLiteRepository(path) as repo:
        repo.add(dossier, outbox=())
        read = repo.get(dossier.numero)
        repo.save(read.dossier, expected_version=1, outbox=())  # appends no entry: the copy is what is read
        repo.get(dossier.numero)

        def reorder(data: dict[str, Any]) -> dict[str, Any]:
            last = data["history_last"][0]
            last["details"] = dict(reversed(list(last["details"].items())))
            return data

        _forge_snapshot(path, dossier.numero, reorder)
        warm = repo.get(dossier.numero).dossier.history[-1]
        fresh = _fresh(path, dossier.numero).history[-1]
        assert warm == fresh
        assert list(warm.details.items()) == list(fresh.details.items()) != list(dossier.history[-1].details.items())


@pytest.mark.parametrize("forged", ["\x80", "é" * 64, "\U0001f600"])
@pytest.mark.parametrize("key", [None, KEY])
def test_a_document_whose_seal_is_non_ascii_text_is_refused_as_altered(forged: str, key: bytes | None) -> None:
    """Found by test_serialization_fast_path's hypothesis run: hmac.compare_digest raised TypeError ("comparing
    strings with non-ASCII characters is not supported") out of from_dict."""
    from segur_workflow import serialization

    document = serialization.to_dict(make_dossier(90)[0], key=key)
    document["sceau"]["empreinte"] = forged
    with pytest.raises(DossierAltere):
        serialization.from_dict(document, key=key)
