"""Attachments: the file name (NFKC, no path, no device, one extension) and the file itself (type by content
and extension, size, completeness, no active content; the inspection is :mod:`segur_workflow.sniff`'s)."""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from types import MappingProxyType

from ..errors import InvalidInput, Violation
from ..model import SAS, Attachment, Corridor
from ..sniff import TAILLE_DEPASSEE, decrire_tous
from ..vocabulary import PieceKind
from ._args import as_corridor, ensure_str
from ._codes import Violations, file_params, violation

__all__ = ["FILE_CODES", "MAX_FILENAME", "WINDOWS_DEVICES", "check_attachment", "check_filename", "normaliser_nom"]

MAX_FILENAME = 255  # characters and UTF-8 bytes: the usual file-system limit (ext4, NTFS)

#: Every code :func:`check_attachment` can give (the file rule of a piece).
FILE_CODES = ("piece.vide", "piece.trop_grande", "piece.type_interdit", "piece.contenu_incoherent",
              "piece.incomplet", "piece.contenu_suspect", "piece.nom_vide", "piece.nom_trop_long",
              "piece.nom_caracteres", "piece.nom_reserve", "piece.nom_espace", "piece.double_extension")

#: Characters refused in a file name besides control and invisible characters: path separators,
#: the Windows drive/alternate-stream colon and the other characters Windows forbids.
_FORBIDDEN_NAME_CHARS = frozenset('/\\:*?"<>|')
#: Characters NFKC leaves alone that are drawn like a separator or a colon, and what they read as.
_LOOKALIKES = MappingProxyType({
    "\u2215": "/", "\u2044": "/", "\u29f8": "/", "\u2571": "/", "\u27cb": "/", "\u1735": "/",
    "\u2216": "\\", "\u29f5": "\\", "\u29f9": "\\", "\u2572": "\\", "\u27cd": "\\",
    "\u2236": ":", "\ua789": ":", "\u02d0": ":", "\u02f8": ":", "\u0589": ":", "\u05c3": ":", "\u16ec": ":",
    "\u1365": ":", "\u205a": ":", "\u2237": ":", "\u0703": ":", "\u0704": ":", "\u0903": ":",
    "\u3002": ".", "\uff61": ".", "\u2024": ".",
})
#: Names Windows gives to devices, whatever the extension (``CON.pdf`` opens the console); NFKC
#: turns the superscript digits Windows also accepts (``COM¹``) into plain ones first.
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
                      *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))})
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Inner name segments that read as a file extension (1 to 5 letters/digits with a letter): they are
# refused unless they are an allowed extension (``pv.exe.pdf``, ``pv.html.png``; ``pv.pdf.pdf`` passes).
_EXTENSION_LIKE = re.compile(r"[A-Za-z0-9]{0,4}[A-Za-z][A-Za-z0-9]{0,4}")
_EXTENSION_LIKE_MAX = 5
_MAX_CONSTATS = 3  # what a message names of the bad characters found (the first ones)


def normaliser_nom(filename: str) -> str:
    """The name as the rules judge it: Unicode NFKC (full-width letters, ligatures, compatibility
    dots and spaces become their plain forms), as file systems and later tools may turn it."""
    return unicodedata.normalize("NFKC", ensure_str("filename", filename))


def _bad_char(ch: str) -> str | None:
    """What is wrong with one character of a file name, in French, or ``None``."""
    if ch in _FORBIDDEN_NAME_CHARS:
        return f"« {ch} »"
    if ch in _LOOKALIKES:
        return f"« {ch} », qui se lit comme « {_LOOKALIKES[ch]} »"
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return f"le caractère de contrôle ou invisible U+{ord(ch):04X}"
    return None


#: The ASCII characters :func:`_bad_char` reports: an ASCII name without any of them (and without "%") has
#: nothing to report, which spares the per-character walk for the usual names (``PV_de_VSR.pdf``).
_ASCII_SUSPECTS = frozenset(c for c in map(chr, range(128)) if _bad_char(c) is not None)


