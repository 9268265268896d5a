"""Identifiers with their check digits computed, never picked from a list: SIRET (Luhn), French IBAN (RIB key
and ISO 13616 digits), BIC (ISO 9362 shape), dossier numbers; and their invalid look-alikes."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...model import SAS, Corridor
from ...rules import FRENCH_ZONE
from ._args import ALNUM, DIGITS, UPPER, memo, require, require_corridor

__all__ = ["bics", "iban_check_digits", "ibans", "invalid_bics", "invalid_ibans", "invalid_sirets", "numeros",
           "rib_key", "sirets"]


def _luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


@memo
def sirets() -> st.SearchStrategy[str]:
    """Valid SIRET numbers: a Luhn-valid SIREN followed by a NIC making the 14 digits Luhn-valid."""
    def build(siren8: str, nic4: str) -> str:
        siren = siren8 + _luhn_check_digit(siren8)
        head = siren + nic4
        return head + _luhn_check_digit(head)

    return st.builds(build, st.text(DIGITS, min_size=8, max_size=8), st.text(DIGITS, min_size=4, max_size=4)).filter(
        lambda s: not s.startswith("356000000")  # La Poste's SIREN follows another checksum rule
    )


@memo
def invalid_sirets() -> st.SearchStrategy[str]:
    """SIRET-looking strings that are not valid: a wrong check digit, a wrong length, letters, blank."""
    wrong_digit = st.builds(lambda s, d: s[:-1] + str((int(s[-1]) + d) % 10), sirets(), st.integers(1, 9))
    return st.one_of(
        wrong_digit,
        st.text(DIGITS, min_size=0, max_size=13),
        st.text(DIGITS, min_size=15, max_size=20),
        st.builds(lambda s, c: s[:5] + c + s[6:], sirets(), st.sampled_from(UPPER)),
        st.sampled_from(["", " ", "39431067600017 x"]),
    )


_RIB_LETTERS = {c: str(v) for v, letters in enumerate(("AJ", "BKS", "CLT", "DMU", "ENV", "FOW", "GPX", "HQY", "IRZ"), 1)
                for c in letters}


def rib_key(banque: str, guichet: str, compte: str) -> str:
    """The French RIB key: 97 - (89·banque + 15·guichet + 3·compte) mod 97, letters mapped to digits."""
    compte_num = "".join(_RIB_LETTERS.get(c, c) for c in compte.upper())
    return f"{97 - (89 * int(banque) + 15 * int(guichet) + 3 * int(compte_num)) % 97:02d}"


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits: 98 - (BBAN + country + "00", letters as 10..35) mod 97."""
    rearranged = bban + country + "00"
    as_number = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(as_number) % 97:02d}"


@memo
def ibans(country: str = "FR") -> st.SearchStrategy[str]:
    """Valid French-format IBANs (``FR`` or ``MC``): bank, branch, account, RIB key, check digits."""
    if country not in ("FR", "MC"):
        raise InvalidArgument(f"ibans(country={country!r}) : seuls les IBAN au format français (FR, MC) sont générés")

    def build(banque: str, guichet: str, compte: str) -> str:
        bban = banque + guichet + compte + rib_key(banque, guichet, compte)
        return country + iban_check_digits(country, bban) + bban

    return st.builds(
        build,
        st.text(DIGITS, min_size=5, max_size=5),
        st.text(DIGITS, min_size=5, max_size=5),
        st.text(ALNUM, min_size=11, max_size=11),
    )


@memo
def invalid_ibans() -> st.SearchStrategy[str]:
    """IBAN-looking strings that are not valid: altered check digits; a wrong RIB key under right check
    digits (``00`` included, e.g. ``FR7600000000000000000000000`` whose key should be ``97``); truncated;
    junk."""
    def bump(iban: str, pos: int, d: int) -> str:
        return iban[:pos] + str((int(iban[pos]) + d) % 10) + iban[pos + 1:]

    def wrong_rib_key(iban: str, key: int) -> str:
        # only the RIB key is wrong: the ISO 13616 check digits are recomputed over the altered BBAN
        country, bban = iban[:2], iban[4:]
        right = int(bban[-2:])
        altered = bban[:-2] + f"{key if key != right else (right % 97) + 1:02d}"
        return country + iban_check_digits(country, altered) + altered

    def key_00(banque: str, guichet: str, compte: str) -> str:
        # the key 00 where the right one is 97: "00" is no RIB key (they run from 01 to 97)
        bban = banque + guichet + compte + "00"
        return "FR" + iban_check_digits("FR", bban) + bban

    return st.one_of(
        st.builds(lambda i, d: bump(i, 2, d), ibans(), st.integers(1, 9)),  # check digits
        st.builds(lambda i, d: bump(i, len(i) - 1, d), ibans(), st.integers(1, 9)),  # RIB key and check digits
        st.builds(wrong_rib_key, ibans(), st.integers(0, 99)),
        st.builds(key_00, st.text(DIGITS, min_size=5, max_size=5), st.text(DIGITS, min_size=5, max_size=5),
                  st.text(ALNUM, min_size=11, max_size=11)),
        st.just("FR7600000000000000000000000"),
        st.builds(lambda i, n: i[:-n], ibans(), st.integers(1, 10)),
        # any text an IBAN field can hold (identifiers refuse control and bidi characters at construction)
        st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs")), max_size=40).filter(
            lambda s: not s.strip().upper().startswith("FR")),
    )


@memo
def bics(country: str | None = None) -> st.SearchStrategy[str]:
    """ISO 9362 BICs: 4 letters, a country, 2 location characters, an optional 3-character branch.

    Without ``country``, a country of the French zone (:data:`segur_workflow.rules.FRENCH_ZONE`), so
    that the BIC agrees with the IBANs of :func:`ibans`."""
    require(country is None or (isinstance(country, str) and len(country) == 2 and country.isascii()
                                 and country.isupper()), "bics(country=…)", "un code pays ISO en 2 majuscules",
             country)
    countries = st.just(country) if country else st.sampled_from(sorted(FRENCH_ZONE))
    return st.builds(
        lambda bank, cc, loc, branch: bank + cc + loc + branch,
        st.text(UPPER, min_size=4, max_size=4),
        countries,
        st.text(ALNUM, min_size=2, max_size=2),
        st.one_of(st.just(""), st.text(ALNUM, min_size=3, max_size=3)),
    )


@memo
def invalid_bics() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda b, n: b[:n], bics(), st.integers(0, 7)),
        st.builds(lambda b: b + "X", bics().filter(lambda b: len(b) == 11)),
        st.builds(lambda b, d: d + b[1:], bics(), st.sampled_from(DIGITS)),  # digit in the bank code
        st.builds(lambda b: b[:4] + "ZZ" + b[6:], bics()),  # no such country
    )


@memo
def numeros(corridor: Corridor = SAS) -> st.SearchStrategy[str]:
    """Dossier numbers of the corridor: its prefix and six digits (``FINSAS009250``)."""
    require_corridor("numeros", corridor)
    return st.builds(lambda n: f"{corridor.prefixe_numero}{n:06d}", st.integers(0, 999_999))
