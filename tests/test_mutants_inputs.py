"""Every public entry point of the engine and the rules says which argument was wrong, what it expected and
what it received (docs/qa.md, "Tests de mutation": the survivors of the complete run of 1 December).

A host logs or shows ``str(error)`` and reads ``to_dict()``: a mutant naming another parameter, dropping the
expected form or reporting "aucune valeur reçue" for a value that was received breaks both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, rules

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
TEXT = "une chaîne de caractères"


def _bad(value: object) -> Any:
    return value


def _dossier() -> sw.Dossier:
    return examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)


CASES: dict[str, tuple[Callable[[], object], str, str, str]] = {
    # name: (the call, parameter, expected, type received)
    "start: command": (lambda: sw.start(_bad(examples.GESTIONNAIRE), numero="FINSAS000001", now=T0),
                       "command", "une commande DeposerAvance", "Actor"),
    "start: corridor": (lambda: sw.start(examples.deposer_avance(), numero="FINSAS000001", now=T0,
                                         corridor=_bad("SAS")), "corridor", "un Corridor", "str"),
    "start: existing_request": (lambda: sw.start(examples.deposer_avance(), numero="FINSAS000001", now=T0,
                                                 existing_request=_bad(12)),
                                "existing_request", "un numéro de dossier ou None", "int"),
    "start: gestionnaire not text": (lambda: sw.start(examples.deposer_avance(), numero="FINSAS000001", now=T0,
                                                      gestionnaire=_bad(7)),
                                     "gestionnaire", "l'identifiant d'un gestionnaire ou None", "int"),
    "start: gestionnaire blank": (lambda: sw.start(examples.deposer_avance(), numero="FINSAS000001", now=T0,
                                                   gestionnaire="  "),
                                  "gestionnaire", "l'identifiant d'un gestionnaire ou None", "str"),
    "handle: dossier": (lambda: sw.handle(_bad("FINSAS000001"), sw.Decider(examples.GESTIONNAIRE), now=T0),
                        "dossier", "un Dossier", "str"),
    "handle: corridor": (lambda: sw.handle(_dossier(), sw.Decider(examples.GESTIONNAIRE), now=T0,
                                           corridor=_bad(3)), "corridor", "un Corridor", "int"),
    "handle: another corridor": (
        lambda: sw.handle(_dossier(), sw.Decider(examples.GESTIONNAIRE), now=T0,
                          corridor=attrs.evolve(sw.SAS, code="AUTRE")),
        "corridor", "le couloir SAS du dossier", "Corridor"),
    "check_montant: montant": (lambda: rules.check_montant(_bad(100.0), sw.Phase.AVANCE),
                               "montant", "un montant decimal.Decimal", "float"),
    "check_montant: phase": (lambda: rules.check_montant(Decimal("1"), _bad("acompte")),
                             "phase", "une Phase (avance ou solde)", "str"),
    "check_montant: corridor": (lambda: rules.check_montant(Decimal("1"), sw.Phase.AVANCE, _bad(None)),
                                "corridor", "un Corridor", "NoneType"),
    "check_numero: numero": (lambda: rules.check_numero(_bad(250)), "numero", TEXT, "int"),
    "check_numero: corridor": (lambda: rules.check_numero("FINSAS000001", _bad("SAS")),
                               "corridor", "un Corridor", "str"),
    "check_siret": (lambda: rules.check_siret(_bad(12345678901234)), "siret", TEXT, "int"),
    "check_reference_ans": (lambda: rules.check_reference_ans(_bad(32)), "ans_id", TEXT, "int"),
    "check_iban": (lambda: rules.check_iban(_bad(b"FR76")), "iban", TEXT, "bytes"),
    "check_bic": (lambda: rules.check_bic(_bad(["BNPAFRPP"])), "bic", TEXT, "list"),
    "handle: naive now": (lambda: sw.handle(_dossier(), sw.Decider(examples.GESTIONNAIRE),
                                            now=_bad(datetime(2025, 1, 6))),  # naive
                          "now", "une date avec fuseau horaire (datetime aware, ex. datetime.now(UTC))", "datetime"),
    "start: now as text": (lambda: sw.start(examples.deposer_avance(), numero="FINSAS000001", now=_bad("hier")),
                           "now", "une date avec fuseau horaire (datetime aware, ex. datetime.now(UTC))", "str"),
    "check_filename: filename": (lambda: rules.check_filename(_bad(b"pv.pdf")), "filename", TEXT, "bytes"),
    "check_attachment: attachment": (lambda: rules.check_attachment(sw.PieceKind.PV_MISE_EN_SERVICE, _bad("pv.pdf")),
                                     "attachment", "un Attachment", "str"),
    "check_attachment: kind": (lambda: rules.check_attachment(_bad("pv"), examples.attachment(
        sw.PieceKind.PV_MISE_EN_SERVICE)), "kind", "un PieceKind", "str"),
    "check_filename: corridor": (lambda: rules.check_filename("pv.pdf", corridor=_bad("SAS")),
                                 "corridor", "un Corridor", "str"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_wrong_argument_is_named_with_what_was_expected_and_received(case: str) -> None:
    call, parameter, expected, received = CASES[case]
    with pytest.raises(sw.InvalidInput) as err:
        call()
    e = err.value
    assert (e.parameter, e.received_type) == (parameter, received)
    assert e.expected == expected
    assert f"« {parameter} »" in str(e) and e.expected in str(e)
    said = "aucune valeur reçue" if received == "NoneType" else f"{received} reçu"
    assert said in str(e)
    assert e.to_dict()["parameter"] == parameter
