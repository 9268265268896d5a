"""The boundary refuses what storage cannot hold or a reader would misread, with a WorkflowError."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.emails import Email
from segur_workflow.history import append
from segur_workflow.serialization import from_dict, from_json, to_dict
from segur_workflow.testing.contract import make_dossier, postgres_dsn, step

G = examples.GESTIONNAIRE
CONTROLS = ["\x00", "\x07", "\x1b[2J", "\x0b", "\x7f", "\x85", "\x9b"]
BIDI = ["\u202e", "\u202d", "\u2066", "\u2067", "\u2069", "\u200f", "\u061c"]


@pytest.mark.parametrize("bad", [*CONTROLS, "\n", "\t", "\r", *BIDI])
def test_identifiers_and_names_refuse_controls_and_bidi(bad: str) -> None:
    with pytest.raises(sw.InvalidInput):
        sw.Actor(sw.Role.GESTIONNAIRE, f"gestionnaire{bad}asp")
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(examples.FOURNISSEUR, raison_sociale=f"LE SELECT{bad}exe.pdf")
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(examples.COORDONNEES, titulaire=f"LE{bad}SELECT")


@pytest.mark.parametrize("bad", CONTROLS)
def test_free_texts_refuse_controls(bad: str) -> None:
    with pytest.raises(sw.InvalidInput) as info:
        sw.Rejeter(G, f"motif{bad}suite")
    assert info.value.parameter == "motif"
    with pytest.raises(sw.InvalidInput):
        sw.DemanderModification(G, f"à{bad}corriger")
    with pytest.raises(sw.InvalidInput):
        sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.KO, f"x{bad}")


def test_free_texts_keep_line_feeds_tabs_and_bidi() -> None:
    text = "Pièce illisible :\r\n\t- PV non signé\n\u202bمرحبا\u202c"
    assert sw.Rejeter(G, text).motif == text


@pytest.mark.parametrize("flag", ["false", "False", 0, 1, None, "oui"])
def test_booleans_are_strictly_bool(flag: object) -> None:
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(examples.FOURNISSEUR, enrole=flag)  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(examples.FOURNISSEUR, reference=flag)  # type: ignore[arg-type]


@pytest.mark.parametrize("address", [
    "a@x.example, b@y.example", "Name <a@b.example>, <evil@x.example>", "Nom <a@b.example>", "not-an-email",
    "a@b", "a@@b.example", "<a@b.example>", "a@b.example\nBcc: c@d.example", "", " a@b.example",
])
def test_e_mail_addresses_are_one_bare_valid_address(address: str) -> None:
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(examples.FOURNISSEUR, email=address)
    email = Email(template="t", to=address, subject="s", text="x", html="<p>x</p>")
    dossier, _ = make_dossier(1)
    with pytest.raises(sw.InvalidInput):
        InMemoryRepository().add(dossier, outbox=[email])


@pytest.mark.parametrize("address", ["contact@le-select.fr", "jean.dupont+sas@plateforme-demo.example",
                                     "élodie@exemple.fr"])
def test_ordinary_addresses_are_accepted(address: str) -> None:
    assert attrs.evolve(examples.FOURNISSEUR, email=address).email == address


@pytest.mark.parametrize("size", [2**63, -1, True, 1.0])
def test_attachment_sizes_stay_within_the_sql_range(size: object) -> None:
    attachment = examples.attachment(sw.PieceKind.PV_MISE_EN_SERVICE)
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(attachment, size=size)  # type: ignore[arg-type]


def _deep_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["x"] = {}
        node = node["x"]
    return root


@pytest.mark.parametrize("field", ["numero", "fournisseur", "history", "avance"])
def test_deep_nesting_is_refused_by_from_dict(field: str) -> None:
    doc = to_dict(examples.dossier_at(sw.Status.AVANCE_DECIDEE))
    doc[field] = _deep_dict(50_000)
    with pytest.raises(sw.SerializationError):
        from_dict(doc)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000])
def test_deep_nesting_is_refused_by_from_json(text: str) -> None:
    with pytest.raises(sw.SerializationError):
        from_json(text)


def test_a_commands_nul_never_reaches_the_engine() -> None:
    # The case: a NUL in any text made every PostgreSQL write fail with a driver error.
    with pytest.raises(sw.InvalidInput):
        examples.deposer_avance(attrs.evolve(examples.FOURNISSEUR, adresse="1 rue\x00 X"))
    with pytest.raises(sw.InvalidInput):
        sw.DeposerSolde(examples.FOURNISSEUR_ACTOR, {}, "support\x00@x.example", Decimal("30000"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        with SQLiteRepository(tmp_path / "b.sqlite3") as repo:
            yield repo
        return
    import psycopg

    from segur_workflow.adapters.postgres import PostgresRepository

    dsn, schema = postgres_dsn(), f"b_{uuid.uuid4().hex[:12]}"
    with PostgresRepository(dsn, schema=schema) as repo:
        yield repo
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_what_the_driver_refuses_is_a_storage_error(sql_repository: Any) -> None:
    # A dossier built around the constructors (as a host's own code could): the driver's refusal
    # (PostgreSQL stores no NUL in text) still leaves as a WorkflowError, and nothing is written.
    dossier, emails = make_dossier(1, sw.Status.SOLDE_EN_INSTRUCTION)
    sql_repository.add(dossier, outbox=emails)
    changed, changed_emails = step(dossier)
    last = changed.history[-1]
    history = append(changed.history[:-1], at=last.at, actor=last.actor, trigger=last.trigger, source=last.source,
                     dest=last.dest, comment="commentaire\x00avec NUL", command_id=last.command_id,
                     details=last.details)
    changed = attrs.evolve(changed, history=history)
    try:
        sql_repository.save(changed, expected_version=1, outbox=changed_emails)
    except sw.WorkflowError:
        assert sql_repository.get(dossier.numero).version == 1
    else:  # SQLite keeps NUL in TEXT; then it must read back the same
        assert sql_repository.get(dossier.numero).version == 2
