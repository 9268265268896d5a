"""What a file's bytes say about it: media type, completeness, and what should not be there.

Two stages, both pure (bytes in, facts out):

1. a byte-level scan (:class:`Sniffer`, streaming and bounded): the media type by magic numbers, the
   end marker, markup, PHP, executable stubs and archive directories wherever they are;
2. the structure, read by the format's own parser: PDFs by pikepdf (qpdf), which decodes object
   streams, compressed streams and hex-escaped names (:mod:`._pdf`); PNG and JPEG by Pillow, plus
   a walk of every chunk or segment (:mod:`._image`).

Findings are short stable identifiers (``pdf.javascript``, ``apres.rar``…), stored on the
:class:`~segur_workflow.model.Attachment` as ``marqueurs``; :data:`CONSTATS` gives each its French
wording and :func:`decrire` builds it for any identifier. Only the types the portal accepts are
recognised (PNG, JPEG, PDF); anything else is ``application/octet-stream``. Choices and limits:
docs/rules.md ("Pièces jointes").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

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

#: The finding recorded when a reader stopped at its limit: the content was not inspected.
TAILLE_DEPASSEE = "taille.depassee"

#: Formats recognised in a file, before it, after it or inside it: key -> French noun phrase.
FORMATS: Mapping[str, str] = MappingProxyType({
    "pe": "un programme Windows (PE)",
    "elf": "un programme Linux (ELF)",
    "macho": "un programme macOS (Mach-O) ou une classe Java",
    "script": "un script (#!)",
    "batch": "un script de commandes Windows",
    "postscript": "du PostScript",
    "zip": "une archive ZIP",
    "rar": "une archive RAR",
    "7z": "une archive 7z",
    "gzip": "une archive gzip",
    "bzip2": "une archive bzip2",
    "xz": "une archive xz",
    "cab": "une archive CAB",
    "ole": "un document OLE (ancien Office, MSI)",
    "rtf": "un document RTF",
    "lnk": "un raccourci Windows (LNK)",
    "gif": "une image GIF",
    "png": "une image PNG",
    "jpeg": "une image JPEG",
    "pdf": "un document PDF",
    "html": "du code HTML ou JavaScript",
    "php": "du code PHP",
    "utf16": "du texte UTF-16",
    "donnees": "des données d'un autre format",
})

#: Where a format was found: prefix of the finding -> French complement.
_OU: Mapping[str, str] = MappingProxyType({
    "est": "",  # the whole file is of that format
    "avant": " avant le début du document",
    "apres": " après la fin du document",
    "dans": " à l'intérieur du fichier",
    "bloc": " dans un bloc privé de l'image",
    "texte": " dans les métadonnées de l'image (texte, EXIF ou commentaire)",
})

_FIXES: Mapping[str, str] = MappingProxyType({
    "pdf.javascript": "le PDF contient du JavaScript",
    "pdf.launch": "le PDF lance une application ou un fichier (action Launch)",
    "pdf.uri_auto": "le PDF ouvre une adresse Internet de lui-même (action URI à l'ouverture ou sur un événement)",
    "pdf.submitform": "le PDF envoie des données de formulaire (action SubmitForm)",
    "pdf.importdata": "le PDF importe des données (action ImportData)",
    "pdf.gotor": "le PDF ouvre un autre document (action GoToR)",
    "pdf.gotoe": "le PDF ouvre un document joint (action GoToE)",
    "pdf.fichier_joint": "le PDF contient un fichier joint",
    "pdf.richmedia": "le PDF contient du contenu multimédia actif (RichMedia)",
    "pdf.multimedia": "le PDF contient un film, un son, un rendu 3D ou une action de rendu",
    "pdf.xfa": "le PDF contient un formulaire XFA",
    "pdf.chiffre": "le PDF est protégé par un mot de passe",
    "pdf.illisible": "le PDF est illisible (structure endommagée)",
    "pdf.endommage": "le PDF est endommagé (sa table des objets a dû être reconstruite)",
    "image.illisible": "l'image ne peut pas être décodée",
    "image.demesuree": "l'image est démesurée (plus de 50 millions de pixels)",
    TAILLE_DEPASSEE: "le fichier dépasse la taille lue",
    # found by the byte scan anywhere in the file (identifiers of the first sniffer, kept)
    "executable": "un programme Windows (PE) à l'intérieur du fichier",
    "archive": "une archive ZIP cachée dans le fichier (fichier polyglotte)",
    "markup": "du code HTML ou JavaScript à l'intérieur du fichier",
    # written before the structural inspection existed (stored dossiers keep them)
    "pdf_actif": "le PDF contient une action, du JavaScript ou un fichier joint",
    "document": "un document d'un autre format",
    "image": "une image d'un autre format",
})


def _constats() -> Mapping[str, str]:
    out = dict(_FIXES)
    for where, complement in _OU.items():
        for key, noun in FORMATS.items():
            out[f"{where}.{key}"] = ("le fichier est " + noun) if where == "est" else noun + complement
    return MappingProxyType(out)


#: Every finding the inspection can record, with its French wording (the catalogue shows them).
CONSTATS: Mapping[str, str] = _constats()


def decrire(marqueur: str) -> str:
    """The French wording of a finding (an unknown identifier is quoted as it is)."""
    if marqueur.startswith("antivirus."):  # segur_workflow.antivirus: the signature the host's antivirus matched
        return f"l'antivirus a détecté « {marqueur.removeprefix('antivirus.')} »"
    return CONSTATS.get(marqueur) or f"« {marqueur} »"


def decrire_tous(marqueurs: Iterable[str]) -> list[str]:
    """The French wording of several findings, in order; a format found ``dans`` the file is left out
    when the same format is also found at a more precise place (after the end, in a text chunk…)."""
    found = list(dict.fromkeys(marqueurs))
    placed = {m.split(".", 1)[1] for m in found if m.split(".", 1)[0] in _OU and not m.startswith("dans.")}

    def redundant(m: str) -> bool:
        if m in _RAW_FINDINGS:
            return bool(_RAW_FINDINGS[m] & (placed | {x.split(".", 1)[1] for x in found if x.startswith("dans.")}))
        return m.startswith("dans.") and m.split(".", 1)[1] in placed

    return [decrire(m) for m in found if not redundant(m)]


@attrs.frozen
class Sniffed:
    """What the content says: ``media_type``, whether it ends as its type must (``complet``), and
    ``marqueurs``: sorted identifiers of what should not be there (see :data:`CONSTATS`)."""

    media_type: str
    complet: bool
    marqueurs: tuple[str, ...]


# -- signatures ------------------------------------------------------------------------------------
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
_MARKUP = re.compile(
    rb"<(?:(?:script|html|svg|iframe|object|embed|body|applet|frameset)[\s>/]|!doctype\s+html|\?php"
    rb"|(?:" + _TAGS + rb")\s[^<>]{0,256}?\bon[a-z]{3,20}\s*="
    # the same tags written in UTF-16 (little or big endian: from "<" on, both read the same), which
    # browsers also sniff
    rb"|\x00(?:s\x00c\x00r\x00i\x00p\x00t|h\x00t\x00m\x00l|s\x00v\x00g|b\x00o\x00d\x00y|i\x00f\x00r\x00a\x00m\x00e)\x00)"
)
#: Markers that are plain substrings (a substring search is faster than any regex), with their finding.
_LITERALS: tuple[tuple[bytes, str], ...] = (
    (b"javascript:", "markup"), (b"vbscript:", "markup"), (b"this program cannot be run in dos mode", "executable"),
)
# What the byte scan records (it does not know where in the structure a marker sits); the identifiers
# are those of the first sniffer, kept so stored findings keep their meaning.
_MARKUP_LABELS = {b"<?php": "dans.php"}
#: Findings of the byte scan, and the formats whose placed finding makes them redundant in a message.
_RAW_FINDINGS: Mapping[str, frozenset[str]] = MappingProxyType({
    "markup": frozenset({"html", "php"}), "executable": frozenset({"pe", "elf", "macho"}),
    "archive": frozenset({"zip", "rar", "7z"}),
})
_ZIP_EOCD = b"PK\x05\x06"
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
    if low.startswith(b"<") or _MARKUP.search(blob.lower()) or _script_link(blob.lower()):
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
    if any(m.group() not in _MARKUP_LABELS for m in _MARKUP.finditer(low)) or _script_link(low):
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
    """The byte-level stage, streaming: feed chunks with :meth:`feed`, then read :meth:`result`.

    Memory stays bounded (the head, the tail and a small overlap), so it can watch a stream of any
    length; :func:`inspect` adds the structural stage on a whole file.
    """

    def __init__(self) -> None:
        self._head = bytearray()
        self._tail = bytearray()
        self._markers: set[str] = set()
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[: HEAD_BYTES - len(self._head)]
        # Scan the chunk with the end of the previous one, so a marker across the cut is found.
        window = bytes(self._tail[-_OVERLAP:]) + chunk
        low = window.lower()
        for match in _MARKUP.finditer(low):
            self._markers.add(_MARKUP_LABELS.get(match.group(), "markup"))
        self._markers.update(label for literal, label in _LITERALS if literal in low)
        self._tail += chunk
        if len(self._tail) > TAIL_BYTES:
            del self._tail[: len(self._tail) - TAIL_BYTES]
        self._size += len(chunk)

    def result(self) -> Sniffed:
        head, tail = bytes(self._head), bytes(self._tail)
        media_type = sniff_media_type(head)
        complete = _complete(media_type, tail) if self._size else False
        markers = set(self._markers)
        if media_type == UNKNOWN and self._size and (key := identifier_format(head)) != "donnees":
            markers.add("est." + key)
        if media_type != UNKNOWN and _ZIP_EOCD in tail:
            markers.add("archive")  # a ZIP reader finds its directory from the end: a polyglot
        return Sniffed(media_type, complete, tuple(sorted(markers)))


def inspect(data: bytes) -> Sniffed:
    """Both stages on a whole file: the byte scan, then the format's parser (PDF, PNG, JPEG)."""
    sniffer = Sniffer()
    sniffer.feed(data)
    raw = sniffer.result()
    if raw.media_type == UNKNOWN:
        return raw
    if raw.media_type == "application/pdf":
        from ._pdf import inspect_pdf

        complet, found = inspect_pdf(data)
    else:
        from ._image import inspect_image

        complet, found = inspect_image(data, raw.media_type)
    return Sniffed(raw.media_type, complet, tuple(sorted(set(raw.marqueurs) | found)))


__all__ = [
    "CONSTATS", "FORMATS", "HEAD_BYTES", "TAILLE_DEPASSEE", "TAIL_BYTES", "UNKNOWN", "Sniffed", "Sniffer",
    "code_dans_texte", "decrire", "decrire_tous", "executable_dans", "identifier_format", "inspect",
    "sniff_media_type",
]
