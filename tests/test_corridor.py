"""The corridor is data: a made-up second corridor runs through the same engine and rules, no code changed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules

K = sw.PieceKind
XYZ = sw.Corridor(
    code="XYZ",
    libelle="Couloir imaginaire — pour les tests",
    prefixe_numero="FINXYZ",
    montant_avance=Decimal("12500.50"),
    montant_solde=Decimal("7499.50"),
    taux_tva="TTC - 20%",
    pieces_avance=(K.PV_MISE_EN_SERVICE,),
    pieces_solde=(K.PV_VSR, K.JUSTIFICATIF_TRANSMISSION),
    max_attachment_bytes=1024 * 1024,
    allowed_types={".pdf": "application/pdf"},
)
NUMERO = "FINXYZ000001"


@pytest.mark.parametrize("status", list(sw.Status))
def test_every_status_reachable_in_the_other_corridor(status: sw.Status) -> None:
    dossier = ex.dossier_at(status, numero=NUMERO, corridor=XYZ)
    assert dossier.status is status
    assert dossier.corridor == "XYZ"
    assert set(dossier.avance.pieces) == {K.PV_MISE_EN_SERVICE}
    assert dossier.avance.taux_tva == "TTC - 20%"


def test_payments_are_the_corridor_amounts() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_DECIDEE, numero=NUMERO, corridor=XYZ)
    assert dossier.total_paye == Decimal("20000.00")
    assert dossier.solde is not None
    assert set(dossier.solde.pieces) == {K.PV_VSR, K.JUSTIFICATIF_TRANSMISSION}


def test_sas_values_are_refused_by_the_other_corridor() -> None:
    sas_command = ex.deposer_avance()  # 3 pieces, 30000
    with pytest.raises(sw.RuleViolations) as err:
        sw.start(sas_command, numero="FINSAS000001", now=ex.T0, corridor=XYZ)
    assert err.value.codes == {"numero.format", "piece.non_attendue", "montant.avance"}
    messages = {v.code: v.message for v in err.value.violations}
    assert "12500.50" in messages["montant.avance"]
    assert "FINXYZ" in messages["numero.format"]


def test_file_rules_follow_the_corridor() -> None:
    png = sw.Attachment.from_bytes("pv.png", ex.png_bytes())
    (v,) = rules.check_attachment(K.PV_VSR, png, XYZ)
    assert v.code == "piece.type_interdit"
    assert v.message == "Fichier de type .pdf. Taille maximum : 1 Mo"
    assert rules.check_attachment(K.PV_VSR, png) == ()  # the SAS corridor accepts it
    big = attrs.evolve(ex.attachment(K.PV_VSR), size=1024 * 1024 + 1)
    assert [v.code for v in rules.check_attachment(K.PV_VSR, big, XYZ)] == ["piece.trop_grande"]
    assert rules.check_attachment(K.PV_VSR, big) == ()
    # a double extension is judged against the corridor's own allowed types
    twice = sw.Attachment.from_bytes("scan.png.pdf", ex.pdf_bytes())
    assert [v.code for v in rules.check_attachment(K.PV_VSR, twice, XYZ)] == ["piece.double_extension"]
    assert rules.check_attachment(K.PV_VSR, twice) == ()


def test_solde_deposit_needs_the_corridor_pieces_and_amount() -> None:
    dossier = ex.dossier_at(sw.Status.AVANCE_DECIDEE, numero=NUMERO, corridor=XYZ)
    only_vsr = {K.PV_VSR: ex.attachment(K.PV_VSR)}
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.DeposerSolde(ex.owner(dossier), only_vsr, "support@editeur.fr", Decimal("30000")),
                  now=ex.T0 + timedelta(days=60), corridor=XYZ)
    assert err.value.codes == {"piece.manquante", "montant.solde"}
    (missing,) = (v for v in err.value.violations if v.code == "piece.manquante")
    assert missing.field == "pieces.justificatif_transmission"
    assert K.JUSTIFICATIF_TRANSMISSION.label in missing.message


def test_a_piece_request_in_the_other_corridor() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION, numero=NUMERO, corridor=XYZ)
    now = ex.T0 + timedelta(days=90)
    g = ex.GESTIONNAIRE
    asked = sw.handle(dossier, sw.DemanderPiece(g, K.JUSTIFICATIF_TRANSMISSION, "Merci de joindre le justificatif."),
                      now=now, corridor=XYZ).dossier
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(asked, sw.Completer(ex.owner(asked), pieces={K.PV_VSR: ex.attachment(K.PV_VSR)}),
                  now=now + timedelta(hours=1), corridor=XYZ)
    assert err.value.codes == {"piece.demandee_manquante"}
    done = sw.handle(asked, sw.Completer(ex.owner(asked), pieces={
        K.JUSTIFICATIF_TRANSMISSION: ex.attachment(K.JUSTIFICATIF_TRANSMISSION)}), now=now + timedelta(hours=1),
        corridor=XYZ).dossier
    assert done.status is sw.Status.SOLDE_EN_INSTRUCTION


def test_a_dossier_cannot_be_handled_with_another_corridor() -> None:
    dossier = ex.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION, numero=NUMERO, corridor=XYZ)
    with pytest.raises(sw.InvalidInput):
        sw.handle(dossier, sw.Decider(ex.GESTIONNAIRE), now=ex.T0 + timedelta(days=1))