def _name_constats(name: str, normalised: str) -> list[str]:
    if name.isascii() and "%" not in name and _ASCII_SUSPECTS.isdisjoint(name):
        return []  # ASCII (NFKC leaves it as it is), no suspect character, nothing to decode
    found: list[str] = []
    for text in (name, normalised):
        for ch in text:
            if (why := _bad_char(ch)) is not None and why not in found:
                found.append(why)
    # percent-encoding: a name that decodes (up to three times) into a separator, NUL or control
    for seq in dict.fromkeys(_PERCENT.findall(normalised)):
        decoded = seq
        for _ in range(3):
            decoded = urllib.parse.unquote(decoded)
        if decoded != seq and any(_bad_char(c) for c in unicodedata.normalize("NFKC", decoded)):
            found.append(f"« {seq} », qui se décode en un caractère interdit")
    if "%" in normalised and not found:  # a double encoding such as %252f
        decoded = normalised
        for _ in range(3):
            decoded = urllib.parse.unquote(decoded)
        if decoded != normalised and any(_bad_char(c) for c in unicodedata.normalize("NFKC", decoded)):
            found.append("un encodage « % » qui se décode en un caractère interdit")
    return found


def check_filename(filename: str, *, piece: str = "fichier", corridor: Corridor = SAS) -> Violations:
    """A file name as the portal may store and show it: bounded, printable, one extension, no path,
    no device name, judged after NFKC normalisation (:func:`normaliser_nom`)."""
    name = ensure_str("filename", filename)
    corridor = as_corridor(corridor)
    params = {"piece": piece, **file_params(corridor)}
    # The length first, before any per-character work: a name of millions of characters costs nothing.
    if len(name) > MAX_FILENAME or len(name.encode("utf-8", "surrogatepass")) > MAX_FILENAME:
        return (violation("piece.nom_trop_long", max=MAX_FILENAME, **params),)
    # NFKC leaves ASCII text as it is: the same object stands for both (_name_constats' fast path)
    normalised = name if name.isascii() else unicodedata.normalize("NFKC", name)
    out: list[Violation] = []
    if constats := _name_constats(name, normalised):
        out.append(violation("piece.nom_caracteres", constat=", ".join(constats[:_MAX_CONSTATS]), **params))
    stem = normalised.rsplit(".", 1)[0] if "." in normalised else normalised
    if not stem.strip(" ."):
        out.append(violation("piece.nom_vide", **params))
    elif unicodedata.category(stem[-1]) == "Zs":  # "pv.exe .pdf", "pv.exe\u2000.pdf" after NFKC
        out.append(violation("piece.nom_espace", **params))
    device = normalised.split(".", 1)[0].rstrip(" ").upper()
    if device in WINDOWS_DEVICES:
        out.append(violation("piece.nom_reserve", nom=device, **params))
    for segment in normalised.split(".")[1:-1]:
        inner = segment.strip()
        if (len(inner) <= _EXTENSION_LIKE_MAX and _EXTENSION_LIKE.fullmatch(inner)
                and "." + inner.lower() not in corridor.allowed_types):
            out.append(violation("piece.double_extension", ext=inner, **params))
            break
    return tuple(out)


def _extension(name: str) -> str:
    name = unicodedata.normalize("NFKC", name)
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def check_attachment(kind: PieceKind, attachment: Attachment, corridor: Corridor = SAS) -> Violations:
    """The portal's file rule and more: a clean name, the right type by content *and* extension,
    not empty, at most the corridor's size, complete, no active or foreign content."""
    if not isinstance(attachment, Attachment):
        raise InvalidInput("attachment", "un Attachment", attachment)
    corridor = as_corridor(corridor)
    try:
        piece = PieceKind(kind).value
    except ValueError:
        raise InvalidInput("kind", "un PieceKind", kind) from None
    params = {"piece": piece, **file_params(corridor)}
    out = list(check_filename(attachment.filename, piece=piece, corridor=corridor))
    ext = _extension(attachment.filename)
    if attachment.size <= 0:
        out.append(violation("piece.vide", **params))
    if attachment.size > corridor.max_attachment_bytes:
        out.append(violation("piece.trop_grande", **params))
    expected = corridor.allowed_types.get(ext)
    if expected is None:
        out.append(violation("piece.type_interdit", **params))
    elif attachment.size > 0 and attachment.media_type != expected:
        out.append(violation("piece.contenu_incoherent", ext=ext, **params))
    elif attachment.size > 0 and not attachment.complet:
        out.append(violation("piece.incomplet", **params))
    if TAILLE_DEPASSEE in attachment.marqueurs and attachment.size <= corridor.max_attachment_bytes:
        # read up to a host's smaller limit only: never inspected, so never accepted
        out.append(violation("piece.trop_grande", **params))
    if found := [m for m in attachment.marqueurs if m != TAILLE_DEPASSEE]:
        out.append(violation("piece.contenu_suspect", constats=" ; ".join(decrire_tous(found)), **params))
    return tuple(out)

