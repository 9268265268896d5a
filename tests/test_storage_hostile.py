"""A hostile review of what a repository keeps between its reads and writes (issue 11): threads sharing one
repository, a writer with the database in hand, values that travel. Each test here failed on a defect, or pins a
claim that a plausible change would break."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from segur_workflow import ConcurrencyConflict, DossierAltere, Status
from segur_workflow.adapters._rows import digest_of, dumps, message
from segur_workflow.adapters._schema import JOURNAL_COLUMNS
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.model import Dossier
from segur_workflow.testing.contract import make_dossier

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
