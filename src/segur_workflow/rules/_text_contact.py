"""Free texts (comment, motif) and the balance's support contact (an address, a phone, a safe link)."""

from __future__ import annotations

import html
import re
import unicodedata
import urllib.parse

from .._checks import has_surrogate
from ..errors import InvalidInput, Violation
from ._args import ensure_str
from ._codes import CODES, OK, Violations, violation

__all__ = ["EMAIL", "MAX_CONTACT", "MAX_TEXT", "check_support_contact", "check_text", "has_dangerous_link"]

MAX_TEXT = 4000  # a comment or motif longer than this is refused (bounded storage and e-mails)
MAX_CONTACT = 500  # the support contact is "a short sentence"


def check_text(field: str, value: str | None, *, required: bool, code: str, max_len: int = MAX_TEXT) -> Violations:
    """A free text (comment, motif): required non-blank if asked, bounded in length.

    ``code`` is the prefix of the codes ``<code>.requis`` / ``<code>.trop_long`` (``commentaire``, ``motif``…).
    """
    if f"{code}.requis" not in CODES or f"{code}.trop_long" not in CODES:
        raise InvalidInput("code", "un préfixe de code connu (commentaire, motif, contact_support)", code)
    if value is not None:
        ensure_str(field, value)
    if value is None or not value.strip():
        return (violation(f"{code}.requis"),) if required else OK
    if len(value) > max_len:
        return (violation(f"{code}.trop_long", max=max_len),)
    if f"{code}.caracteres" in CODES and has_surrogate(value):
        # lone surrogates are not text: no e-mail, JSON or database encoding accepts them
        return (violation(f"{code}.caracteres"),)
    return OK


_INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff"
# What browsers drop inside a URL scheme (tab, newline, other C0 controls) and invisible characters.
_SEP = f"[\\t\\n\\r\\x00-\\x1f{_INVISIBLE}]*"


def _scheme(word: str) -> str:
    return _SEP.join(re.escape(ch) for ch in word) + _SEP + ":"


_DANGEROUS = re.compile(
    r"(?<![a-z0-9+.\-])(?:" + "|".join(_scheme(w) for w in ("javascript", "vbscript", "livescript", "data", "file"))
    + ")"
)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![0-9+])(?:(?:\+|00)33[ .\-]?(?:\(0\)[ .\-]?)?|0)[1-9](?:[ .\-]?[0-9]{2}){4}(?![0-9])")
_URL = re.compile(r"https?://[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?::[0-9]{1,5})?(?:[/?#]\S*)?",
                  re.IGNORECASE)


def _deobfuscate(text: str) -> str:
    """What a browser or a mail client could read: entities and %-escapes decoded, width-folded, lower case."""
    t = text
    for _ in range(3):  # double-encoded entities (``&amp;#106;``) are decoded too
        decoded = urllib.parse.unquote(html.unescape(t))
        if decoded == t:
            break
        t = decoded
    return unicodedata.normalize("NFKC", t).casefold()


def has_dangerous_link(text: str) -> bool:
    """``javascript:``, ``vbscript:``, ``data:``, ``file:`` however cased, escaped or split by tabs."""
    return _DANGEROUS.search(_deobfuscate(ensure_str("text", text))) is not None


def check_support_contact(text: str) -> Violations:
    """The solde's support contact: an e-mail, a French phone number or an http(s) link, possibly in a
    short sentence (at most :data:`MAX_CONTACT` characters); never a script or data link."""
    v = ensure_str("contact_support", text)
    if not v.strip():
        return (violation("contact_support.requis"),)
    out: list[Violation] = []
    too_long = len(v) > MAX_CONTACT
    if too_long:
        out.append(violation("contact_support.trop_long", max=MAX_CONTACT))
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} and ch not in "\t\n\r" for ch in v):
        out.append(violation("contact_support.caracteres"))
    if has_dangerous_link(v[: 4 * MAX_CONTACT]):
        out.append(violation("contact_support.lien_dangereux"))
    if not too_long and not (EMAIL.search(v) or _PHONE.search(v) or _URL.search(v)):
        out.append(violation("contact_support.introuvable"))
    return tuple(out)

