"""A hostile-file corpus, built here byte by byte: every file must be refused for every piece."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib

import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules, sniff

PDF = ex.pdf_bytes()
PNG = ex.png_bytes()
JPEG = ex.jpeg_bytes()
PE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57


def _zip(name: str = "payload.exe", data: bytes = PE) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _pdf_with(extra: bytes) -> bytes:
    return PDF.replace(b"/Type /Catalog", b"/Type /Catalog " + extra)


HOSTILE: dict[str, tuple[str, bytes]] = {
    "exe renamed .pdf": ("pv.pdf", PE),
    "exe renamed .png": ("pv.png", PE),
    "elf renamed .jpg": ("pv.jpg", ELF),
    "png named .pdf": ("pv.pdf", PNG),
    "jpeg named .png": ("pv.png", JPEG),
    "pdf named .jpeg": ("pv.jpeg", PDF),
    "html named .png": ("pv.png", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
    "html named .pdf with a late PDF header": ("pv.pdf", b"<html><script>alert(1)</script>" + PDF),
    "svg named .png": ("pv.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    "svg with xml prolog named .jpg": ("pv.jpg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
    "gif named .png": ("pv.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    "zip named .pdf": ("pv.pdf", _zip()),
    "pdf + zip polyglot": ("pv.pdf", PDF + _zip()),
    "zip + late pdf header": ("pv.pdf", b"PK\x03\x04" + b"\x00" * 26 + PDF),
    "pdf starting with MZ": ("pv.pdf", b"MZ" + b"\x00" * 100 + PDF),
    "pdf starting with a shebang": ("pv.pdf", b"#!/bin/sh\nrm -rf /\n" + PDF),
    "pdf after an rtf header": ("pv.pdf", b"{\\rtf1 " + PDF),
    "pdf with javascript": ("pv.pdf", _pdf_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")),
    "pdf with launch action": ("pv.pdf", _pdf_with(b"/OpenAction << /S /Launch /F (cmd.exe) >>")),
    "pdf with embedded file": ("pv.pdf", _pdf_with(b"/Names << /EmbeddedFiles << >> >>")),
    "pdf embedding a PE stub": ("pv.pdf", PDF[:-6] + PE + b"\n%%EOF\n"),
    "pdf without %%EOF": ("pv.pdf", PDF[: PDF.rindex(b"%%EOF")]),
    "pdf cut in half": ("pv.pdf", PDF[: len(PDF) // 2]),
    "png without IEND": ("pv.png", PNG[:-12]),
    "png with data after IEND": ("pv.png", PNG + b"<?php system($_GET['c']); ?>"),
    "png with script chunk": ("pv.png", PNG[:-12] + _png_chunk(b"tEXt", b"c\x00<script>alert(1)</script>")
                              + PNG[-12:]),
    "png + zip polyglot": ("pv.png", PNG + _zip()),
    "png signature only": ("pv.png", sniff.PNG_SIGNATURE),
    "jpeg without EOI": ("pv.jpg", JPEG[:-2]),
    "jpeg + zip polyglot": ("pv.jpg", JPEG[:-2] + _zip() + b"\xff\xd9"),
    "jpeg with html comment": ("pv.jpg", JPEG[:4] + b"\x00\x10<iframe src=x>" + JPEG[4:]),
    "jpeg magic only": ("pv.jpeg", sniff.JPEG_SIGNATURE),
    "pdf magic only": ("pv.pdf", b"%PDF-"),
    "empty pdf": ("pv.pdf", b""),
    "empty png": ("pv.png", b""),
    "text named .pdf": ("pv.pdf", b"Proces-verbal de mise en service\n"),
    "pdf named .pdf.exe": ("pv.pdf.exe", PDF),
    "pdf named .exe.pdf": ("pv.exe.pdf", PDF),
    "pdf named .js.pdf": ("pv.js.pdf", PDF),
    "right-to-left override": ("pv\u202efdp.exe", PDF),
    "path traversal": ("../../pv.pdf", PDF),
    "windows path": ("..\\pv.pdf", PDF),
    "alternate data stream": ("pv.pdf:evil.exe", PDF),
    "nul in name": ("pv.exe\x00.pdf", PDF),
    "absurd name": ("p" * 10_000 + ".pdf", PDF),
    "no name": ("", PDF),
    "extension only": (".pdf", PDF),
    "over 4 Mo": ("pv.pdf", PDF[:-6] + b"%" + b"x" * (4 * 1024 * 1024) + b"\n%%EOF\n"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("kind", list(sw.PieceKind))
def test_hostile_file_refused(case: str, kind: sw.PieceKind) -> None:
    name, data = HOSTILE[case]
    violations = rules.check_attachment(kind, sw.Attachment.from_bytes(name, data))
    assert violations, case
    assert all(v.field == f"pieces.{kind.value}" and v.code.startswith("piece.") for v in violations)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_refused_when_streamed(case: str) -> None:
    name, data = HOSTILE[case]
    streamed = sw.Attachment.from_stream(name, io.BytesIO(data))
    assert streamed == sw.Attachment.from_bytes(name, data)
    assert rules.check_attachment(sw.PieceKind.PV_VSR, streamed)


def test_hostile_reasons() -> None:
    def why(case: str) -> set[str]:
        name, data = HOSTILE[case]
        return {v.code for v in rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes(name, data))}

    assert why("exe renamed .pdf") == {"piece.contenu_incoherent", "piece.contenu_suspect"}
    assert why("pdf + zip polyglot") == {"piece.contenu_suspect"}
    assert why("pdf starting with MZ") == {"piece.contenu_suspect"}
    assert why("png without IEND") == {"piece.incomplet"}
    assert why("jpeg without EOI") == {"piece.incomplet"}
    assert why("pdf without %%EOF") == {"piece.incomplet"}
    assert why("over 4 Mo") == {"piece.trop_grande"}
    assert why("png named .pdf") == {"piece.contenu_incoherent"}


def test_legitimate_variants_pass() -> None:
    ok = {
        "jpeg padded after EOI": ("pv.jpg", JPEG + b"\x00\x00\r\n"),
        "pdf with trailing newlines": ("pv.pdf", PDF + b"\r\n\r\n"),
        "pdf with incremental update": ("pv.pdf", PDF + b"1 0 obj\n<< >>\nendobj\n%%EOF\n"),
        "pdf after a short junk prefix": ("pv.pdf", b"\r\n\x00junk" + PDF),
        "bigger png": ("pv.png", ex.png_bytes(300, 200)),
    }
    for case, (name, data) in ok.items():
        assert rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes(name, data)) == (), case


def test_marker_split_across_chunks_is_found() -> None:
    data = PNG + b"<scr"

    class Trickle(io.RawIOBase):
        def __init__(self, parts: list[bytes]) -> None:
            self.parts = parts

        def read(self, _n: int = -1) -> bytes:
            return self.parts.pop(0) if self.parts else b""

    att = sw.Attachment.from_stream("pv.png", Trickle([data, b"ipt>alert(1)</script>"]))  # type: ignore[arg-type]
    assert "markup" in att.marqueurs


def test_sniffer_memory_is_bounded() -> None:
    s = sniff.Sniffer()
    block = b"\x00" * 100_000
    for _ in range(50):  # 5 Mo
        s.feed(block)
    # Bounded buffers: the head and the tail only, whatever was fed.
    assert len(s._head) == sniff.HEAD_BYTES
    assert len(s._tail) == sniff.TAIL_BYTES


def test_stream_past_limit_stops_reading_and_is_refused_as_too_large() -> None:
    # Issue 13: the reader stops after limit + 1 bytes; the rest of the stream is never read.
    data = PDF + b"<script>" + b"x" * 1000
    stream = io.BytesIO(data)
    att = sw.Attachment.from_stream("pv.pdf", stream, limit=len(PDF))
    assert stream.tell() == len(PDF) + 1
    assert att.size == len(PDF) + 1
    assert att.marqueurs == (sniff.TAILLE_DEPASSEE,)
    assert att.sha256 == hashlib.sha256(data[: len(PDF) + 1]).hexdigest()
    assert {v.code for v in rules.check_attachment(sw.PieceKind.PV_VSR, att)} == {"piece.trop_grande"}
