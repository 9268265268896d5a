"""Identifiers typed by people: SIRET, ANS reference, IBAN and BIC (schwifty, python-stdnum), dossier number."""

from __future__ import annotations

import re

from schwifty import IBAN
from schwifty import exceptions as iban_errors
from stdnum import bic as _bic
from stdnum.fr import siret as _siret

from ..model import SAS, Corridor
from ._args import as_corridor, ensure_str
from ._codes import OK, Violations, violation

__all__ = [
    "FRENCH_ZONE",
    "MAX_IDENT",
    "RIB_COUNTRIES",
    "check_bic",
    "check_coordonnees",
    "check_iban",
    "check_numero",
    "check_reference_ans",
    "check_siret",
]

MAX_IDENT = 64  # identifiers typed by people (SIRET, IBAN, BIC, ANS reference, login)
_SPACES = re.compile(r"[ .]")


def check_siret(value: str) -> Violations:
    """A SIRET (14 digits, Luhn key; La Poste's establishments ``356000000…`` use their own rule,
    which python-stdnum applies). Spaces and dots between groups are tolerated."""
    v = ensure_str("siret", value)
    compact = _SPACES.sub("", v)
    if len(v) > MAX_IDENT or len(compact) != 14 or not (compact.isascii() and compact.isdigit()):
        return (violation("siret.format"),)
    if not _siret.is_valid(compact):
        return (violation("siret.cle"),)
    return OK


_ANS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,63}")


def check_reference_ans(value: str) -> Violations:
    """The ANS referencing number (``tndSAS0032``): 3 to 64 ASCII letters, digits, ``.``, ``_``, ``-``."""
    v = ensure_str("ans_id", value)
    return OK if _ANS.fullmatch(v) else (violation("reference_ans.format"),)


#: IBAN countries whose BBAN is a French RIB (bank, branch, account, 2-digit key).
RIB_COUNTRIES = frozenset({"FR", "MC"})
#: BIC countries consistent with a French or Monegasque IBAN: France, its overseas departments and
#: collectivities (their banks have their own ISO country codes in their BIC but FR IBANs), Monaco.
FRENCH_ZONE = frozenset({"FR", "MC", "GP", "GF", "MQ", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF", "TF"})


def _iban_compact(value: str) -> str:
    return value.replace(" ", "").upper()


def check_iban(value: str) -> Violations:
    """An IBAN, judged by schwifty with the national check of its BBAN (``validate_bban=True``): the
    country's structure and length (SWIFT IBAN registry), the ISO 7064 mod 97-10 check digits, and for
    FR and MC the French RIB key (``97 - (89·banque + 15·guichet + 3·compte) mod 97``, so ``00`` is never
    a key). Spaces and lower case are accepted (``fr76 3000 …``)."""
    v = ensure_str("iban", value)
    compact = _iban_compact(v)
    if (len(v) > MAX_IDENT or not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum()
            or not compact[:2].isalpha() or not compact[2:4].isdigit()):
        return (violation("iban.format"),)
    try:
        # schwifty checks, in this order, the country, the characters, the length, the BBAN structure,
        # the check digits and last the national key: the first problem found is the one reported.
        IBAN(compact, validate_bban=True)
    except iban_errors.InvalidCountryCode:
        return (violation("iban.pays"),)
    except iban_errors.InvalidChecksumDigits:
        return (violation("iban.cle"),)
    except iban_errors.InvalidBBANChecksum:
        return (violation("iban.cle_rib") if compact[:2] in RIB_COUNTRIES else violation("iban.cle_nationale"),)
    except iban_errors.SchwiftyException:  # length, structure, bank/branch/account code
        return (violation("iban.format"),)
    return OK


def check_bic(value: str) -> Violations:
    """A BIC (ISO 9362): 4 letters (bank), 2 letters (ISO country), 2 (location), optionally 3 (branch)."""
    v = ensure_str("bic", value)
    compact = v.replace(" ", "").upper()
    if len(v) > MAX_IDENT or not compact.isascii() or not _bic.is_valid(compact):
        return (violation("bic.format"),)
    return OK


def check_coordonnees(iban: str, bic: str) -> Violations:
    """IBAN, BIC, and their countries agree (the French zone counts as one, see :data:`FRENCH_ZONE`)."""
    out = check_iban(iban) + check_bic(bic)
    if out:
        return out
    pays_iban, pays_bic = _iban_compact(iban)[:2], bic.replace(" ", "").upper()[4:6]
    same = pays_iban == pays_bic or (pays_iban in RIB_COUNTRIES and pays_bic in FRENCH_ZONE)
    return OK if same else (violation("bic.pays_incoherent", pays_bic=pays_bic, pays_iban=pays_iban),)


def check_numero(numero: str, corridor: Corridor = SAS) -> Violations:
    """A dossier number: the corridor's prefix and six digits (``FINSAS009250``)."""
    v = ensure_str("numero", numero)
    corridor = as_corridor(corridor)
    rest = v[len(corridor.prefixe_numero):]
    if not (v.startswith(corridor.prefixe_numero) and len(rest) == 6 and rest.isascii() and rest.isdigit()):
        return (violation("numero.format", prefixe=corridor.prefixe_numero),)
    return OK

