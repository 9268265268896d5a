"""Attachments: valid PDF, PNG and JPEG files built in memory, hostile names and files, a phase's set of pieces."""

from __future__ import annotations

import operator
import string

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ... import examples
from ...model import SAS, Attachment, Corridor
from ...rules import WINDOWS_DEVICES
from ...vocabulary import Phase, PieceKind
from ._args import DIGITS, enum_member, memo, require_corridor

__all__ = ["attachments", "hostile_attachments", "hostile_filenames", "pieces"]


# -- attachments ------------------------------------------------------------------------------------------------------
# A stem ends with a letter or digit (a space before the extension is refused) and is no Windows device
# name (CON, NUL, COM1…: refused whatever the extension).
_STEMS = st.builds(operator.add, st.sampled_from(string.ascii_letters + DIGITS),
                   st.text(string.ascii_letters + DIGITS + " _-éè", max_size=24)).filter(
    lambda stem: not stem.endswith(" ") and stem.upper() not in WINDOWS_DEVICES)


_ATTACHMENT_SOURCES: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[bytes]]] = {
    "pdf": (st.sampled_from([".pdf", ".PDF", ".Pdf"]),
            st.builds(examples.pdf_bytes, st.text(string.ascii_letters + DIGITS + " éèàç-", max_size=20))),
    "png": (st.sampled_from([".png", ".PNG"]),
            st.builds(examples.png_bytes, st.integers(1, 40), st.integers(1, 40))),
    "jpeg": (st.sampled_from([".jpg", ".jpeg", ".JPG"]),
             # real JPEGs (Pillow encodes them), since the inspection decodes every image
             st.builds(examples.jpeg_bytes, st.integers(1, 40), st.integers(1, 40), st.integers(0, 255))),
}


@st.composite
def _attachment(draw: st.DrawFn, kinds: tuple[str, ...]) -> Attachment:
    extensions, contents = _ATTACHMENT_SOURCES[draw(st.sampled_from(kinds))]
    return Attachment.from_bytes(draw(_STEMS) + draw(extensions), draw(contents))


@memo
def attachments(media: str | None = None) -> st.SearchStrategy[Attachment]:
    """Valid attachments: real PDF, PNG or JPEG bytes built in memory (``media``: "pdf", "png",
    "jpeg" or any), named with a matching extension in any case."""
    if media is not None and media not in _ATTACHMENT_SOURCES:
        raise InvalidArgument(f"attachments(media={media!r}) : type inconnu ; pdf, png, jpeg ou None")
    return _attachment(tuple(_ATTACHMENT_SOURCES) if media is None else (media,))


@memo
def hostile_filenames() -> st.SearchStrategy[str]:
    """File names a portal must survive: traversal, double extensions, controls, bidi overrides,
    very long names, reserved device names."""
    return st.one_of(
        st.sampled_from([
            "../../../etc/passwd", "..\\..\\windows\\win.ini", "facture.pdf.exe", "facture.pdf\x00.exe",
            "facture\u202efdp.exe", "CON", "aux.pdf", " .pdf", ".pdf", "pdf", "", "a" * 300 + ".pdf",
            "<img src=x onerror=alert(1)>.pdf", "%2e%2e%2fetc.pdf", "fichier\n.pdf", "\ud800.pdf",
            "..／..／pv.pdf", "..∕pv.pdf", "pv：evil.pdf", "pv.exe .pdf", "pv.exe\u2000.pdf", "CON.pdf", "nul.png",
            "COM1.jpg", "LPT1.pdf", "..%2f..%2fpv.pdf", "pv%00.pdf", "COM¹.pdf",
        ]),
        st.builds(lambda s, e: s + e, st.text(max_size=40), st.sampled_from(["", ".exe", ".pdf", ".svg", ".html"])),
    )


_MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48
_ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
_SCRIPT = b"#!/bin/sh\nrm -rf /\n"
_HTML = b"<html><script>alert(1)</script></html>"
_ZIP = b"PK\x03\x04" + b"\x00" * 26


