"""Salted scrypt digests of secrets (the portal account's passwords and secret answer).

Below the rules: the account's guards verify a candidate with :func:`verifier_secret`. Pure: the salt
comes from the caller (``os.urandom(16)``).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

import attrs

from ._checks import ensure_str
from .errors import InvalidInput

__all__ = ["MIN_SALT", "SCRYPT_N", "SCRYPT_P", "SCRYPT_R", "Secret", "hacher_secret", "normaliser_reponse",
           "verifier_secret"]

#: scrypt cost: N=2**14, r=8, p=1 uses 16 MiB and took about 0.15 s per hash on the (shared) dev
#: machine; the parameters are stored with each secret so a host can raise them later.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_SALT = 16


# -- secrets -------------------------------------------------------------------------------------------------
@attrs.frozen(repr=False)
class Secret:
    """A salted scrypt digest of a secret (hex strings) with its cost parameters."""

    sel: str
    empreinte: str
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    algorithme: str = "scrypt"

    def __repr__(self) -> str:  # a digest in logs helps nobody but an attacker
        return f"Secret(algorithme={self.algorithme!r}, n={self.n})"


def _digest(secret: str, sel: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8", "surrogatepass"), salt=sel, n=n, r=r, p=p,
                          maxmem=256 * 1024 * 1024, dklen=32)


def hacher_secret(secret: str, *, sel: bytes, n: int = SCRYPT_N) -> Secret:
    """The :class:`Secret` of ``secret`` with the caller's random ``sel`` (at least 16 bytes)."""
    ensure_str("secret", secret)
    if not isinstance(sel, bytes) or len(sel) < MIN_SALT:
        raise InvalidInput("sel", f"au moins {MIN_SALT} octets aléatoires (os.urandom)", sel)
    return Secret(sel=sel.hex(), empreinte=_digest(secret, sel, n, SCRYPT_R, SCRYPT_P).hex(), n=n)


def verifier_secret(candidat: str, secret: Secret | None) -> bool:
    """Whether ``candidat`` is the secret behind ``secret`` (constant-time comparison)."""
    if secret is None or not isinstance(candidat, str) or secret.algorithme != "scrypt":
        return False
    try:
        got = _digest(candidat, bytes.fromhex(secret.sel), secret.n, secret.r, secret.p)
        return hmac.compare_digest(got, bytes.fromhex(secret.empreinte))
    except ValueError:  # a corrupt stored secret never matches
        return False


def normaliser_reponse(reponse: str) -> str:
    """A secret answer as it is hashed and compared: NFC, trimmed, blanks collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFC", reponse).split()).casefold()
