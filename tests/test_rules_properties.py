"""Property tests: validators never raise on any text or bytes, refuse what they must, and agree with
python-stdnum (SIRET) and schwifty (IBAN) on numbers whose check digits are computed here."""

from __future__ import annotations

import io
import string

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.fr import siret as std_siret

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules, sniff
from segur_workflow.rules import _files
from segur_workflow.testing import strategies as sw_strategies

TEXT = st.text(max_size=300)
ANY_NAME = st.text(max_size=300) | st.sampled_from(["pv.pdf", "pv.png", "a.jpg", "x.jpeg", "pv.exe.pdf", ""])
KINDS = st.sampled_from(list(sw.PieceKind))


# -- never raise for any str / bytes ------------------------------------------------------------------------
@given(TEXT)
def test_text_validators_never_raise(value: str) -> None:
    for check in (rules.check_siret, rules.check_iban, rules.check_bic, rules.check_reference_ans,
                  rules.check_numero, rules.check_support_contact, rules.check_identifiant, rules.check_filename):
        result = check(value)
        assert isinstance(result, tuple)
        assert all(isinstance(v, sw.Violation) and v.code in rules.CODES for v in result)
    assert isinstance(rules.check_coordonnees(value, value), tuple)
    assert isinstance(rules.check_question_secrete(value, value), tuple)
    assert isinstance(rules.has_dangerous_link(value), bool)
    assert isinstance(rules.check_text("motif", value, required=True, code="motif"), tuple)


@given(TEXT, TEXT)
def test_password_never_raises(password: str, login: str) -> None:
    assert isinstance(rules.check_password(password, identifiant=login), tuple)


@given(ANY_NAME, st.binary(max_size=2048), KINDS)
def test_attachment_never_raises(name: str, data: bytes, kind: sw.PieceKind) -> None:
    att = sw.Attachment.from_bytes(name, data)
    result = rules.check_attachment(kind, att)
    assert all(v.code.startswith("piece.") and v.field == f"pieces.{kind.value}" for v in result)
    if _files._extension(name) not in sw.SAS.allowed_types:
        assert "piece.type_interdit" in {v.code for v in result}


# -- refuse what they must ------------------------------------------------------------------------------------
SIGNATURES = (sniff.PNG_SIGNATURE, sniff.JPEG_SIGNATURE)


@given(st.binary(max_size=4096), st.sampled_from(["pv.pdf", "pv.png", "pv.jpg", "pv.jpeg"]))
def test_random_bytes_are_refused(data: bytes, name: str) -> None:
    assume(not data.startswith(SIGNATURES) and sniff.PDF_SIGNATURE not in data[: sniff.HEAD_BYTES])
    assert rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes(name, data))


@given(st.binary(min_size=1, max_size=2048), st.sampled_from([("pv.png", ex.png_bytes()), ("pv.jpg", ex.jpeg_bytes()),
                                                               ("pv.pdf", ex.pdf_bytes())]))
def test_anything_appended_to_an_image_is_refused_or_harmless(junk: bytes, sample: tuple[str, bytes]) -> None:
    name, good = sample
    att = sw.Attachment.from_bytes(name, good + junk)
    if name.endswith(".png"):
        assert rules.check_attachment(sw.PieceKind.PV_VSR, att)  # nothing may follow IEND


# Issue 13 refuses a space right before the extension and Windows device names (CON, NUL, COM1…):
# plain names end with a visible character and are not one of those.
@given(st.text(alphabet=string.ascii_letters + string.digits + " -_()éèà", min_size=1, max_size=60)
       .filter(lambda s: s.strip(" .") != "" and not s.endswith(" ")
               and s.split(".")[0].rstrip().upper() not in rules.WINDOWS_DEVICES),
       st.sampled_from([(".pdf", ex.pdf_bytes()), (".PNG", ex.png_bytes()), (".jpeg", ex.jpeg_bytes())]))
def test_plain_names_with_good_content_pass(stem: str, sample: tuple[str, bytes]) -> None:
    ext, data = sample
    assert rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes(stem + ext, data)) == ()


@given(st.text(alphabet=string.ascii_letters + "./\\:\x00\n\u202e", max_size=40),
       st.sampled_from(["/", "\\", "\x00", "\x1f", "\u202e", "\u200b", ":", "\x7f"]))
