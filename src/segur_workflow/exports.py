"""Worklist exports: :class:`~segur_workflow.ports.DossierSummary` rows to CSV, XLSX or ODS.

What instruction teams used to démarches-simplifiées expect of an export: one row per dossier, column
titles in French, dates as ``dd/mm/YYYY`` (Europe/Paris), statuses as the portal words them, files their
spreadsheet opens as they are:

* **CSV** — UTF-8 with a byte-order mark and ``;`` between fields (what French Excel and LibreOffice
  open without an import dialog); a cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
  ``@``…) is prefixed with ``'`` (CSV injection);
* **XLSX** — openpyxl in write-only mode (rows streamed, memory flat); every cell is a text cell, never a
  formula; needs the ``exports`` extra (``pip install 'segur-workflow[exports]'``);
* **ODS** — OpenDocument, written here as a stream (see docs/desk.md: the DOM-building writers took
  minutes for 100,000 rows); every cell a string cell.

The file appears whole or not at all: it is written next to ``path`` and moved into place at the end.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape

from ._format import format_date, visible
from .errors import ExportUnavailable, InvalidInput
from .ports import DossierSummary
from .vocabulary import Phase

__all__ = ["COLUMNS", "FORMATS", "ExportUnavailable", "row", "write"]

#: The export formats, by name (the file suffix is the same word).
FORMATS = ("csv", "xlsx", "ods")

#: Column titles, in order, with how each is read from a summary.
_COLUMNS: tuple[tuple[str, Callable[[DossierSummary], str]], ...] = (
    ("Numéro de dossier", lambda s: s.numero),
    ("Demande", lambda s: "Demande d'avance" if s.status.phase is Phase.AVANCE else "Demande de solde"),
    ("Statut de la demande", lambda s: s.status.label),
    ("N° unique de référencement (ANS)", lambda s: s.ans_id),
    ("SIRET", lambda s: s.siret),
    ("Dénomination sociale", lambda s: s.raison_sociale),
    ("Gestionnaire", lambda s: s.gestionnaire or ""),
    ("Date de dépôt", lambda s: format_date(s.date_depot)),
    ("Date de changement de statut", lambda s: format_date(s.date_changement_statut)),
)
COLUMNS: tuple[str, ...] = tuple(title for title, _ in _COLUMNS)

#: How often (in rows) ``progress`` is called.
_PROGRESS_EVERY = 500


def row(summary: DossierSummary) -> tuple[str, ...]:
    """The cells of ``summary``'s row, as every format writes them."""
    if not isinstance(summary, DossierSummary):
        raise InvalidInput("summaries", "des DossierSummary (repository.search)", summary)
    return tuple(visible(read(summary)) for _, read in _COLUMNS)


def _rows(summaries: Iterable[DossierSummary], progress: Callable[[int], object] | None) -> Iterator[tuple[str, ...]]:
    pending = 0
    for summary in summaries:
        yield row(summary)
        pending += 1
        if progress is not None and pending == _PROGRESS_EVERY:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)


# -- CSV ---------------------------------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _write_csv(rows: Iterator[tuple[str, ...]], out: IO[bytes]) -> None:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for cells in rows:
        writer.writerow([_csv_cell(c) for c in cells])
    text.flush()
    text.detach()  # the caller closes the file


# -- XLSX ----------------------------------------------------------------------------------------------------------
def _write_xlsx(rows: Iterator[tuple[str, ...]], out: IO[bytes]) -> None:
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
    except ImportError as exc:
        raise ExportUnavailable("xlsx", "openpyxl") from exc
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Dossiers")
    sheet.freeze_panes = "A2"
    for index, width in enumerate((16, 18, 34, 30, 16, 36, 20, 14, 14), start=1):
        sheet.column_dimensions[chr(64 + index)].width = width
    bold = Font(bold=True)

    def text_cell(value: str) -> Any:
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # openpyxl reads a text starting with "=" as a formula: this one stays a text
        return cell

    header = [text_cell(title) for title in COLUMNS]
    for cell in header:
        cell.font = bold
    sheet.append(header)
    for values in rows:
        # plain strings are text cells; only a would-be formula needs a cell object (much slower)
        sheet.append([text_cell(v) if v.startswith("=") else v for v in values])
    book.save(out)


