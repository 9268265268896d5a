"""What a repository keeps of a dossier's snapshot between its reads and writes (``serialization.Body``): a read
of the same bytes takes the fields built before, a write takes a field's JSON when it is the very object read, and
neither ever gives anything but what reading the stored bytes gives (issue 11, the get + save cost)."""

from __future__ import annotations

import copy
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segur_workflow import DossierAltere, Status, examples, handle, serialization
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.commands import ControlerBloc
from segur_workflow.model import Dossier
from segur_workflow.testing.contract import make_dossier
from segur_workflow.vocabulary import Bloc, Controle

KEY = b"la cle de l'hote pour les instantanes"
SNAPSHOTS = [serialization.snapshot_of(examples.dossier_at(status)) for status in Status]


def _parsed(dossier: Dossier) -> Any:
    return orjson.loads(orjson.dumps(serialization.snapshot_of(dossier), option=orjson.OPT_SORT_KEYS))


def _careful(snapshot: Any, dossier: Dossier) -> tuple[str, Any]:
    try:
        return "value", serialization.dossier_of(snapshot, dossier.history, dossier.emails_sent)
    except Exception as exc:  # the kind of failure is what is compared
        return "refused", type(exc)


# -- the value: the same dossier as the careful reader, or no body at all ------------------------------------------
@given(st.sampled_from(list(Status)), st.sampled_from(list(Status)))
def test_a_body_gives_the_careful_readers_dossier_with_or_without_an_earlier_body(first: Status,
                                                                                   second: Status) -> None:
    one, other = examples.dossier_at(first), examples.dossier_at(second)
    known = serialization.body_of(_parsed(other), None)
    assert known is not None
    for earlier in (None, known):
        body = serialization.body_of(_parsed(one), earlier)
        assert body is not None
        assert body.dossier(one.history, one.emails_sent) == one
        assert body.dossier(one.history, one.emails_sent) == _careful(_parsed(one), one)[1]
        # a field taken from the earlier body is one whose JSON is exactly the same
        for i, name in enumerate(f.name for f in attrs.fields(Dossier) if f.name not in serialization.JOURNALED):
            if earlier is not None and body.values[i] is earlier.values[i] and body.values[i] is not None:
                assert serialization.snapshot_of(one)[name] == serialization.snapshot_of(other)[name]


def _edited(data: st.DataObject, snapshot: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(snapshot)
    places: list[tuple[Any, Any]] = []

    def walk(parent: Any) -> None:
        items = parent.items() if isinstance(parent, dict) else enumerate(parent) if isinstance(parent, list) else ()
        for key, value in items:
            places.append((parent, key))
            walk(value)

    walk(doc)
    parent, key = data.draw(st.sampled_from(places))
    parent[key] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=6),
                                 st.just([]), st.just({}),
                                 st.sampled_from(["30000", "2023-05-23T08:00:00", "ok", "avance"])))
    return doc


@settings(max_examples=300)
@given(st.data())
def test_an_edited_snapshot_gets_no_body_unless_the_careful_reader_accepts_it_alike(data: st.DataObject) -> None:
    status = data.draw(st.sampled_from(list(Status)))
    sound = examples.dossier_at(status)
    doc = _edited(data, serialization.snapshot_of(sound))
    parsed = orjson.loads(orjson.dumps(doc))
    for earlier in (None, serialization.body_of(_parsed(sound), None)):
        body = serialization.body_of(parsed, earlier)
        careful = _careful(parsed, sound)
        if body is None:
            continue
        assert careful[0] == "value"
        assert body.dossier(sound.history, sound.emails_sent) == careful[1]


# -- the repository: what a read gives is what the bytes say --------------------------------------------------------
def _paris(dossier: Dossier) -> Dossier:
    """``dossier`` with its dates in Europe/Paris (a ``ZoneInfo``: read back, they have a fixed offset)."""
    paris = ZoneInfo("Europe/Paris")
    return attrs.evolve(dossier, date_depot=dossier.date_depot.astimezone(paris),
                        date_changement_statut=dossier.date_changement_statut.astimezone(paris))


def test_a_read_after_a_write_gives_what_the_bytes_say_not_the_hosts_objects(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    dossier = _paris(make_dossier(1, Status.AVANCE_EN_INSTRUCTION)[0])
    with SQLiteRepository(path, key=KEY) as repo:
        repo.add(dossier, outbox=())
        read = repo.get(dossier.numero).dossier
        with SQLiteRepository(path, key=KEY) as fresh:
            expected = fresh.get(dossier.numero).dossier
        assert read == dossier
        assert read.date_depot.tzinfo == expected.date_depot.tzinfo != dossier.date_depot.tzinfo
        # a write of a field built by the host, then a read: again what reading the bytes gives
        changed = attrs.evolve(read, date_changement_statut=read.date_changement_statut.astimezone(
            ZoneInfo("Europe/Paris")) + timedelta(seconds=1))
        repo.save(changed, expected_version=1, outbox=())
        again = repo.get(dossier.numero).dossier
        assert again.date_changement_statut == changed.date_changement_statut
        assert type(again.date_changement_statut.tzinfo) is type(expected.date_depot.tzinfo)
        assert again.fournisseur is read.fournisseur  # unchanged JSON: the field built by the first read


def test_a_second_read_of_unchanged_bytes_builds_nothing_again(tmp_path: Path) -> None:
    dossier = make_dossier(2, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(tmp_path / "b.sqlite3", key=KEY) as repo:
        repo.add(dossier, outbox=())
        first = repo.get(dossier.numero)
        second = repo.get(dossier.numero)
        assert second.dossier == first.dossier
        assert second.dossier.avance is first.dossier.avance
        repo.save(first.dossier, expected_version=first.version, outbox=())  # unchanged: the same bytes
        third = repo.get(dossier.numero)
        assert third.version == 2
        assert third.dossier.avance is first.dossier.avance
        assert third.dossier.history is not first.dossier.history  # the history is read again every time


def test_a_change_made_by_another_repository_is_read_field_by_field(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    dossier = make_dossier(3, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(path, key=KEY) as mine, SQLiteRepository(path, key=KEY) as theirs:
        mine.add(dossier, outbox=())
        before = mine.get(dossier.numero).dossier
        stored = theirs.get(dossier.numero)
        outcome = handle(stored.dossier, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.KO),
                         now=stored.dossier.history[-1].at + timedelta(minutes=1))
        theirs.save(outcome.dossier, expected_version=stored.version, outbox=outcome.emails)
        after = mine.get(dossier.numero).dossier
        assert after == outcome.dossier
        assert after.avance != before.avance and after.avance.controles != before.avance.controles
        assert after.fournisseur is before.fournisseur  # its JSON did not change


def test_an_edit_of_the_snapshot_is_refused_though_the_repository_read_it_before(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    dossier = make_dossier(4, Status.AVANCE_EN_INSTRUCTION)[0]
    with SQLiteRepository(path, key=KEY) as repo:
        repo.add(dossier, outbox=())
        repo.get(dossier.numero)
        raw = sqlite3.connect(path)
        data = raw.execute("SELECT data FROM dossiers WHERE numero = ?", (dossier.numero,)).fetchone()[0]
        montant = str(dossier.avance.montant)
        assert f'"{montant}"' in data
        raw.execute("UPDATE dossiers SET data = ? WHERE numero = ?", (data.replace(f'"{montant}"', '"999999"'),
                                                                      dossier.numero))
        raw.commit()
        raw.close()
        with pytest.raises(DossierAltere) as refused:
            repo.get(dossier.numero)
        assert refused.value.field == "data"
