"""PDF inspection: pikepdf (qpdf) reads the structure; a byte scan covers what a reader may still see.

qpdf resolves the cross-reference table (repairing it when it can), decodes object streams and
normalises names (``/J#61vaScript`` is ``/JavaScript``), so every object the document holds is walked
as the viewer will see it. The byte scan looks at what qpdf's latest revision hides: objects of earlier
revisions (incremental updates), hex-escaped names in them, data before the header and after the last
``%%EOF``. Why pikepdf, timings and behaviour on damaged files: docs/rules.md.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pikepdf

from .sniff import PDF_EOF, PDF_SIGNATURE, identifier_format

_BLANK = b"\x00\t\n\r\f "
#: Before the header, readers accept a few bytes; a short run of plain characters on the header's line
#: is tolerated (it cannot run as a script: the line goes on with ``%PDF-``), anything else is refused.
_PREFIX_OK = re.compile(rb"[A-Za-z0-9 ._-]{1,16}")

#: Action types (``/S``) refused wherever they are, with their finding.
_ACTIONS = {
    "/JavaScript": "pdf.javascript",
    "/Launch": "pdf.launch",
    "/SubmitForm": "pdf.submitform",
    "/ImportData": "pdf.importdata",
    "/GoToR": "pdf.gotor",
    "/GoToE": "pdf.gotoe",
    "/RichMediaExecute": "pdf.richmedia",
    "/Rendition": "pdf.multimedia",
    "/Movie": "pdf.multimedia",
    "/Sound": "pdf.multimedia",
}
#: Dictionary keys that are active content by themselves.
_KEYS = {
    "/JS": "pdf.javascript",
    "/JavaScript": "pdf.javascript",  # the /Names /JavaScript name tree
    "/EmbeddedFiles": "pdf.fichier_joint",
    "/EF": "pdf.fichier_joint",
    "/RichMediaContent": "pdf.richmedia",
    "/RichMediaSettings": "pdf.richmedia",
    "/XFA": "pdf.xfa",
}
#: ``/Type`` or ``/Subtype`` values that are active content by themselves.
_TYPES = {
    "/EmbeddedFile": "pdf.fichier_joint",
    "/FileAttachment": "pdf.fichier_joint",
    "/RichMedia": "pdf.richmedia",
    "/Screen": "pdf.multimedia",
    "/Movie": "pdf.multimedia",
    "/Sound": "pdf.multimedia",
    "/3D": "pdf.multimedia",
}
#: Names looked for in the raw bytes (hex escapes decoded), for objects qpdf does not show. PDF names are
#: case-sensitive; only names of six bytes or more are looked for, so that compressed data does not make
#: one by chance (``/JS`` would appear about once in every 4 Mo of compressed bytes).
_RAW_NAMES = {
    b"/JavaScript": "pdf.javascript", b"/Launch": "pdf.launch", b"/SubmitForm": "pdf.submitform",
    b"/ImportData": "pdf.importdata", b"/GoToR": "pdf.gotor", b"/GoToE": "pdf.gotoe",
    b"/EmbeddedFile": "pdf.fichier_joint", b"/EmbeddedFiles": "pdf.fichier_joint", b"/RichMedia": "pdf.richmedia",
}
_NAME_END = rb"(?![A-Za-z0-9#_.-])"
_RAW_PLAIN = re.compile(rb"(?:" + b"|".join(re.escape(n) for n in sorted(_RAW_NAMES, key=len, reverse=True))
                        + rb")" + _NAME_END)
_RAW_ESCAPED = re.compile(rb"/[A-Za-z0-9_.-]*#[0-9A-Fa-f]{2}[A-Za-z0-9#_.-]*")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
#: Bounds of the walk: objects visited and nesting followed (qpdf itself refuses deeper nesting).
_MAX_NODES = 2_000_000
_DAMAGED = "file is damaged"  # qpdf's warning when it had to reconstruct the cross-reference table
_MAX_DEPTH = 600


def _raw_names(data: bytes) -> set[str]:
    found = {_RAW_NAMES[m.group()] for m in _RAW_PLAIN.finditer(data)}
    for m in _RAW_ESCAPED.finditer(data):
        decoded = _HEX.sub(lambda h: bytes([int(h.group(1), 16)]), m.group())
        if decoded in _RAW_NAMES:
            found.add(_RAW_NAMES[decoded])
    return found


def _around(data: bytes) -> tuple[bool, set[str]]:
    """Completeness and what sits before the header or after the last ``%%EOF``."""
    found: set[str] = set()
    start = data.find(PDF_SIGNATURE, 0, 1024)
    prefix = data[:start]
    stripped = prefix.lstrip(_BLANK)
    if stripped and ((key := identifier_format(prefix)) != "donnees" or not _PREFIX_OK.fullmatch(stripped)):
        found.add("avant." + key)
    end = data.rfind(PDF_EOF)
    if end < 0:
        return False, found
    trailer = data[end + len(PDF_EOF):]
    if trailer.strip(_BLANK):
        found.add("apres." + identifier_format(trailer.lstrip(_BLANK)))
    return True, found


_CONTAINERS = (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)


def _children(obj: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """The direct containers inside ``obj`` (indirect ones are visited from ``pdf.objects``; scalars,
    names and strings are read by the dictionary checks)."""
    values = obj.values() if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) else obj
    for child in values:
        if isinstance(child, _CONTAINERS) and not child.is_indirect:
            yield child


def _action_kinds(action: object, seen: set[tuple[int, int]]) -> Iterator[str]:
    """The ``/S`` of an action and of its ``/Next`` chain (cycles and repeats followed once)."""
    stack: list[object] = [action]
    while stack and len(seen) < _MAX_NODES:
        node = stack.pop()
        if not isinstance(node, pikepdf.Object):
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary):
            kind = node.get("/S")
            if isinstance(kind, pikepdf.Name):
                yield str(kind)
            nxt = node.get("/Next")
            if nxt is not None:
                stack.append(nxt)


def _walk(pdf: pikepdf.Pdf) -> set[str]:
    found: set[str] = set()
    automatic: list[object] = []  # OpenAction and AA actions: a URI there opens by itself
    nodes = 0
    for top in pdf.objects:
        stack: list[tuple[pikepdf.Object, int]] = [(top, 0)]
        while stack:
            obj, depth = stack.pop()
            nodes += 1
            if nodes > _MAX_NODES or depth > _MAX_DEPTH:
                found.add("pdf.illisible")
                return found
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                keys = set(obj.keys())
                found.update(_KEYS[k] for k in keys & _KEYS.keys())
                for key in ("/S", "/Type", "/Subtype"):
                    if key in keys and isinstance(value := obj.get(key), pikepdf.Name):
                        table = _ACTIONS if key == "/S" else _TYPES
                        if str(value) in table:
                            found.add(table[str(value)])
                if "/OpenAction" in keys:
                    automatic.append(obj.get("/OpenAction"))
                if "/AA" in keys and isinstance(aa := obj.get("/AA"), pikepdf.Dictionary):
                    automatic.extend(aa.values())
                if isinstance(obj, pikepdf.Stream) and obj.get("/Type") == pikepdf.Name.ObjStm:
                    # the objects it holds are walked by qpdf; its raw text is scanned too (an orphan
                    # object stream, never listed in the cross-reference table, stays visible here)
                    found |= _raw_names(obj.read_bytes())
            if isinstance(obj, _CONTAINERS):
                stack.extend((child, depth + 1) for child in _children(obj))
    seen: set[tuple[int, int]] = set()
    for action in automatic:
        for kind in _action_kinds(action, seen):
            if kind == "/URI":
                found.add("pdf.uri_auto")
            elif kind in _ACTIONS:
                found.add(_ACTIONS[kind])
    return found


def inspect_pdf(data: bytes) -> tuple[bool, set[str]]:
    """``(complet, findings)`` for the bytes of a file sniffed as PDF."""
    complet, found = _around(data)
    found |= _raw_names(data)
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            found |= _walk(pdf)
            # qpdf rebuilt the cross-reference table from a scan of the file: another reader may rebuild it
            # otherwise and show other objects (a parser differential), so a damaged file is not accepted
            if complet and any(_DAMAGED in w for w in pdf.get_warnings()):
                found.add("pdf.endommage")
    except pikepdf.PasswordError:
        found.add("pdf.chiffre")
    except Exception:  # any failure of the parser on these bytes (qpdf repairs what it can): unreadable
        found.add("pdf.illisible")
    return complet, found