def test_names_with_forbidden_characters_refused(stem: str, bad: str) -> None:
    att = sw.Attachment.from_bytes(stem + bad + "pv.pdf", ex.pdf_bytes())
    assert "piece.nom_caracteres" in {v.code for v in rules.check_attachment(sw.PieceKind.PV_VSR, att)}


@given(st.binary(max_size=20_000), st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=30))
@settings(max_examples=50)
def test_streaming_agrees_with_bytes(data: bytes, cuts: list[int]) -> None:
    class Chunked(io.RawIOBase):
        def __init__(self) -> None:
            self.pos, self.i = 0, 0

        def read(self, _n: int = -1) -> bytes:
            size = cuts[self.i % len(cuts)]
            self.i += 1
            out = data[self.pos: self.pos + size]
            self.pos += len(out)
            return out

    streamed = sw.Attachment.from_stream("f.pdf", Chunked())  # type: ignore[arg-type]
    assert streamed == sw.Attachment.from_bytes("f.pdf", data)


@given(st.text(max_size=40), st.sampled_from(["javascript", "vbscript", "data"]), st.data())
def test_obfuscated_dangerous_schemes_refused(prefix: str, scheme: str, data: st.DataObject) -> None:
    letters = []
    for letter in scheme:
        ch = data.draw(st.sampled_from([letter, letter.upper(), f"&#{ord(letter)};", f"&#x{ord(letter):x};"]))
        letters.append(ch + data.draw(st.sampled_from(["", "\t", "\n", "\u200b"])))
    text = prefix + " " + "".join(letters) + ":alert(1) support@editeur.fr"
    assert "contact_support.lien_dangereux" in {v.code for v in rules.check_support_contact(text)}


@given(st.text(max_size=30), st.text(max_size=30))
def test_password_one_violation_per_clause(password: str, login: str) -> None:
    got = {v.code for v in rules.check_password(password, identifiant=login)}
    expected = {
        "mot_de_passe.trop_court": len(password) < 8,
        "mot_de_passe.chiffre": not any(c in "0123456789" for c in password),
        "mot_de_passe.caractere_special": not any(c in string.punctuation for c in password),
        "mot_de_passe.identifiant": password.casefold() == login.strip().casefold(),
        "mot_de_passe.accents": any(ord(c) > 127 for c in password),
    }
    assert {c for c, broken in expected.items() if broken} == got - {"mot_de_passe.caracteres"}
    assert len(rules.check_password(password, identifiant=login)) == len(got)


# -- agreement with python-stdnum on computed numbers -------------------------------------------------------------
def luhn_key(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits + "0")):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.text(alphabet="0123456789", min_size=4, max_size=4))
def test_generated_valid_sirets_pass(siren8: str, nic4: str) -> None:
    siren = siren8 + luhn_key(siren8)  # a SIRET is a valid SIREN, then the establishment, then a Luhn key
    assume(siren != "356000000")
    siret = siren + nic4 + luhn_key(siren + nic4)
    assert rules.check_siret(siret) == ()
    assert std_siret.is_valid(siret)


@given(st.text(alphabet="0123456789", min_size=5, max_size=5))
def test_la_poste_sirets(tail: str) -> None:
    body = "356000000" + tail
    valid = sum(map(int, body)) % 5 == 0 or body == "35600000000048"
    assert (rules.check_siret(body) == ()) is valid is std_siret.is_valid(body)


@given(st.text(alphabet="0123456789", min_size=14, max_size=14) | st.text(max_size=20))
def test_siret_agrees_with_stdnum(value: str) -> None:
    ascii_digits = value.isascii() and value.isdigit() and len(value) == 14
    assert (rules.check_siret(value) == ()) is (ascii_digits and std_siret.is_valid(value))


def iso_check_digits(country: str, bban: str) -> str:
    converted = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{98 - int(converted) % 97:02d}"


RIB_LETTERS = str.maketrans(string.ascii_uppercase, "12345678912345678923456789")


def french_iban(bank: str, branch: str, account: str, country: str = "FR") -> str:
    key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account.translate(RIB_LETTERS))) % 97
    bban = f"{bank}{branch}{account}{key:02d}"
    return country + iso_check_digits(country, bban) + bban


