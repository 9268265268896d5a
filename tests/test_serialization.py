"""Serialisation: exact round trips, plain JSON, refusals that name the field, upcasters, tampering."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segur_workflow import DossierAltere, InvalidInput, SerializationError, Status, examples, verify_history
from segur_workflow.serialization import (
    SCHEMA_VERSION,
    UPCASTERS,
    from_dict,
    from_json,
    migrate,
    to_dict,
    to_json,
    upcast,
    v1_renomme_statut,
    v2_scelle_historique,
)

ALL = {status: examples.dossier_at(status) for status in Status}


def _plain(value: Any) -> bool:
    """Only JSON's own types (no enum members, Decimals, datetimes, tuples or proxies)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in {str, int, bool}


@pytest.mark.parametrize("status", list(Status))
def test_round_trip_through_json_text_gives_an_equal_dossier(status: Status) -> None:
    dossier = ALL[status]
    data = to_dict(dossier)
    assert data["schema_version"] == SCHEMA_VERSION
    assert _plain(data)
    assert from_dict(json.loads(json.dumps(data))) == dossier
    assert from_json(to_json(dossier)) == dossier


def test_the_stored_shape_uses_strings_for_money_dates_and_enums() -> None:
    data = to_dict(ALL[Status.SOLDE_DECIDEE])
    assert data["status"] == "solde_decidee"
    assert data["avance"]["montant"] == "30000"
    assert data["avance"]["paiement"]["montant"] == "30000"
    assert data["date_depot"] == "2023-05-23T08:00:00+00:00"
    assert data["avance"]["controles"] == {"informations": "ok", "coordonnees_bancaires": "ok",
                                           "pieces_justificatives": "ok"}
    assert set(data["avance"]["pieces"]) == {"pv_mise_en_service", "attestation_procuration",
                                             "justificatif_transmission"}
    assert data["history"][0]["actor"] == {"role": "fournisseur", "id": "tndSAS0032"}


def test_read_only_mappings_come_back_read_only() -> None:
    dossier = from_dict(to_dict(ALL[Status.SOLDE_A_MODIFIER]))
    with pytest.raises(TypeError):
        dossier.avance.controles[next(iter(dossier.avance.controles))] = None  # type: ignore[index]


@given(
    amount=st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**9, max_value=10**9),
    offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    seconds=st.integers(min_value=0, max_value=10**9),
    micro=st.integers(min_value=0, max_value=999_999),
)
def test_amounts_and_dates_survive_exactly(amount: Decimal, offset_minutes: int, seconds: int, micro: int) -> None:
    tz = timezone(timedelta(minutes=offset_minutes))
    moment = datetime(2020, 1, 1, tzinfo=tz) + timedelta(seconds=seconds, microseconds=micro)
    base = ALL[Status.AVANCE_DECIDEE]
    dossier = attrs.evolve(base, avance=attrs.evolve(base.avance, montant=amount, date_depot=moment))
    back = from_dict(json.loads(json.dumps(to_dict(dossier))))
    assert back.avance.montant == amount
    assert str(back.avance.montant) == str(amount)  # same digits, not only the same value
    assert back.avance.date_depot == moment
    assert back.avance.date_depot.utcoffset() == moment.utcoffset()


def test_to_dict_refuses_what_is_not_a_dossier() -> None:
    with pytest.raises(InvalidInput):
        to_dict({"numero": "FINSAS000001"})  # type: ignore[arg-type]


# -- corrupt and foreign data ---------------------------------------------------------------
def _data() -> dict[str, Any]:
    return to_dict(ALL[Status.SOLDE_A_MODIFIER])


