"""Signatures and markers of file formats, shared by the sniffer (:mod:`segur_workflow.sniff`) and the
structural inspectors (:mod:`._pdf`, :mod:`._image`), which import them from here, not from the sniffer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "FOREIGN_SIGNATURES",
    "JPEG_EOI",
    "JPEG_SIGNATURE",
    "LITERALS",
    "MARKUP",
    "MARKUP_LABELS",
    "PDF_EOF",
    "PDF_SIGNATURE",
    "PNG_IEND",
    "PNG_SIGNATURE",
    "RAW_FINDINGS",
    "ZIP_EOCD",
    "code_dans_texte",
    "executable_dans",
    "identifier_format",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
PDF_SIGNATURE = b"%PDF-"
PDF_EOF = b"%%EOF"


#: Signatures of other formats at the start of a blob (file, prefix, trailer, chunk).
FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "pe"),
    (b"\x7fELF", "elf"),
    (b"\xca\xfe\xba\xbe", "macho"),  # Mach-O universal / Java class
    (b"\xcf\xfa\xed\xfe", "macho"),
    (b"\xce\xfa\xed\xfe", "macho"),
    (b"\xfe\xed\xfa\xce", "macho"),
    (b"\xfe\xed\xfa\xcf", "macho"),
    (b"#!", "script"),
    (b"%!", "postscript"),
    (b"\xc5\xd0\xd3\xc6", "postscript"),  # EPS with a binary header
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"MSCF\x00\x00\x00\x00", "cab"),
    (b"\xd0\xcf\x11\xe0", "ole"),
    (b"{\\rtf", "rtf"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "lnk"),
    (b"GIF8", "gif"),
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
    (PNG_SIGNATURE, "png"),
    (JPEG_SIGNATURE, "jpeg"),
    (PDF_SIGNATURE, "pdf"),
    (b"<?php", "php"),
)
#: Signatures long enough to be looked for anywhere in a blob (random bytes do not make them).
_INNER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"this program cannot be run in dos mode", "pe"),
    (b"\x7felf\x02\x01\x01", "elf"),
    (b"\x7felf\x01\x01\x01", "elf"),
    (b"rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"mscf\x00\x00\x00\x00", "cab"),
    (b"<?php", "php"),
)
_BLANK = b"\x00\t\n\r\f "
_BATCH = re.compile(rb"(?:@|echo\b|rem\b|::|set\b|start\b|call\b|cmd\b|powershell\b|goto\b|del\b)")
_UTF16 = re.compile(rb"(?:[\t\n\r\x20-\x7e]\x00){3}|(?:\x00[\t\n\r\x20-\x7e]){3}")

# Markup and script markers, matched on lower-cased bytes anywhere in a file: case-insensitive like the
# browsers that run them, long enough that compressed data matches them with negligible probability.
# Every alternative starts with "<", so the regex engine jumps from one "<" to the next at memory speed
# (an alternative starting with a character class would make it try every byte).
_TAGS = rb"script|html|svg|iframe|object|embed|body|applet|frameset|img|form|meta|base|link"
MARKUP = re.compile(
    rb"<(?:(?:script|html|svg|iframe|object|embed|body|applet|frameset)[\s>/]|!doctype\s+html|\?php"
    rb"|(?:" + _TAGS + rb")\s[^<>]{0,256}?\bon[a-z]{3,20}\s*="
    # the same tags written in UTF-16 (little or big endian: from "<" on, both read the same), which
    # browsers also sniff
    rb"|\x00(?:s\x00c\x00r\x00i\x00p\x00t|h\x00t\x00m\x00l|s\x00v\x00g|b\x00o\x00d\x00y|i\x00f\x00r\x00a\x00m\x00e)\x00)"
)
#: Markers that are plain substrings (a substring search is faster than any regex), with their finding.
LITERALS: tuple[tuple[bytes, str], ...] = (
    (b"javascript:", "markup"), (b"vbscript:", "markup"), (b"this program cannot be run in dos mode", "executable"),
)
# What the byte scan records (it does not know where in the structure a marker sits); the identifiers
# are those of the first sniffer, kept so stored findings keep their meaning.
MARKUP_LABELS = {b"<?php": "dans.php"}
#: Findings of the byte scan, and the formats whose placed finding makes them redundant in a message.
RAW_FINDINGS: Mapping[str, frozenset[str]] = MappingProxyType({
    "markup": frozenset({"html", "php"}), "executable": frozenset({"pe", "elf", "macho"}),
    "archive": frozenset({"zip", "rar", "7z"}),
})
ZIP_EOCD = b"PK\x05\x06"
#: What a text field (PNG text chunk, EXIF value, JPEG comment) may not carry; XMP (``<x:xmpmeta``,
#: ``<?xpacket``) is markup too but not active, so only active or executable forms are listed.
_TEXT_CODE = re.compile(
    rb"<\s*/?\s*(?:" + _TAGS + rb"|a\s|style|frame)|javascript:|vbscript:|\bon[a-z]{3,20}\s*="
    rb"|\beval\s*\(|document\s*\.\s*(?:cookie|write|location)|\bfunction\s*\(|=>\s*\{"
)
_TEXT_PHP = re.compile(
    rb"<\?(?:php|=)|<%|\$_(?:get|post|request|cookie|server|files|env)\b"
    rb"|\b(?:system|exec|shell_exec|passthru|popen|proc_open|base64_decode|assert)\s*\("
)


def _script_link(low: bytes) -> bool:
    return b"javascript:" in low or b"vbscript:" in low


def _signature(blob: bytes) -> str | None:
    stripped = blob.lstrip(b"\xef\xbb\xbf" + _BLANK)
    for candidate in (blob, stripped):
        for signature, key in FOREIGN_SIGNATURES:
            if candidate.startswith(signature):
                return key
    low = blob.lower()
    for signature, key in _INNER_SIGNATURES:
        if signature in low:
            return key
    return None


def identifier_format(blob: bytes) -> str:
    """The key of :data:`FORMATS` that ``blob`` most looks like (``donnees`` when none does)."""
    if (key := _signature(blob)) is not None:
        return key
    if _UTF16.search(blob[:256]):
        return "utf16"
    low = blob.lstrip(b"\xef\xbb\xbf" + _BLANK)[:4096].lower()
    if low.startswith(b"<") or MARKUP.search(blob.lower()) or _script_link(blob.lower()):
        return "php" if low.startswith((b"<?php", b"<?=")) else "html"
    if _BATCH.match(low):
        return "batch"
    return "donnees"


def code_dans_texte(text: bytes, *, binaire: bool = False) -> str | None:
    """``php`` or ``html`` when a field carries code (a script, markup, PHP), else ``None``.

    ``binaire``: the field mixes text and binary data (EXIF, ICC, thumbnails, private chunks), so only
    the long markers are looked for (short ones such as ``<%`` occur by chance in binary data).
    """
    low = text.lower()
    if b"<?php" in low or (not binaire and _TEXT_PHP.search(low)):
        return "php"
    if any(m.group() not in MARKUP_LABELS for m in MARKUP.finditer(low)) or _script_link(low):
        return "html"
    if not binaire and _TEXT_CODE.search(low):
        return "html"
    return None


#: Formats that are not an executable, an archive or a script (images, text, unknown data).
_INERT = frozenset({"utf16", "gif", "png", "jpeg", "html", "php"})


def executable_dans(blob: bytes) -> str | None:
    """The format of an executable, archive or script that ``blob`` starts with or holds, if any."""
    key = _signature(blob)
    return None if key is None or key in _INERT else key
