"""File names and attachments as the portal judges them, from the survivors of the complete mutation run of
1 December (docs/qa.md, "Tests de mutation"): percent-encoded separators, what each refusal says, the edges
of the size and completeness checks, the byte limit as the portal writes it.
"""

from __future__ import annotations

import hashlib

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, rules, sniff
from segur_workflow.sniff import TAILLE_DEPASSEE

PV = sw.PieceKind.PV_MISE_EN_SERVICE


def _codes(name: str) -> set[str]:
    return {v.code for v in rules.check_filename(name)}


def _constat(name: str) -> str:
    (v,) = [v for v in rules.check_filename(name) if v.code == "piece.nom_caracteres"]
    return v.message.split(" : ", 1)[1].split(" (sont refusés", 1)[0]


@pytest.mark.parametrize("name", [
    "rapport%20final.pdf", "100%.pdf", "pv%41.pdf", "taux 5%.pdf", "X.pdf", "PRNX.pdf", "CONSEIL.pdf",
    "pv.pdf.pdf",
])
def test_names_with_harmless_percent_signs_or_device_like_stems_are_accepted(name: str) -> None:
    assert rules.check_filename(name) == ()


@pytest.mark.parametrize(("name", "constat"), [
    ("..%2f..%2fpv.pdf", "« %2f », qui se décode en un caractère interdit"),
    ("pv%00.pdf", "« %00 », qui se décode en un caractère interdit"),
    ("pv%5C%3a.pdf", "« %5C », qui se décode en un caractère interdit, « %3a », qui se décode en un caractère "
                     "interdit"),
    ("pv%252f.pdf", "un encodage « % » qui se décode en un caractère interdit"),  # double encoding
    ("pv%25252f.pdf", "un encodage « % » qui se décode en un caractère interdit"),  # triple
    ("pv%EF%BC%8F.pdf", "un encodage « % » qui se décode en un caractère interdit"),  # UTF-8 of "／" (NFKC: "/")
    ("a:b*c?d.pdf", "« : », « * », « ? »"),  # the first three only
])
def test_a_name_that_decodes_into_a_forbidden_character_is_refused_saying_which(name: str, constat: str) -> None:
    assert _codes(name) == {"piece.nom_caracteres"}
    assert _constat(name) == constat


def test_the_refusals_of_a_name_say_the_field_the_limit_the_device_and_the_extension() -> None:
    (long,) = rules.check_filename("a" * 252 + ".pdf")
    assert long.code == "piece.nom_trop_long" and "255 caractères maximum" in long.message
    assert long.field == "pieces.fichier"  # the field of a name judged alone
    (device,) = rules.check_filename("CON.pdf.pdf")  # the device is the part before the first dot
    assert device.code == "piece.nom_reserve" and "« CON »" in device.message
    (double,) = rules.check_filename("pv.xhtml.pdf")  # a five-letter inner extension
    assert double.code == "piece.double_extension" and "« .xhtml »" in double.message
    assert _codes("..pdf") == _codes(". .pdf") == {"piece.nom_vide"}
    # a space Windows does not strip (U+1680), or a tab: the stem is not a device name
    assert _codes("CON\u1680.pdf") == {"piece.nom_espace"}
    assert _codes("CON\t.pdf") == {"piece.nom_caracteres"}
    (piece,) = rules.check_filename("CON.pdf", piece="pv_vsr")
    assert piece.field == "pieces.pv_vsr"


def _meta(name: str, size: int, media_type: str = "application/pdf", *, complet: bool = True,
          marqueurs: tuple[str, ...] = ()) -> sw.Attachment:
    """An attachment described by a host's own reader (the rules judge the description)."""
    return sw.Attachment(filename=name, size=size, media_type=media_type, sha256=hashlib.sha256(b"x").hexdigest(),
                         complet=complet, marqueurs=marqueurs)


def test_a_one_byte_file_is_judged_like_any_other() -> None:
    assert rules.check_attachment(PV, _meta("pv.pdf", 1)) == ()  # not empty
    assert {v.code for v in rules.check_attachment(PV, _meta("pv.pdf", 1, complet=False))} == {"piece.incomplet"}
    (wrong,) = rules.check_attachment(PV, sw.Attachment.from_bytes("pv.pdf", b"x"))
    assert wrong.code == "piece.contenu_incoherent" and "« .pdf »" in wrong.message
    assert {v.code for v in rules.check_attachment(PV, _meta("pv.pdf", 0))} == {"piece.vide"}


def test_a_file_without_extension_is_refused_even_when_named_like_one() -> None:
    data = examples.pdf_bytes()
    assert {v.code for v in rules.check_attachment(PV, sw.Attachment.from_bytes("pdf", data))} == {
        "piece.type_interdit"}


def test_a_file_read_up_to_a_smaller_limit_is_never_accepted() -> None:
    corridor = attrs.evolve(sw.SAS, max_attachment_bytes=1000)
    data = examples.pdf_bytes() + b"%" * 2000
    att = sw.Attachment.from_bytes("pv.pdf", data, limit=999)  # 1000 bytes described, not inspected
    assert TAILLE_DEPASSEE in att.marqueurs and att.size == 1000
    assert {v.code for v in rules.check_attachment(PV, att, corridor)} == {"piece.trop_grande"}


def test_a_suspect_content_is_told_finding_by_finding() -> None:
    att = _meta("pv.pdf", 10, marqueurs=("pdf.javascript", "pdf.fichier_joint"))
    (v,) = rules.check_attachment(PV, att)
    assert v.code == "piece.contenu_suspect"
    assert f"refusé : {' ; '.join(sniff.decrire_tous(att.marqueurs))}. Déposez" in v.message


@pytest.mark.parametrize(("limit", "said"), [
    (4 * 1024 * 1024, "4 Mo"), (500 * 1024, "500 Ko"), (1025 * 1024, "1025 Ko"), (1500, "1500 octets"),
    (2048, "2 Ko"),
])
def test_the_size_limit_is_written_as_the_portal_writes_it(limit: int, said: str) -> None:
    corridor = attrs.evolve(sw.SAS, max_attachment_bytes=limit)
    (v,) = rules.check_attachment(PV, _meta("pv.pdf", limit + 1), corridor)
    assert v.code == "piece.trop_grande" and f"Taille maximum : {said}" in v.message