def _set(path: list[Any], value: Any) -> dict[str, Any]:
    data = _data()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _drop(path: list[Any]) -> dict[str, Any]:
    data = _data()
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_set(["status"], "en_cours"), "status"),
        (_set(["history", 1, "dest"], "nulle_part"), "history[1].dest"),
        (_drop(["numero"]), "numero"),
        (_drop(["avance", "montant"]), "avance.montant"),
        (_set(["avance", "montant"], 30000.0), "avance.montant"),
        (_set(["avance", "montant"], "trente mille"), "avance.montant"),
        (_set(["avance", "montant"], "NaN"), "avance.montant"),
        (_set(["date_depot"], "2023-05-23T08:00:00"), "date_depot"),
        (_set(["date_depot"], "hier"), "date_depot"),
        (_set(["date_depot"], 1684828800), "date_depot"),
        (_set(["fournisseur", "siret"], 39431067600017), "fournisseur.siret"),
        (_set(["fournisseur", "enrole"], "oui"), "fournisseur.enrole"),
        (_set(["avance", "pieces", "pv_mise_en_service", "size"], "12"), "avance.pieces['pv_mise_en_service'].size"),
        (_set(["avance", "controles", "bloc_inconnu"], "ok"), "avance.controles['bloc_inconnu']"),
        (_set(["history", 0, "actor", "role"], "pirate"), "history[0].actor.role"),
        (_set(["history"], "aucun"), "history"),
        (_set(["champ_en_trop"], 1), "$"),
        (_set(["solde", "contact_support"], ["a"]), "solde.contact_support"),
    ],
)
def test_corrupt_data_raises_serialization_error_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(SerializationError) as info:
        from_dict(data)
    assert info.value.field.startswith(field) if field != "$" else "champ_en_trop" in info.value.message
    assert info.value.code == "serialisation.invalide"


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({**_data(), "schema_version": SCHEMA_VERSION + 1}, "schema_version", "mettez segur_workflow à jour"),
        ({**_data(), "schema_version": "3"}, "schema_version", "entier"),
        ({**_data(), "schema_version": True}, "schema_version", "entier"),
        ({**_data(), "schema_version": 0}, "schema_version", "inconnue"),
        ({k: v for k, v in _data().items() if k != "schema_version"}, "schema_version", "manquant"),
    ],
)
def test_schema_version_problems(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(SerializationError) as info:
        from_dict(data)
    assert info.value.field == field
    assert words in info.value.message


@pytest.mark.parametrize("data", [None, [], "dossier", 42, b"{}"])
def test_non_dict_input_is_refused(data: Any) -> None:
    with pytest.raises(SerializationError) as info:
        from_dict(data)
    assert info.value.field == "$"


@pytest.mark.parametrize("text", ["{", "", "null", "[1, 2]"])
def test_from_json_refuses_what_is_not_a_dossier_object(text: str) -> None:
    with pytest.raises(SerializationError):
        from_json(text)


def test_from_dict_leaves_its_input_untouched() -> None:
    data = _data()
    snapshot = copy.deepcopy(data)
    from_dict(data)
    assert data == snapshot


# -- upcasting ---------------------------------------------------------------
def _as_v3(data: dict[str, Any]) -> dict[str, Any]:
    """What schema 3 stored: no seal, no gestionnaire (assignment came with schema 4)."""
    return {**{k: v for k, v in data.items() if k not in {"sceau", "gestionnaire"}}, "schema_version": 3}


def _as_v2(data: dict[str, Any]) -> dict[str, Any]:
    """What schema 2 stored: no seal, no history hashes."""
    return {**_as_v3(data), "schema_version": 2, "history": [{k: v for k, v in e.items() if k != "hash"}
                                                             for e in data["history"]]}


def _as_v1(data: dict[str, Any]) -> dict[str, Any]:
    """What schema 1 stored: no history hashes and the status under ``statut``."""
    v2 = _as_v2(data)
    return {**{k: v for k, v in v2.items() if k != "status"}, "statut": v2["status"], "schema_version": 1}


def test_every_old_version_has_an_upcaster() -> None:
    assert sorted(UPCASTERS) == list(range(1, SCHEMA_VERSION))


def test_upcaster_v1_renames_statut() -> None:
    old = _as_v1(_data())
    new = v1_renomme_statut(old)
    assert new["schema_version"] == 2
    assert new["status"] == "solde_a_modifier"
    assert "statut" not in new
    assert "statut" in old  # the input is not changed


def test_upcaster_v1_without_statut_names_the_field() -> None:
    old = _as_v1(_data())
    del old["statut"]
    with pytest.raises(SerializationError) as info:
        migrate(old)
    assert info.value.field == "statut"


def test_upcaster_v2_seals_the_history_with_the_chain_the_engine_writes() -> None:
    current = _data()
    new = v2_scelle_historique(_as_v2(current))
    assert new["schema_version"] == 3
    assert [e["hash"] for e in new["history"]] == [e["hash"] for e in current["history"]]


def test_upcaster_v2_reports_a_bad_entry_by_index() -> None:
    old = _as_v2(_data())
    old["history"][2]["at"] = "pas une date"
    with pytest.raises(SerializationError) as info:
        migrate(old)
    assert info.value.field == "history[2].at"


@pytest.mark.parametrize("status", list(Status))
def test_old_versions_migrate_to_the_same_dossier(status: Status) -> None:
    data = to_dict(ALL[status])
    for old in (_as_v1(data), _as_v2(data), _as_v3(data)):
        assert from_dict(migrate(old)) == ALL[status]
        assert from_dict(migrate(old, key=b"cle"), key=b"cle") == ALL[status]
    assert upcast(_as_v1(data)) == {k: v for k, v in data.items() if k != "sceau"}


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_old_schema_is_never_read_as_a_side_effect(version: int) -> None:
    data = to_dict(ALL[Status.SOLDE_DECIDEE])
    old = {1: _as_v1, 2: _as_v2, 3: _as_v3}[version](data)
    with pytest.raises(DossierAltere) as info:
        from_dict(old)
    assert info.value.field == "schema_version"
    assert info.value.numero == data["numero"]
    assert from_dict(old, verify=False) == ALL[Status.SOLDE_DECIDEE]  # inspection only, nothing sealed


def test_downgraded_to_schema_2_with_the_hashes_deleted_and_an_edit_is_refused_on_migration() -> None:
    # The attack of issue 11: schema_version set to 2, hashes deleted, an entry edited. Reading refuses
    # it; an explicit migration would seal it "as written" (and logs so), which is why it is explicit.
    old = _as_v2(to_dict(ALL[Status.SOLDE_DECIDEE]))
    old["history"][1]["comment"] = "réécrit"
    with pytest.raises(DossierAltere):
        from_dict(old)


@pytest.mark.parametrize(
    ("version", "edit", "field"),
    [
        (3, lambda d: d.update(sceau={}), "sceau"),                       # a schema-4 field in schema 3
        (3, lambda d: d["history"][0].pop("hash"), "history[0].hash"),    # schema 3 had the hashes
        (3, lambda d: d.pop("piece_demandee"), "piece_demandee"),         # schema 3 wrote every field
        (2, lambda d: d["history"][0].update(hash="0" * 64), "history[0].hash"),
        (1, lambda d: d.update(status="avance_decidee"), "status"),       # schema 1 had no "status"
    ],
)
def test_an_old_schema_that_does_not_look_like_itself_is_refused(version: int, edit: Any, field: str) -> None:
    data = to_dict(ALL[Status.SOLDE_DECIDEE])
    old = {1: _as_v1, 2: _as_v2, 3: _as_v3}[version](data)
    edit(old)
    with pytest.raises(SerializationError) as info:
        migrate(old)
    assert info.value.field == field


def test_migration_of_schema_3_refuses_a_broken_chain() -> None:
    old = _as_v3(to_dict(ALL[Status.SOLDE_DECIDEE]))
    old["history"][2]["comment"] = "réécrit"
    with pytest.raises(DossierAltere) as info:
        migrate(old)
    assert info.value.field == "history[2]"


def test_migration_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="segur_workflow.migration"):
        migrate(_as_v2(to_dict(ALL[Status.SOLDE_DECIDEE])), key=b"cle")
    messages = [r.getMessage() for r in caplog.records]
    assert any("schéma 2 sans chaîne" in m for m in messages)
    assert any("migré du schéma 2 au schéma 4" in m for m in messages)