# -- ODS -------------------------------------------------------------------------------------------------------------
_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"'
)
_ODS_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{_ODS_MIMETYPE}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>
 <manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""
_ODS_STYLES = f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-styles {_ODS_NS}/>\n'
_ODS_META = (f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {_ODS_NS}><office:meta>'
             '<meta:generator>segur-workflow</meta:generator></office:meta></office:document-meta>\n')
_ODS_HEAD = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_ODS_NS}>'
    '<office:automatic-styles><style:style style:name="entete" style:family="table-cell">'
    '<style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles>'
    '<office:body><office:spreadsheet><table:table table:name="Dossiers">'
    f'<table:table-column table:number-columns-repeated="{len(_COLUMNS)}"/>'
)
_ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>\n"


def _ods_row(values: Iterable[str], style: str = "") -> str:
    cells = "".join(f'<table:table-cell{style} office:value-type="string"><text:p>{escape(v)}</text:p>'
                    "</table:table-cell>" for v in values)
    return f"<table:table-row>{cells}</table:table-row>"


def _write_ods(rows: Iterator[tuple[str, ...]], out: IO[bytes]) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        # ODF: "mimetype" first and stored uncompressed, so that a reader can recognise the file
        archive.writestr(zipfile.ZipInfo("mimetype"), _ODS_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST)
        archive.writestr("styles.xml", _ODS_STYLES)
        archive.writestr("meta.xml", _ODS_META)
        with archive.open("content.xml", "w") as content:
            content.write(_ODS_HEAD.encode())
            content.write(_ods_row(COLUMNS, ' table:style-name="entete"').encode())
            batch: list[str] = []
            for values in rows:
                batch.append(_ods_row(values))
                if len(batch) == 256:
                    content.write("".join(batch).encode("utf-8"))
                    batch.clear()
            content.write("".join(batch).encode("utf-8"))
            content.write(_ODS_TAIL.encode())


_WRITERS: dict[str, Callable[[Iterator[tuple[str, ...]], IO[bytes]], None]] = {
    "csv": _write_csv, "xlsx": _write_xlsx, "ods": _write_ods,
}


def write(summaries: Iterable[DossierSummary], path: str | os.PathLike[str], *, format: str,
          progress: Callable[[int], object] | None = None) -> int:
    """Write ``summaries`` (e.g. pages of ``repository.search``) to ``path`` as ``format``; return the row count.

    ``format`` is ``"csv"``, ``"xlsx"`` or ``"ods"``; a ``path`` whose suffix names another of these
    formats is refused. ``progress(n)`` is called as rows are written (``n`` rows more each time).
    Rows are streamed: an iterator of 100,000 summaries is never held in memory (CSV, XLSX, ODS).
    """
    if not isinstance(format, str) or format.lower() not in _WRITERS:
        raise InvalidInput("format", "un format parmi " + ", ".join(FORMATS), format)
    fmt = format.lower()
    if not isinstance(path, str | os.PathLike):
        raise InvalidInput("path", "un chemin de fichier", path)
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix in _WRITERS and suffix != fmt:
        raise InvalidInput("path", f"un fichier .{fmt} (le format demandé)", str(target))
    given: object = summaries  # checked as any object: hosts call this from untyped code
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise InvalidInput("summaries", "des DossierSummary (repository.search)", given)
    if progress is not None and not callable(progress):
        raise InvalidInput("progress", "une fonction (nombre de lignes)", progress)
    count = 0

    def counted() -> Iterator[tuple[str, ...]]:
        nonlocal count
        for cells in _rows(summaries, progress):
            count += 1
            yield cells

    directory = target.parent if str(target.parent) else Path()
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partiel", dir=directory)
    except OSError as exc:
        raise InvalidInput("path", "un fichier dans un répertoire où l'on peut écrire", str(target)) from exc
    try:
        with os.fdopen(fd, "w+b") as out:
            _WRITERS[fmt](counted(), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise InvalidInput("path", "un fichier où l'on peut écrire", str(target)) from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
