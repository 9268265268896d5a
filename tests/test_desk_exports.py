"""Exports read back by independent readers: the csv module, openpyxl and odfpy."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import attrs
import openpyxl
import pytest
from odf import opendocument, table, teletype

import segur_workflow as sw
from segur_workflow import exports
from segur_workflow.testing.contract import make_dossier

TITLES = ["Numéro de dossier", "Demande", "Statut de la demande", "N° unique de référencement (ANS)", "SIRET",
          "Dénomination sociale", "Gestionnaire", "Date de dépôt", "Date de changement de statut"]


def _summaries() -> list[sw.DossierSummary]:
    a, _ = make_dossier(1, sw.Status.AVANCE_EN_INSTRUCTION, gestionnaire="c.martin")
    b, _ = make_dossier(2, sw.Status.SOLDE_A_MODIFIER)
    hostile = attrs.evolve(b.fournisseur, raison_sociale='=HYPERLINK("http://x.example";"<b>clic</b>")')
    return [sw.DossierSummary.of(a, 1), sw.DossierSummary.of(attrs.evolve(b, fournisseur=hostile), 7)]


def _expected() -> list[list[str]]:
    first, second = _summaries()
    return [TITLES,
            [first.numero, "Demande d'avance", "En cours", first.ans_id, first.siret, "LE SELECT", "c.martin",
             "23/05/2023", "23/05/2023"],
            [second.numero, "Demande de solde", "A modifier", second.ans_id, second.siret,
             '=HYPERLINK("http://x.example";"<b>clic</b>")', "", "23/05/2023", "23/05/2023"]]


def _ods_rows(path: Path) -> list[list[str]]:
    doc = opendocument.load(str(path))
    (sheet,) = doc.spreadsheet.getElementsByType(table.Table)
    return [[teletype.extractText(c) for c in r.getElementsByType(table.TableCell)]
            for r in sheet.getElementsByType(table.TableRow)]


def test_csv_is_utf8_with_bom_semicolons_and_no_formula(tmp_path: Path) -> None:
    path = tmp_path / "dossiers.csv"
    assert exports.write(_summaries(), path, format="csv") == 2
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfNum\xc3\xa9ro de dossier;")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    expected = _expected()
    expected[2][5] = "'" + expected[2][5]  # a cell a spreadsheet would run is defused
    assert rows == expected


def test_xlsx_opens_in_openpyxl_with_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "dossiers.xlsx"
    exports.write(iter(_summaries()), path, format="xlsx")
    book = openpyxl.load_workbook(path)
    sheet = book["Dossiers"]
    rows = [[c.value if c.value is not None else "" for c in r] for r in sheet.iter_rows()]
    assert rows == _expected()
    assert sheet.cell(3, 6).data_type == "s"  # not a formula
    assert sheet.cell(1, 1).font.b


def test_ods_opens_in_odfpy(tmp_path: Path) -> None:
    path = tmp_path / "dossiers.ods"
    exports.write(_summaries(), path, format="ods")
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    assert _ods_rows(path) == _expected()


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_an_empty_worklist_is_a_file_with_its_titles(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"vide.{fmt}"
    calls: list[int] = []
    assert exports.write([], path, format=fmt, progress=calls.append) == 0
    assert calls == []
    if fmt == "ods":
        assert _ods_rows(path) == [TITLES]
    elif fmt == "xlsx":
        assert [c.value for c in next(openpyxl.load_workbook(path).active.iter_rows())] == TITLES
    else:
        assert path.read_text(encoding="utf-8-sig").splitlines() == [";".join(TITLES)]


def test_progress_counts_every_row(tmp_path: Path) -> None:
    one = _summaries()[0]
    many = [attrs.evolve(one, numero=f"FINSAS{i:06d}") for i in range(1, 1202)]
    calls: list[int] = []
    assert exports.write(many, tmp_path / "x.csv", format="csv", progress=calls.append) == 1201
    assert sum(calls) == 1201 and len(calls) == 3


def test_bad_arguments_are_refused_and_nothing_is_left_behind(tmp_path: Path) -> None:
    with pytest.raises(sw.InvalidInput):
        exports.write(_summaries(), tmp_path / "x.xlsx", format="csv")  # the suffix says another format
    with pytest.raises(sw.InvalidInput):
        exports.write(_summaries(), tmp_path / "x.pdf", format="pdf")
    with pytest.raises(sw.InvalidInput):
        exports.write("FINSAS000001", tmp_path / "x.csv", format="csv")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        exports.write([*_summaries(), "intrus"], tmp_path / "x.ods", format="ods")  # type: ignore[list-item]
    with pytest.raises(sw.InvalidInput):
        exports.write(_summaries(), tmp_path / "absent" / "x.csv", format="csv")
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "garde.csv"
    target.write_text("ancien")
    with pytest.raises(sw.InvalidInput):
        exports.write([*_summaries(), 3], target, format="csv")  # type: ignore[list-item]
    assert target.read_text() == "ancien"  # a failed export never leaves half a file in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garde.csv"]
