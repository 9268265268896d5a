"""The portal account's credentials: the login, the password policy, the secret question."""

from __future__ import annotations

import re
import string
import unicodedata

from ..errors import Violation
from ._args import ensure_str
from ._codes import OK, Violations, violation

__all__ = ["MAX_PASSWORD", "MAX_QUESTION", "MIN_PASSWORD", "check_identifiant", "check_password",
           "check_question_secrete"]

MAX_PASSWORD = 128  # bounds the work of hashing
MIN_PASSWORD = 8
MAX_QUESTION = 200
_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@\-]{2,63}")
_SPECIALS = frozenset(string.punctuation)


def check_identifiant(identifiant: str) -> Violations:
    """A portal login (``test.ecomplementaire``): 3 to 64 ASCII letters, digits, ``. _ - @``."""
    v = ensure_str("identifiant", identifiant)
    return OK if _LOGIN.fullmatch(v) else (violation("identifiant.format"),)


def check_password(password: str, *, identifiant: str) -> Violations:
    """The portal's password policy, one violation per broken clause: at least 8 characters, 1 digit,
    1 special character, different from the login (ignoring case), no accented (non-ASCII) character."""
    pwd = ensure_str("password", password)
    login = ensure_str("identifiant", identifiant)
    out: list[Violation] = []
    if len(pwd) < MIN_PASSWORD:
        out.append(violation("mot_de_passe.trop_court"))
    if len(pwd) > MAX_PASSWORD:
        out.append(violation("mot_de_passe.trop_long", max=MAX_PASSWORD))
    if not any(ch in string.digits for ch in pwd):
        out.append(violation("mot_de_passe.chiffre"))
    if not any(ch in _SPECIALS for ch in pwd):
        out.append(violation("mot_de_passe.caractere_special"))
    if pwd.casefold() == login.strip().casefold():
        out.append(violation("mot_de_passe.identifiant"))
    if not pwd.isascii():
        out.append(violation("mot_de_passe.accents"))
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in pwd):
        out.append(violation("mot_de_passe.caracteres"))
    return tuple(out)


def check_question_secrete(question: str, reponse: str) -> Violations:
    """The secret question and answer: both present, bounded."""
    q, r = ensure_str("question", question), ensure_str("reponse", reponse)
    out: list[Violation] = []
    if not q.strip():
        out.append(violation("question_secrete.requise"))
    elif len(q) > MAX_QUESTION:
        out.append(violation("question_secrete.trop_longue", max=MAX_QUESTION))
    if not r.strip():
        out.append(violation("reponse_secrete.requise"))
    elif len(r) > MAX_QUESTION:
        out.append(violation("reponse_secrete.trop_longue", max=MAX_QUESTION))
    return tuple(out)