# -- tamper evidence ---------------------------------------------------------------
def test_history_chain_survives_the_round_trip() -> None:
    back = from_dict(to_dict(ALL[Status.SOLDE_DECIDEE]))
    assert verify_history(back)
    assert [e.hash for e in back.history] == [e.hash for e in ALL[Status.SOLDE_DECIDEE].history]


def _edit_comment(h: list[dict[str, Any]]) -> None:
    h[2]["comment"] = "rien à signaler"


def _edit_actor(h: list[dict[str, Any]]) -> None:
    h[1]["actor"]["id"] = "quelqu.un.d.autre"


def _edit_date(h: list[dict[str, Any]]) -> None:
    h[1]["at"] = "2023-05-23T09:00:01+00:00"


def _swap(h: list[dict[str, Any]]) -> None:
    h[1], h[2] = h[2], h[1]


def _remove_middle(h: list[dict[str, Any]]) -> None:
    del h[1]


def _remove_last(h: list[dict[str, Any]]) -> None:
    del h[-1]


def _rehash_edit(h: list[dict[str, Any]]) -> None:
    h[1]["hash"] = "f" * 64


@pytest.mark.parametrize("tamper", [_edit_comment, _edit_actor, _edit_date, _swap, _remove_middle, _remove_last,
                                    _rehash_edit])
def test_tampering_with_the_stored_history_is_detected(tamper: Any) -> None:
    data = to_dict(ALL[Status.SOLDE_A_MODIFIER])
    tamper(data["history"])
    with pytest.raises(DossierAltere) as info:
        from_dict(data)
    assert "altéré" in info.value.message
    loaded = from_dict(data, verify=False)  # can still be inspected on purpose
    assert not verify_history(loaded)


def test_verify_history_is_exported_from_serialization() -> None:
    from segur_workflow import serialization

    assert serialization.verify_history is verify_history
