"""Media type sniffing from a file's first bytes (magic numbers).

Only the types the portal accepts are recognised; anything else is ``application/octet-stream``.
"""

from __future__ import annotations

#: How many leading bytes sniffing looks at (a PDF header may start anywhere in the first 1024).
HEAD_BYTES = 1024

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
PDF_SIGNATURE = b"%PDF-"
UNKNOWN = "application/octet-stream"


def sniff_media_type(head: bytes) -> str:
    """The media type told by ``head`` (the first :data:`HEAD_BYTES` bytes of a file)."""
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if head.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if PDF_SIGNATURE in head[:HEAD_BYTES]:
        return "application/pdf"
    return UNKNOWN