@st.composite
def _hostile(draw: st.DrawFn, corridor: Corridor) -> Attachment:
    kind = draw(st.sampled_from(("executable", "polyglot", "mismatch", "empty", "oversized", "extension", "name",
                                 "inspection")))
    allowed_ext = draw(st.sampled_from(sorted(corridor.allowed_types)))
    if kind == "inspection":  # a family of the hostile corpus: active PDF content, foreign data, hostile names…
        from ..fichiers import HOSTILES, hostile

        case = hostile(draw(st.sampled_from(sorted(HOSTILES))))
        return Attachment.from_bytes(case.name, case.data)
    if kind == "executable":  # an executable or script renamed to an accepted extension
        payload = draw(st.sampled_from((_MZ, _ELF, _SCRIPT, _HTML, _ZIP))) + draw(st.binary(max_size=64))
        return Attachment.from_bytes("document" + allowed_ext, payload)
    if kind == "polyglot":  # sniffs as one accepted type, named as another (PNG+PDF, JPEG+ZIP…)
        media = draw(st.sampled_from(("png", "jpeg")))
        head = examples.png_bytes() if media == "png" else examples.jpeg_bytes()
        tail = draw(st.sampled_from((examples.pdf_bytes(), _ZIP, _MZ)))
        # sniffed as the image, so a .pdf name must be refused (a tail alone never makes a PDF)
        return Attachment.from_bytes("polyglotte.pdf", head + tail)
    if kind == "mismatch":  # real bytes of one type under another accepted extension
        sources = {"application/pdf": examples.pdf_bytes(), "image/png": examples.png_bytes(),
                   "image/jpeg": examples.jpeg_bytes()}
        data = sources[corridor.allowed_types[allowed_ext]]
        others = [e for e, t in corridor.allowed_types.items() if t != corridor.allowed_types[allowed_ext]]
        return Attachment.from_bytes("piece" + draw(st.sampled_from(sorted(others))), data)
    if kind == "empty":
        return Attachment.from_bytes("vide" + allowed_ext, b"")
    if kind == "oversized":  # metadata only: the size a stream reader counted, not bytes in memory
        good = draw(attachments())
        extra = draw(st.integers(1, 10 * corridor.max_attachment_bytes))
        return attrs.evolve(good, size=corridor.max_attachment_bytes + extra)
    if kind == "extension":  # real content, refused extension
        ext = draw(st.sampled_from((".exe", ".svg", ".html", ".gif", ".docx", ".pdf.exe", "")))
        return Attachment.from_bytes("piece" + ext, examples.pdf_bytes())
    # hostile name ending in a refused extension (or none), with real PDF bytes
    name = draw(hostile_filenames())
    if ("." + name.rsplit(".", 1)[-1].lower() if "." in name else "") in corridor.allowed_types:
        name += ".exe"
    return Attachment.from_bytes(name, examples.pdf_bytes())


@memo
def hostile_attachments(corridor: Corridor = SAS) -> st.SearchStrategy[Attachment]:
    """Attachments the portal's file rule must refuse: renamed executables and scripts, polyglots,
    content not matching the extension, empty files, oversized files (as size metadata),
    refused extensions and hostile names, and every family of the hostile corpus
    (:data:`segur_workflow.testing.fichiers.HOSTILES`: PDF JavaScript, Launch, automatic URI,
    SubmitForm, ImportData, GoToR/GoToE, embedded files, RichMedia, XFA, encrypted or unreadable
    PDFs, code in image chunks, EXIF and comments, other formats before or after the document,
    look-alike separators, device names…)."""
    require_corridor("hostile_attachments", corridor)
    return _hostile(corridor)


@memo
def pieces(phase: Phase, corridor: Corridor = SAS) -> st.SearchStrategy[dict[PieceKind, Attachment]]:
    """A complete, valid set of the phase's pieces."""
    phase = enum_member(Phase, "pieces(phase=…)", phase)
    require_corridor("pieces", corridor)
    return st.fixed_dictionaries({k: attachments() for k in corridor.pieces(phase)})
