"""What a file's bytes say about it: media type by magic numbers, completeness, hostile markers.

Streaming and bounded: a :class:`Sniffer` is fed chunks and keeps only the first
:data:`HEAD_BYTES` bytes, the last :data:`TAIL_BYTES` bytes and a small overlap between chunks,
so a 4 Mo file and a 4 Go stream cost the same memory.

Only the types the portal accepts are recognised (PNG, JPEG, PDF); anything else is
``application/octet-stream``. Our own code rather than a library: see docs/rules.md ("Choices").
"""

from __future__ import annotations

import re

import attrs

#: How many leading bytes sniffing looks at (a PDF header may start anywhere in the first 1024).
HEAD_BYTES = 1024
#: How many trailing bytes are kept: a ZIP end-of-central-directory record may sit up to 64 KiB + 22
#: bytes before the end (its comment), and a PDF's ``%%EOF`` must be in the last 1024 bytes.
TAIL_BYTES = 65_557
_OVERLAP = 64  # bytes carried from one chunk to the next so a marker cut in two is still seen

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_SIGNATURE = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"
PDF_SIGNATURE = b"%PDF-"
PDF_EOF = b"%%EOF"
UNKNOWN = "application/octet-stream"

#: Signatures of other formats, looked for at offset 0 (and before a late PDF header).
FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "executable"),  # DOS/Windows PE
    (b"\x7fELF", "executable"),
    (b"\xca\xfe\xba\xbe", "executable"),  # Mach-O universal / Java class
    (b"\xcf\xfa\xed\xfe", "executable"),
    (b"\xce\xfa\xed\xfe", "executable"),
    (b"#!", "script"),
    (b"PK\x03\x04", "archive"),
    (b"PK\x05\x06", "archive"),
    (b"Rar!", "archive"),
    (b"7z\xbc\xaf\x27\x1c", "archive"),
    (b"\x1f\x8b", "archive"),
    (b"\xd0\xcf\x11\xe0", "archive"),  # OLE (old Office, MSI)
    (b"{\\rtf", "document"),
    (b"GIF8", "image"),
)

# Markers that make a file active content whatever its type. Long enough that random (compressed)
# bytes match them with negligible probability. Matched on lower-cased bytes: case-insensitive like the
# browsers that run them, and several times faster than an IGNORECASE pattern.
_ACTIVE = re.compile(
    rb"<(?:script|html|svg|iframe|object|embed)[\s>/]|<!doctype\s+html|javascript:|vbscript:"
    rb"|/javascript|/launch|/embeddedfile|this program cannot be run in dos mode"
)
_ACTIVE_LABELS = {b"/javascript": "pdf_actif", b"/launch": "pdf_actif", b"/embeddedfile": "pdf_actif",
                  b"this program cannot be run in dos mode": "executable"}
_ZIP_EOCD = b"PK\x05\x06"


@attrs.frozen
class Sniffed:
    """What the content says: ``media_type``, whether it ends as its type must (``complet``), and
    ``marqueurs``: sorted names of what should not be there (``executable``, ``archive``, ``markup``…)."""

    media_type: str
    complet: bool
    marqueurs: tuple[str, ...]


def _foreign(prefix: bytes) -> str | None:
    stripped = prefix.lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    for signature, label in FOREIGN_SIGNATURES:
        if prefix.startswith(signature) or stripped.startswith(signature):
            return label
    if stripped.startswith(b"<"):
        return "markup"
    return None


def sniff_media_type(head: bytes) -> str:
    """The media type told by ``head`` (the first :data:`HEAD_BYTES` bytes of a file)."""
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if head.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if PDF_SIGNATURE in head[:HEAD_BYTES]:
        return "application/pdf"
    return UNKNOWN


def _complete(media_type: str, tail: bytes) -> bool:
    if media_type == "image/png":
        return tail.endswith(PNG_IEND)
    if media_type == "image/jpeg":
        # Some encoders pad after EOI with zero bytes or a newline; nothing else may follow.
        return tail.rstrip(b"\x00\r\n").endswith(JPEG_EOI)
    if media_type == "application/pdf":
        return PDF_EOF in tail[-1024:]
    return True  # an unknown type is refused for its type, not for its end


class Sniffer:
    """Feed chunks with :meth:`feed`, then read :meth:`result`. Memory stays bounded."""

    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = bytearray()
        self._markers: set[str] = set()
        self._size = 0
        self._first_iend_end: int | None = None  # where the first PNG end chunk ends (nothing may follow)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        # Scan the chunk with the end of the previous one, so a marker across the cut is found.
        window = bytes(self._tail[-_OVERLAP:]) + bytes(chunk)
        for match in _ACTIVE.finditer(window.lower()):
            self._markers.add(_ACTIVE_LABELS.get(match.group(), "markup"))
        if self._first_iend_end is None and (at := window.find(PNG_IEND[4:])) >= 0:
            self._first_iend_end = self._size - (len(window) - len(chunk)) + at + len(PNG_IEND) - 4
        self._tail += chunk
        if len(self._tail) > TAIL_BYTES:
            del self._tail[: len(self._tail) - TAIL_BYTES]
        self._size += len(chunk)

    def result(self) -> Sniffed:
        head, tail = bytes(self._head), bytes(self._tail)
        media_type = sniff_media_type(head)
        complete = _complete(media_type, tail) if self._size else False
        if media_type == "image/png" and self._first_iend_end != self._size:
            complete = False  # data after the first IEND: an appended payload
        markers = set(self._markers)
        if media_type == "application/pdf":
            # Bytes before a late PDF header are tolerated by readers, unless they are another format.
            label = _foreign(head[: head.find(PDF_SIGNATURE)])
            if label is not None:
                markers.add(label)
        elif media_type == UNKNOWN:
            label = _foreign(head)
            if label is not None:
                markers.add(label)
        if media_type != UNKNOWN and _ZIP_EOCD in tail:
            markers.add("archive")  # a ZIP reader finds its directory from the end: a polyglot
        return Sniffed(media_type, complete, tuple(sorted(markers)))


def sniff(data: bytes) -> Sniffed:
    """Sniff a whole byte string (convenience for :class:`Sniffer`)."""
    s = Sniffer()
    s.feed(data)
    return s.result()
