"""Inspection of an uploaded file (issue 13): a 4 Mo PDF and a 4 Mo JPEG against hashing the same bytes.

Self-contained (owned by the ``files`` work; found by the runner as ``bench/case_*.py``). Three files
just under the SAS limit: a scanned-looking PDF (JPEG pages, the usual upload), a text PDF of many
pages in object streams (the most objects for qpdf and the walk), and a camera-sized JPEG. The floor
is ``hashlib.sha256`` of the same bytes, which ``Attachment.from_bytes`` computes anyway.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import pikepdf
from PIL import Image

from segur_workflow import Attachment
from segur_workflow.model import DEFAULT_LIMIT

from .report import Row, times, us
from .timing import compare

if TYPE_CHECKING:
    from .cases import Config

_TARGET = DEFAULT_LIMIT - 64 * 1024  # just under 4 Mo


def _noise_jpeg(width: int, height: int, seed: int, quality: int = 92) -> bytes:
    rnd = random.Random(seed)
    im = Image.frombytes("RGB", (width, height), rnd.randbytes(width * height * 3))
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def jpeg_4mo(target: int = _TARGET) -> bytes:
    """A JPEG of noise just under 4 Mo (noise does not compress: the size is all entropy-coded data)."""
    width = 200
    per_pixel = len(_noise_jpeg(width, width * 3 // 4, 1)) / (width * width * 3 // 4)
    width = int((target / per_pixel * 4 / 3) ** 0.5)
    while len(data := _noise_jpeg(width, width * 3 // 4, 1)) > target:
        width -= 8
    return data


def pdf_scan_4mo(target: int = _TARGET) -> bytes:
    """Pages that are each one JPEG, as a scanner writes them, up to just under 4 Mo."""
    pdf = pikepdf.new()
    page_jpeg = _noise_jpeg(500, 700, 2, quality=80)
    total = 0
    while total + len(page_jpeg) < target - 20_000:
        pdf.add_blank_page(page_size=(595, 842))
        page = pdf.pages[-1]
        image = pdf.make_stream(page_jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=500,
                                Height=700, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                                Filter=pikepdf.Name.DCTDecode)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
        total += len(page_jpeg)
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def _save_objstm(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)
    return out.getvalue()


def pdf_text_4mo(target: int = _TARGET) -> bytes:
    """Many text pages in compressed object streams (random words, so they compress little)."""
    rnd = random.Random(3)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9))) for _ in range(5000)]
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))

    def add_pages(count: int) -> None:
        for _ in range(count):
            pdf.add_blank_page(page_size=(595, 842))
            page = pdf.pages[-1]
            page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
            lines = [b"BT /F1 9 Tf 40 800 Td 11 TL"] + [
                b"(" + b" ".join(rnd.choices(words, k=14)) + b") '" for _ in range(70)] + [b"ET"]
            page.Contents = pdf.make_stream(b"\n".join(lines))

    add_pages(20)
    per_page = len(_save_objstm(pdf)) / 20
    add_pages(max(0, int(target / per_page) - 21))
    data = _save_objstm(pdf)
    while len(data) > target and len(pdf.pages) > 1:
        del pdf.pages[-1]
        data = _save_objstm(pdf)
    return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files(cfg: Config) -> list[Row]:
    quick = cfg.quick_mode  # --quick checks the harness: small files, the figures mean little
    target = 256 * 1024 if quick else _TARGET
    samples = {"pdf_scan": ("scan.pdf", pdf_scan_4mo(target)), "pdf_text": ("texte.pdf", pdf_text_4mo(target)),
               "jpeg": ("photo.jpg", jpeg_4mo(target))}
    contenders: dict[str, Callable[[], object]] = {}
    for key, (name, data) in samples.items():
        att = Attachment.from_bytes(name, data)
        assert att.marqueurs == (), (key, att)  # benign: the whole inspection runs
        assert att.complet, key
        contenders[key] = functools.partial(Attachment.from_bytes, name, data)
        contenders[key + "_sha"] = functools.partial(_sha256, data)
    t = compare(contenders, cfg.timing)
    rows = []
    labels = {"pdf_scan": "PDF of scanned pages", "pdf_text": "text PDF in object streams", "jpeg": "JPEG"}
    for key, (_name, data) in samples.items():
        pages = f", {len(pikepdf.open(io.BytesIO(data)).pages)} pages" if key.startswith("pdf") else ""
        rows.append(Row(
            f"`Attachment.from_bytes` of a {len(data) / 2**20:.2f} Mo {labels[key]}{pages} (inspection + SHA-256)",
            f"{us(t.median(key))} = SHA-256 of the same bytes ({us(t.median(key + '_sha'))}) × "
            f"{times(t.ratio(key, key + '_sha'))}",
            "(information: issue 13)"))
    return rows


#: The cases of this file, for the runner (bench/registry.py).
CASES = {"files": files}
#: A full run's cost on the project's machine when quiet (seconds, bench/plan.py); the files' sizes are fixed.
COSTS = {"files": 8.0}
