"""The value validators and the named rules, example by example, and their wiring into the engine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules

PORTAL_FILE_TEXT = "Fichier de type .png, .jpg, .jpeg ou .pdf. Taille maximum : 4 Mo"


def codes(violations: tuple[sw.Violation, ...]) -> list[str]:
    return [v.code for v in violations]


# -- seed values ---------------------------------------------------------------------------------------
def test_seed_values_pass() -> None:
    assert rules.check_siret("39431067600017") == ()
    assert rules.check_numero("FINSAS009250") == ()
    assert rules.check_reference_ans("tndSAS0032") == ()
    assert rules.check_coordonnees(ex.COORDONNEES.iban, ex.COORDONNEES.bic) == ()
    assert rules.check_support_contact("support@le-select.example — 01 23 45 67 89") == ()


def test_portal_wording_comes_from_the_corridor() -> None:
    assert rules.file_rule_text() == PORTAL_FILE_TEXT
    big = attrs.evolve(ex.attachment(sw.PieceKind.PV_VSR), size=4 * 1024 * 1024 + 1)
    (v,) = rules.check_attachment(sw.PieceKind.PV_VSR, big)
    assert (v.code, v.field, v.message) == ("piece.trop_grande", "pieces.pv_vsr", PORTAL_FILE_TEXT)


def test_size_limit_is_4_mebibytes_inclusive() -> None:
    at_limit = attrs.evolve(ex.attachment(sw.PieceKind.PV_VSR), size=4 * 1024 * 1024)
    assert rules.check_attachment(sw.PieceKind.PV_VSR, at_limit) == ()
    assert sw.SAS.max_attachment_bytes == 4_194_304


# -- attachments -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("pv.pdf", ex.pdf_bytes(), []),
        ("PV.PDF", ex.pdf_bytes(), []),
        ("photo.JPEG", ex.jpeg_bytes(), []),
        ("scan.png", ex.png_bytes(), []),
        ("PV 2023.05.12.pdf", ex.pdf_bytes(), []),
        ("pv.pdf.pdf", ex.pdf_bytes(), []),
        ("pv.pdf", b"", ["piece.vide"]),
        ("pv.docx", ex.pdf_bytes(), ["piece.type_interdit"]),
        ("pv", ex.pdf_bytes(), ["piece.type_interdit"]),
        ("pv.pdf.exe", ex.pdf_bytes(), ["piece.type_interdit"]),
        ("pv.exe.pdf", ex.pdf_bytes(), ["piece.double_extension"]),
        ("pv.html.png", ex.png_bytes(), ["piece.double_extension"]),
        ("../../etc/pv.pdf", ex.pdf_bytes(), ["piece.nom_caracteres"]),
        ("C:\\pv.pdf", ex.pdf_bytes(), ["piece.nom_caracteres"]),
        ("pv.pdf:flux.exe", ex.pdf_bytes(), ["piece.nom_caracteres", "piece.type_interdit"]),
        ("pv\x00.pdf", ex.pdf_bytes(), ["piece.nom_caracteres"]),
        ("pv\n.pdf", ex.pdf_bytes(), ["piece.nom_caracteres"]),
        ("pv\u200b.pdf", ex.pdf_bytes(), ["piece.nom_caracteres"]),
        ("pv\u202efdp.exe", ex.pdf_bytes(), ["piece.nom_caracteres", "piece.type_interdit"]),
        (".pdf", ex.pdf_bytes(), ["piece.nom_vide"]),
        ("a" * 252 + ".pdf", ex.pdf_bytes(), ["piece.nom_trop_long"]),
        ("é" * 130 + ".pdf", ex.pdf_bytes(), ["piece.nom_trop_long"]),  # 260 UTF-8 bytes
        ("pv.pdf", ex.png_bytes(), ["piece.contenu_incoherent"]),
        ("pv.png", ex.jpeg_bytes(), ["piece.contenu_incoherent"]),
        ("pv.jpg", ex.pdf_bytes(), ["piece.contenu_incoherent"]),
    ],
)
def test_attachment_cases(name: str, data: bytes, expected: list[str]) -> None:
    att = sw.Attachment.from_bytes(name, data)
    assert codes(rules.check_attachment(sw.PieceKind.PV_VSR, att)) == expected


def test_name_of_exactly_255_bytes_passes() -> None:
    att = sw.Attachment.from_bytes("a" * 251 + ".pdf", ex.pdf_bytes())
    assert rules.check_attachment(sw.PieceKind.PV_VSR, att) == ()


def test_pdf_header_may_start_within_1024_bytes_but_not_later() -> None:
    late = b"\x00" * 1000 + ex.pdf_bytes()
    assert rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes("pv.pdf", late)) == ()
    too_late = b"\x00" * 1020 + ex.pdf_bytes()
    assert codes(rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes("pv.pdf", too_late))) == [
        "piece.contenu_incoherent"]


def test_attachment_type_errors() -> None:
    with pytest.raises(sw.InvalidInput):
        rules.check_attachment(sw.PieceKind.PV_VSR, b"%PDF-")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        rules.check_attachment("pas_une_piece", ex.attachment(sw.PieceKind.PV_VSR))  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        rules.check_filename(None)  # type: ignore[arg-type]


# -- amounts ---------------------------------------------------------------------------------------------
def test_amounts_are_the_corridor_s() -> None:
    assert rules.check_montant(Decimal("30000"), sw.Phase.AVANCE) == ()
    assert rules.check_montant(Decimal("30000.00"), sw.Phase.AVANCE) == ()
    (v,) = rules.check_montant(Decimal("30001"), sw.Phase.AVANCE)
    assert v.code == "montant.avance"
    assert "30000" in v.message
    (v,) = rules.check_montant(Decimal("0"), sw.Phase.SOLDE)
    assert v.code == "montant.solde"
    for weird in ("NaN", "sNaN", "Infinity", "-Infinity"):
        assert codes(rules.check_montant(Decimal(weird), sw.Phase.AVANCE)) == ["montant.invalide"]


@pytest.mark.parametrize("value", [30000.0, "30000", 30000, True, None])
def test_amount_of_wrong_type_is_refused_everywhere(value: Any) -> None:
    with pytest.raises(sw.InvalidInput):
        rules.check_montant(value, sw.Phase.AVANCE)
    with pytest.raises(sw.InvalidInput):
        attrs.evolve(ex.deposer_avance(), montant=value)
    with pytest.raises(sw.InvalidInput):
        sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, ex.pieces(sw.Phase.SOLDE), "support@x.fr", value)


# -- identifiers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("39431067600017", []),
        ("394 310 676 00017", []),
        ("39431067600018", ["siret.cle"]),
        ("3943106760001", ["siret.format"]),
        ("394310676000170", ["siret.format"]),
        ("", ["siret.format"]),
        ("3943106760001A", ["siret.format"]),
        ("٣٩٤٣١٠٦٧٦٠٠٠١٧", ["siret.format"]),  # Arabic-Indic digits are not a SIRET
        ("35600000000048", []),  # La Poste head office: Luhn
        ("35600000049837", []),  # La Poste establishment: digit sum multiple of 5, Luhn wrong
        ("35600000049838", ["siret.cle"]),
    ],
)
def test_siret(value: str, expected: list[str]) -> None:
    assert codes(rules.check_siret(value)) == expected


def test_la_poste_rule_really_differs_from_luhn() -> None:
    from stdnum import luhn

    assert not luhn.is_valid("35600000049837")
    assert sum(map(int, "35600000049837")) % 5 == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("FR7630006000011234567890189", []),
        ("fr76 3000 6000 0112 3456 7890 189", []),
        ("MC5811222000010123456789030", []),
        ("DE89370400440532013000", []),
        ("FR7630006000011234567890188", ["iban.cle"]),
        ("XX89370400440532013000", ["iban.pays"]),
        ("FR76300060000112345678901", ["iban.format"]),
        ("FR76-3000-6000-0112-3456-7890-189", ["iban.format"]),
        ("", ["iban.format"]),
        # ISO key right, RIB key wrong (bank 30006 branch 00001 account 12345678901 key 00)
        ("FR5430006000011234567890100", ["iban.cle_rib"]),
        # all zeros: the key is 97, never 00 (the case; schwifty refuses it)
        ("FR7600000000000000000000000", ["iban.cle_rib"]),
        ("FR7600000000000000000000097", []),
    ],
)
def test_iban(value: str, expected: list[str]) -> None:
    assert codes(rules.check_iban(value)) == expected


def test_rib_key_case_of_letters_in_account() -> None:
    # account with letters: A-I→1-9, J-R→1-9, S-Z→2-9 (here M→4)
    bank, branch, account = "20041", "01005", "0500013M026"
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account.replace("M", "4"))) % 97
    for k, expected in ((key, []), ((key % 97) + 1, ["iban.cle_rib"])):
        bban = f"{bank}{branch}{account}{k:02d}"
        digits = "".join(str(int(c, 36)) for c in bban + "FR00")
        assert codes(rules.check_iban(f"FR{98 - int(digits) % 97:02d}{bban}")) == expected


@pytest.mark.parametrize(
    ("bic", "expected"),
    [("AGRIFRPP", []), ("AGRIFRPP882", []), ("agri fr pp", []), ("AGRIFRP", ["bic.format"]),
     ("AGRI1RPP", ["bic.format"]), ("AGRIQQPP", ["bic.format"]), ("", ["bic.format"])],
)
def test_bic(bic: str, expected: list[str]) -> None:
    assert codes(rules.check_bic(bic)) == expected


def test_iban_and_bic_countries_agree() -> None:
    fr, de = "FR7630006000011234567890189", "DE89370400440532013000"
    assert rules.check_coordonnees(fr, "AGRIFRPP") == ()
    assert rules.check_coordonnees(fr, "BDAFGPGP") == ()  # an overseas bank: FR IBAN, GP BIC
    assert rules.check_coordonnees("MC5811222000010123456789030", "CMCIMCM1") == ()
    (v,) = rules.check_coordonnees(de, "AGRIFRPP")
    assert v.code == "bic.pays_incoherent"
    assert "DE" in v.message
    assert "FR" in v.message
    assert codes(rules.check_coordonnees(fr, "COBADEFF")) == ["bic.pays_incoherent"]
    # the country check needs both numbers valid first
    assert codes(rules.check_coordonnees("FR00", "COBADEFF")) == ["iban.format"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("tndSAS0032", True), ("ABC", True), ("a.b-c_d", True), ("ab", False), ("", False), (" tndSAS0032", False),
     ("tnd SAS", False), ("x" * 65, False), ("-abc", False), ("tndSAS0032\n", False)],
)
def test_reference_ans(value: str, ok: bool) -> None:
    assert (rules.check_reference_ans(value) == ()) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("FINSAS009250", True), ("FINSAS000000", True), ("FINSAS00925", False), ("FINSAS0092500", False),
     ("finsas009250", False), ("FINSAS00925O", False), ("FINSAS٠٠٩٢٥٠", False), ("", False)],
)
def test_numero(value: str, ok: bool) -> None:
    assert (rules.check_numero(value) == ()) is ok


@pytest.mark.parametrize("check", [rules.check_siret, rules.check_iban, rules.check_bic, rules.check_reference_ans,
                                   rules.check_numero, rules.check_support_contact, rules.check_identifiant])
@pytest.mark.parametrize("value", [None, 39431067600017, b"FINSAS009250", ["x"]])
def test_wrong_types_raise_invalid_input(check: Any, value: Any) -> None:
    with pytest.raises(sw.InvalidInput):
        check(value)


# -- support contact -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "support@le-select.example",
        "Écrire à support.sas@editeur.fr",
        "01 23 45 67 89",
        "Hotline : 01.23.45.67.89 (9h-18h)",
        "+33 1 23 45 67 89",
        "+33 (0)1 23 45 67 89",
        "0033123456789",
        "https://support.editeur.fr/sas?ref=1",
        "Plateforme : HTTP://aide.editeur.fr",
        "Contact data : support@editeur.fr",  # French spacing before the colon: not a data: link
    ],
)
def test_contact_accepted(text: str) -> None:
    assert rules.check_support_contact(text) == ()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "contact_support.requis"),
        ("   \n\t", "contact_support.requis"),
        ("voir le site", "contact_support.introuvable"),
        ("www.editeur.fr", "contact_support.introuvable"),
        ("ftp://editeur.fr", "contact_support.introuvable"),
        ("12 34", "contact_support.introuvable"),
        ("support@editeur.fr " + "x" * rules.MAX_CONTACT, "contact_support.trop_long"),
        ("support@editeur.fr\x00", "contact_support.caracteres"),
        ("support@editeur.fr\u202e", "contact_support.caracteres"),
        ("javascript:alert(1)//support@editeur.fr", "contact_support.lien_dangereux"),
        ("JavaScript:alert(1)//support@editeur.fr", "contact_support.lien_dangereux"),
        ("  javascript:alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("java\tscript:alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("java\nscript:alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("&#106;avascript:alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("&#x6A;avascript&colon;alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("&amp;#106;avascript:alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("javascript%3Aalert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("ｊａｖａｓｃｒｉｐｔ：alert(1) support@editeur.fr", "contact_support.lien_dangereux"),
        ("vbscript:msgbox support@editeur.fr", "contact_support.lien_dangereux"),
        ("data:text/html;base64,PHNjcmlwdD4= support@editeur.fr", "contact_support.lien_dangereux"),
        ("<a href=\"javascript:x\">support@editeur.fr</a>", "contact_support.lien_dangereux"),
    ],
)
def test_contact_refused(text: str, code: str) -> None:
    assert code in codes(rules.check_support_contact(text))


# -- password --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Secur1te!", []),
        ("abcdefg1!", []),
        ("a1!", ["mot_de_passe.trop_court"]),
        ("abcdefgh!", ["mot_de_passe.chiffre"]),
        ("abcdefgh1", ["mot_de_passe.caractere_special"]),
        ("Sécur1té!", ["mot_de_passe.accents"]),
        ("Secur1te!\x00", ["mot_de_passe.caracteres"]),
        ("TEST.ecomplementaire1", []),
        ("x" * 129 + "1!", ["mot_de_passe.trop_long"]),
        ("", ["mot_de_passe.trop_court", "mot_de_passe.chiffre", "mot_de_passe.caractere_special"]),
        ("é", ["mot_de_passe.trop_court", "mot_de_passe.chiffre", "mot_de_passe.caractere_special",
               "mot_de_passe.accents"]),
    ],
)
def test_password_policy(password: str, expected: list[str]) -> None:
    assert codes(rules.check_password(password, identifiant="test.ecomplementaire")) == expected


def test_password_equal_to_login_ignoring_case() -> None:
    assert codes(rules.check_password("Dupont.1!", identifiant="dupont.1!")) == ["mot_de_passe.identifiant"]
    assert codes(rules.check_password("Dupont.1!", identifiant="  DUPONT.1!  ")) == ["mot_de_passe.identifiant"]


def test_password_messages_quote_the_portal() -> None:
    messages = " ".join(v.message for v in rules.check_password("é", identifiant="x"))
    assert "8 caractères minimum" in messages
    assert "Les caractères accentués ne sont pas autorisés." in messages
    assert ".,;?!:%#" in messages


# -- wiring: the engine runs every rule and reports all at once -------------------------------------------
def test_deposit_reports_every_problem_at_once() -> None:
    bad_pdf = sw.Attachment.from_bytes("pv.exe.pdf", ex.pdf_bytes())
    command = sw.DeposerAvance(
        sw.Actor(sw.Role.FOURNISSEUR, "x"),
        attrs.evolve(ex.FOURNISSEUR, ans_id="x", siret="39431067600018", enrole=False),
        sw.CoordonneesBancaires("DE89370400440532013000", "AGRIFRPP", "LE SELECT", "Banque"),
        {sw.PieceKind.PV_MISE_EN_SERVICE: bad_pdf, sw.PieceKind.PV_VSR: ex.attachment(sw.PieceKind.PV_VSR)},
        Decimal("29999.99"),
    )
    with pytest.raises(sw.RuleViolations) as err:
        sw.start(command, numero="FINSAS12", now=ex.T0)
    assert err.value.codes == {
        "numero.format", "fournisseur.non_enrole", "piece.double_extension", "piece.manquante",
        "piece.non_attendue", "montant.avance", "bic.pays_incoherent", "siret.cle", "reference_ans.format",
    }
    fields = {v.field for v in err.value.violations}
    assert {"pieces.attestation_procuration", "pieces.justificatif_transmission", "fournisseur.siret",
            "coordonnees_bancaires.bic", "montant", "numero"} <= fields


def test_solde_refused_for_hostile_contact_and_wrong_amount_nothing_changes() -> None:
    dossier = ex.dossier_at(sw.Status.AVANCE_DECIDEE)
    before = attrs.asdict(dossier, recurse=False)
    command = sw.DeposerSolde(ex.owner(dossier), {sw.PieceKind.PV_VSR: sw.Attachment.from_bytes(
        "vsr.pdf", ex.pdf_bytes()[:-7])}, "javascript:alert(1)", Decimal("30000.01"))
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, command, now=ex.T0 + timedelta(days=30))
    assert err.value.codes == {"piece.incomplet", "contact_support.lien_dangereux", "contact_support.introuvable",
                               "montant.solde"}
    assert attrs.asdict(dossier, recurse=False) == before


def test_completer_checks_brought_pieces_and_contact() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_A_MODIFIER)
    bad = sw.Attachment.from_bytes("vsr.png", b"<svg onload=alert(1)>")
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.Completer(ex.owner(dossier), pieces={sw.PieceKind.PV_VSR: bad},
                                        contact_support="data:,x"), now=ex.T0 + timedelta(days=30))
    assert {"piece.contenu_incoherent", "contact_support.lien_dangereux"} <= err.value.codes


def test_not_referenced_provider_refused() -> None:
    f = attrs.evolve(ex.FOURNISSEUR, reference=False)
    command = attrs.evolve(ex.deposer_avance(), fournisseur=f)
    with pytest.raises(sw.RuleViolations) as err:
        sw.start(command, numero=ex.NUMERO, now=ex.T0)
    assert err.value.codes == {"fournisseur.non_reference"}


def test_run_filters_by_scope() -> None:
    dossier = ex.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    ctx = rules.RuleContext(command=None, dossier=dossier)
    # the portal marked « Coordonnées bancaires » OK at the balance deposit; the other two wait
    assert codes(rules.run(["blocs_tous_ok", "motif_requis"], ctx, scope="dossier")) == ["bloc.non_ok"] * 2


def test_programming_errors_are_invalid_input() -> None:
    with pytest.raises(sw.InvalidInput):
        rules.check_montant(Decimal(1), "acompte")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        rules.check_montant(Decimal(1), sw.Phase.AVANCE, "SAS")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        rules.check_numero("FINSAS000001", None)  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        rules.check_text("note", "x", required=True, code="inconnu")
    with pytest.raises(sw.InvalidInput):
        rules.check_text("motif", 12, required=True, code="motif")  # type: ignore[arg-type]