ACCOUNT = st.text(alphabet=string.digits + string.ascii_uppercase, min_size=11, max_size=11)
FIVE = st.text(alphabet=string.digits, min_size=5, max_size=5)


def schwifty_accepts(value: str) -> bool:
    """The oracle: schwifty with the national check of the BBAN (the RIB key for FR and MC)."""
    try:
        IBAN(value, validate_bban=True)
    except SchwiftyException:
        return False
    return True


@given(FIVE, FIVE, ACCOUNT, st.sampled_from(["FR", "MC"]))
def test_generated_french_ibans_pass(bank: str, branch: str, account: str, country: str) -> None:
    value = french_iban(bank, branch, account, country)
    assert schwifty_accepts(value)
    assert rules.check_iban(value) == ()
    assert rules.check_iban(" ".join(value[i:i + 4] for i in range(0, len(value), 4)).lower()) == ()


@given(FIVE, FIVE, ACCOUNT, st.integers(min_value=4, max_value=26), st.sampled_from(string.digits))
def test_mutated_french_ibans_agree_with_schwifty(bank: str, branch: str, account: str, pos: int,
                                                  digit: str) -> None:
    value = french_iban(bank, branch, account)
    mutated = value[:pos] + digit + value[pos + 1:]
    ours = rules.check_iban(mutated) == ()
    if mutated == value:
        assert ours
    elif value[pos].isdigit():
        # mod 97 catches every single-digit substitution (a letter→digit change alters the length of the
        # converted number, so it is only covered by the agreement below)
        assert not ours
    assert ours is schwifty_accepts(mutated)


@given(FIVE, FIVE, ACCOUNT, st.integers(min_value=0, max_value=99))
def test_wrong_rib_key_under_right_check_digits(bank: str, branch: str, account: str, wrong: int) -> None:
    good = french_iban(bank, branch, account)
    assume(wrong != int(good[-2:]))
    bban = good[4:-2] + f"{wrong:02d}"
    value = "FR" + iso_check_digits("FR", bban) + bban
    assert not schwifty_accepts(value)
    assert [v.code for v in rules.check_iban(value)] == ["iban.cle_rib"]


def test_rib_key_97_is_not_00() -> None:
    # bank, branch and account all zero: 97 - 0 mod 97 = 97. A "multiple of 97" test of the 23 digits
    # takes 00 too; the key is 97 and schwifty refuses 00.
    assert rules.check_iban("FR7600000000000000000000000") == rules.check_iban("FR76 0000 0000 0000 0000 0000 000")
    assert [v.code for v in rules.check_iban("FR7600000000000000000000000")] == ["iban.cle_rib"]
    assert not schwifty_accepts("FR7600000000000000000000000")
    right = "FR" + iso_check_digits("FR", "0" * 21 + "97") + "0" * 21 + "97"
    assert right == french_iban("00000", "00000", "0" * 11)
    assert schwifty_accepts(right)
    assert rules.check_iban(right) == ()


@given(sw_strategies.ibans("FR") | sw_strategies.ibans("MC"))
def test_qa_kit_valid_ibans_agree_with_schwifty(value: str) -> None:
    assert schwifty_accepts(value)
    assert rules.check_iban(value) == ()


@given(sw_strategies.invalid_ibans())
def test_qa_kit_invalid_ibans_agree_with_schwifty(value: str) -> None:
    assert not schwifty_accepts(value.replace(" ", "").upper())
    assert rules.check_iban(value) != ()


@given(st.text(alphabet=string.digits, min_size=18, max_size=18))
def test_generated_german_ibans_agree(bban: str) -> None:
    value = "DE" + iso_check_digits("DE", bban) + bban
    assert (rules.check_iban(value) == ()) is schwifty_accepts(value)


@given(st.text(alphabet=string.ascii_uppercase + string.digits + " ", max_size=40))
def test_iban_agrees_with_schwifty_on_any_candidate(value: str) -> None:
    compact = value.replace(" ", "")
    # ours is schwifty with the national check, on what it accepts as input once spaces are removed
    assert (rules.check_iban(value) == ()) is schwifty_accepts(compact)


@given(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=0, max_size=12))
def test_bic_agrees_with_stdnum(value: str) -> None:
    from stdnum import bic as std_bic

    assert (rules.check_bic(value) == ()) is std_bic.is_valid(value)
