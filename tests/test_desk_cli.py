"""The CLI of the desk: list, export, show --html, and a careful tool's hygiene (read-only, exit codes, help)."""

from __future__ import annotations

import argparse
import csv
import hashlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

import segur_workflow as sw
from segur_workflow import cli
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.testing.contract import make_dossier


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "desk.sqlite3"
    with SQLiteRepository(path) as repo:
        for n, status, who in [(1, sw.Status.AVANCE_EN_INSTRUCTION, "c.martin"), (2, sw.Status.SOLDE_A_MODIFIER, None),
                               (3, sw.Status.AVANCE_EN_INSTRUCTION, "a.durand"),
                               (4, sw.Status.AVANCE_EN_INSTRUCTION, "c.martin")]:
            d, emails = make_dossier(n, status, gestionnaire=who)
            repo.add(d, outbox=emails)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_list_filters_and_pages(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    before = _digest(db)
    code, out, _ = run(capsys, "list", "--db", str(db), "--status", "avance_en_instruction", "--gestionnaire",
                       "c.martin")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["Numéro", "Statut"]
    assert [line.split()[0] for line in lines[1:]] == ["FINSAS000001", "FINSAS000004"]
    code, out, _ = run(capsys, "list", "--db", str(db), "--limit", "2")
    assert out.splitlines()[-1] == "… page suivante : --after FINSAS000002"
    code, out, _ = run(capsys, "list", "--db", str(db), "--limit", "2", "--after", "FINSAS000002")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["FINSAS000003", "FINSAS000004"]
    code, _, err = run(capsys, "list", "--db", str(db), "--status", "validee")
    assert code == 2 and "Statut inconnu" in err
    assert _digest(db) == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_export_writes_the_worklist(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"liste.{fmt}"
    code, _, err = run(capsys, "export", "--db", str(db), "-o", str(target), "--status", "avance_en_instruction")
    assert code == 0 and "3 dossier(s)" in err
    if fmt == "csv":
        with target.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh, delimiter=";"))
        assert [r[0] for r in rows] == ["Numéro de dossier", "FINSAS000001", "FINSAS000003", "FINSAS000004"]
    elif fmt == "xlsx":
        sheet = openpyxl.load_workbook(target).active
        assert [r[0] for r in sheet.iter_rows(values_only=True)][1:] == ["FINSAS000001", "FINSAS000003",
                                                                         "FINSAS000004"]
    else:
        assert target.stat().st_size > 0
    code, _, err = run(capsys, "export", "--db", str(db), "-o", str(tmp_path / "x.xlsx"), "--format", "csv")
    assert code == 2 and "un fichier .csv" in err


def test_show_html_writes_the_pages(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    page = tmp_path / "dossier.html"
    code, _, _ = run(capsys, "show", "FINSAS000002", "--db", str(db), "--html", "-o", str(page))
    assert code == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Commentaire du gestionnaire" in html
    code, out, _ = run(capsys, "show", "FINSAS000001", "--db", str(db), "--html", "--gestionnaire", "c.martin")
    assert code == 0 and "Actions possibles pour Gestionnaire c.martin" in out
    code, out, _ = run(capsys, "show", "FINSAS000001", "--db", str(db))
    assert "Demande d'avance déposée" in out and "deposer_avance" not in out
    assert "Gestionnaire en charge" in out and "c.martin" in out


def test_reading_commands_never_write_into_a_foreign_sqlite_file(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Path) -> None:
    other = tmp_path / "autre.sqlite3"
    with sqlite3.connect(other) as raw:
        raw.execute("CREATE TABLE notes (texte TEXT)")
    before = _digest(other)
    for argv in (["show", "FINSAS000001", "--db", str(other)], ["list", "--db", str(other)],
                 ["export", "--db", str(other), "-o", str(tmp_path / "x.csv")],
                 ["diagram", "--dossier", "FINSAS000001", "--db", str(other)]):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert "n'est pas une base segur-workflow" in err and "signaler" not in err
    assert _digest(other) == before
    with sqlite3.connect(other) as raw:
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_a_file_that_is_not_a_database_is_a_user_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("bonjour\n" * 200)
    code, out, err = run(capsys, "show", "FINSAS000001", "--db", str(text))
    assert (code, out) == (2, "")
    assert "n'est pas une base segur-workflow" in err
    assert text.read_text() == "bonjour\n" * 200
    code, _, err = run(capsys, "list", "--db", str(tmp_path / "absente.sqlite3"))
    assert code == 2 and "introuvable" in err
    assert not (tmp_path / "absente.sqlite3").exists()


def test_demo_reports_errors_on_stderr(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "demo.sqlite3"
    bad.write_bytes(b"pas une base" * 100)
    code, out, err = run(capsys, "demo", "--db", str(bad))
    assert code == 2
    assert "pas une base SQLite utilisable" in err and "Erreur" not in out


def test_diagram_refuses_a_suffix_of_another_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "x.jpg"
    code, _, err = run(capsys, "diagram", "-o", str(target))
    assert code == 2 and ".mmd" in err and not target.exists()
    code, _, err = run(capsys, "diagram", "--format", "dot", "-o", str(tmp_path / "x.png"))
    assert code == 2 and ".dot" in err
    code, _, _ = run(capsys, "diagram", "--format", "dot", "-o", str(tmp_path / "x.gv"))
    assert code == 0 and (tmp_path / "x.gv").read_text().startswith("digraph")


def test_diagram_db_without_dossier_says_so(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, err = run(capsys, "diagram", "--db", str(db))
    assert (code, out) == (2, "")
    assert "--dossier" in err


def test_version_and_help_for_every_positional_argument(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"segur-workflow {sw.__version__}"
    parser = cli.build_parser()
    subcommands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subcommands.choices.items():
        for arg in sub._actions:
            if not arg.option_strings:
                assert arg.help, f"{name} {arg.dest} sans aide"
    proc = subprocess.run([sys.executable, "-m", "segur_workflow.cli", "show", "--help"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0 and "numéro du dossier" in proc.stdout
