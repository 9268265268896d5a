"""PNG and JPEG inspection: Pillow decodes the image; a walk of every chunk or segment reads the rest.

Pillow checks what makes the file an image (``verify``: PNG chunk checksums; then a full decode, a
JPEG at 1/8 scale, which still reads every entropy-coded byte). What Pillow skips without a word is
read here: private chunks, text chunks, EXIF, comments and application segments, and whatever follows
the end marker. Choices: docs/rules.md.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

from PIL import Image

from .sniff import JPEG_SIGNATURE, PNG_SIGNATURE, code_dans_texte, executable_dans, identifier_format

#: Above this many pixels an image is refused before decoding (an A4 page scanned at 600 dpi is 35 M).
MAX_PIXELS = 50_000_000
_MAX_TEXT = 1 << 20  # bytes a compressed text chunk may inflate to
_BLANK = b"\x00\t\n\r\f "
_JPEG_PADDING = b"\x00\r\n"

#: PNG chunks of the specification (PNG 3rd edition, with APNG): their content is the format's own.
_PNG_KNOWN = frozenset({
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP",
    b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"tIME", b"acTL", b"fcTL", b"fdAT",
})
_PNG_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf"})


class _Broken(Exception):
    """The structure does not hold (length past the end, bad checksum, unknown critical chunk)."""


def _text_of_chunk(kind: bytes, data: bytes) -> bytes:
    """The text a text chunk carries, inflated when compressed (bounded)."""
    if kind == b"eXIf":
        return data
    keyword, _, rest = data.partition(b"\x00")
    if kind == b"tEXt":
        return keyword + b" " + rest
    if kind == b"zTXt":
        return keyword + b" " + _inflate(rest[1:])
    # iTXt: compression flag, method, language tag NUL, translated keyword NUL, text
    flag = rest[:1]
    _lang, _, rest2 = rest[2:].partition(b"\x00")
    translated, _, text = rest2.partition(b"\x00")
    return keyword + b" " + translated + b" " + (_inflate(text) if flag == b"\x01" else text)


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, _MAX_TEXT)
    except zlib.error as exc:
        raise _Broken from exc
    return out


def _judge_blob(found: set[str], where: str, blob: bytes, *, binaire: bool = True) -> None:
    """A text field, a private chunk or an application segment: neither an executable nor code."""
    if (key := executable_dans(blob)) is not None:
        found.add(f"{where}.{key}")
    if (code := code_dans_texte(blob, binaire=binaire)) is not None:
        found.add(f"{where}.{code}")


def _walk_png(data: bytes, found: set[str]) -> tuple[bool, tuple[int, int]]:
    pos, size = len(PNG_SIGNATURE), (0, 0)
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4: pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            return False, size  # cut inside a chunk: truncated
        body = data[pos + 8: pos + 8 + length]
        if struct.unpack_from(">I", data, end - 4)[0] != zlib.crc32(kind + body):
            raise _Broken
        if kind == b"IHDR" and length >= 8:
            size = struct.unpack_from(">II", body)
        if kind == b"IEND":
            trailer = data[end:]
            if trailer:  # nothing may follow IEND, not even padding (no encoder writes any)
                found.add("apres." + identifier_format(trailer.lstrip(_BLANK)))
            return True, size
        if kind in _PNG_TEXT:
            _judge_blob(found, "texte", _text_of_chunk(kind, body), binaire=kind == b"eXIf")
        elif kind not in _PNG_KNOWN:
            if not kind.isalpha() or kind[:1].isupper():
                raise _Broken  # an unknown critical chunk: no decoder may skip it
            _judge_blob(found, "bloc", body)
        pos = end
    return False, size


_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# In entropy-coded data FF is followed by 00 (stuffing), a restart marker D0-D7 or more FF (fill):
# anything else is the next marker.
_NEXT_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")  # a literal first byte: a fast search
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _walk_jpeg(data: bytes, found: set[str]) -> tuple[bool, tuple[int, int]]:
    pos, size = 2, (0, 0)
    n = len(data)
    while True:
        if pos >= n:
            return False, size
        if data[pos] != 0xFF:
            raise _Broken
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return False, size
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            trailer = data[pos:]
            if trailer.rstrip(_JPEG_PADDING):  # some encoders pad with zero bytes or a newline
                found.add("apres." + identifier_format(trailer.lstrip(_BLANK)))
            return True, size
        if marker in _STANDALONE:
            continue
        if marker in {0x00, 0xD8}:
            raise _Broken
        if pos + 2 > n:
            return False, size
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise _Broken
        if pos + length > n:
            return False, size
        body = data[pos + 2: pos + length]
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn (JFIF, EXIF, XMP, ICC…) and comments
            _judge_blob(found, "texte", body, binaire=marker != 0xFE)
        elif marker in _SOF and len(body) >= 5:  # a frame header: the image's dimensions
            height, width = struct.unpack_from(">HH", body, 1)
            size = (width, height)
        pos += length
        if marker == 0xDA:  # start of scan: entropy-coded bytes up to the next real marker
            found_marker = _NEXT_MARKER.search(data, pos)
            if found_marker is None:
                return False, size
            pos = found_marker.start()


def _decode(data: bytes, fmt: str) -> None:
    """Pillow's judgement: ``verify`` (checksums), then a real decode (raises on a broken image)."""
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        im.verify()
    with Image.open(io.BytesIO(data), formats=[fmt]) as im:
        if fmt == "JPEG":
            im.draft(im.mode, (max(1, im.width // 8), max(1, im.height // 8)))
        im.load()


def inspect_image(data: bytes, media_type: str) -> tuple[bool, set[str]]:
    """``(complet, findings)`` for the bytes of a file sniffed as PNG or JPEG."""
    found: set[str] = set()
    png = media_type == "image/png"
    if not data.startswith(PNG_SIGNATURE if png else JPEG_SIGNATURE):
        return False, {"image.illisible"}
    try:
        complet, (width, height) = (_walk_png if png else _walk_jpeg)(data, found)
    except (_Broken, struct.error, IndexError):
        return True, found | {"image.illisible"}
    if not complet:
        return False, found  # truncated: refused as incomplete, which says why
    if width * height > MAX_PIXELS:
        return True, found | {"image.demesuree"}
    try:
        _decode(data, "PNG" if png else "JPEG")
    except Exception:  # any failure of the decoder on these bytes: the image is unreadable
        found.add("image.illisible")
    return True, found
