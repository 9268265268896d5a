"""Identifiers, texts and the pieces of a request, from the survivors of the complete mutation run of
1 December (docs/qa.md, "Tests de mutation"): which code a malformed IBAN or BIC gets, the inclusive
length bounds of what people type, the corridor a piece is judged by.
"""

from __future__ import annotations

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, rules
from segur_workflow.rules import MAX_IDENT

IBAN = "FR7630006000011234567890189"


@pytest.mark.parametrize(("iban", "codes"), [
    ("NO9386011117947", set()),  # Norway: the shortest IBANs (15)
    ("fr76 3000 6000 0112 3456 7890 189", set()),
    (IBAN.ljust(MAX_IDENT), set()),  # at most MAX_IDENT characters typed, spaces included
    (IBAN.ljust(MAX_IDENT + 1), {"iban.format"}),
    ("NO938601111794", {"iban.format"}),
    ("1276300060000112345678901", {"iban.format"}),  # no country letters
    ("FRA630006000011234567890189", {"iban.format"}),  # check digits must be digits
    ("FR76３０００6000011234567890189", {"iban.format"}),  # full-width digits
    ("ZZ12", {"iban.format"}),  # too short, whatever the country
    ("ZZ" + "1" * 32, {"iban.pays"}),  # 34 characters: well formed, unknown country
    ("ZZ" + "1" * 33, {"iban.format"}),  # 35: too long
])
def test_a_malformed_iban_gets_the_code_of_its_first_problem(iban: str, codes: set[str]) -> None:
    assert {v.code for v in rules.check_iban(iban)} == codes


@pytest.mark.parametrize(("bic", "ok"), [
    ("AGRIFRPP", True), ("agrifrpp", True), ("AGRI FR PP", True), ("AGRIFRPP".ljust(MAX_IDENT), True),
    ("AGRIFRPP".ljust(MAX_IDENT + 1), False), ("AGRIFRPPÉ", False), ("AGRIFRPP\u00a0", False),
])
def test_a_bic_is_read_as_people_type_it(bic: str, ok: bool) -> None:
    assert (rules.check_bic(bic) == ()) is ok


def test_a_spaced_bic_agrees_with_the_iban_country() -> None:
    assert rules.check_coordonnees(IBAN, "AGRI FR PP") == ()
    assert {v.code for v in rules.check_coordonnees(IBAN, "DEUT DE FF")} == {"bic.pays_incoherent"}


def test_a_siret_may_be_typed_with_spaces_up_to_the_limit() -> None:
    siret = examples.FOURNISSEUR.siret
    assert rules.check_siret(siret.ljust(MAX_IDENT)) == ()
    assert {v.code for v in rules.check_siret(siret.ljust(MAX_IDENT + 1))} == {"siret.format"}


def test_a_text_code_prefix_needs_both_of_its_codes() -> None:
    # "gestionnaire" has a "requis" code but no "trop_long": not a text prefix
    with pytest.raises(sw.InvalidInput) as err:
        rules.check_text("gestionnaire", "c.martin", required=True, code="gestionnaire")
    assert err.value.parameter == "code"


def test_a_piece_of_the_other_phase_is_named_in_the_refusal() -> None:
    extra = sw.PieceKind(sw.SAS.pieces_solde[0])
    command = attrs.evolve(examples.deposer_avance(),
                           pieces={**examples.pieces(sw.Phase.AVANCE), extra: examples.attachment(extra)})
    with pytest.raises(sw.RuleViolations) as err:
        sw.start(command, numero=examples.NUMERO, now=examples.T0)
    (v,) = err.value.violations
    assert (v.code, v.field) == ("piece.non_attendue", f"pieces.{extra.value}")
    assert f"« {extra.label} »" in v.message


def test_the_pieces_are_judged_by_the_corridor_of_the_dossier() -> None:
    small = attrs.evolve(sw.SAS, max_attachment_bytes=200)  # the example PDFs are larger
    with pytest.raises(sw.RuleViolations) as err:
        sw.start(examples.deposer_avance(corridor=small), numero=examples.NUMERO, now=examples.T0, corridor=small)
    assert err.value.codes == {"piece.trop_grande"}
    assert all("Taille maximum : 200 octets" in v.message for v in err.value.violations)
