"""The ``segur-workflow`` command line: French help, one-line errors, exit codes, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from segur_workflow import (
    Dossier,
    DossierNotFound,
    Status,
    cli,
    examples,
    handle,
)
from segur_workflow import diagrams as D
from segur_workflow.commands import ControlerBloc, DemanderModification
from segur_workflow.emails import TEMPLATES
from segur_workflow.model import Attachment
from segur_workflow.rules import check_attachment
from segur_workflow.states import COMPTE
from segur_workflow.vocabulary import Bloc, Controle, PieceKind


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@attrs.frozen
class Stored:
    dossier: Dossier
    version: int = 1


class FakeRepository:
    """Stands for ``SQLiteRepository(path)``: the same ``get(numero).dossier`` contract."""

    def __init__(self, *dossiers: Dossier) -> None:
        self.by_numero = {d.numero: d for d in dossiers}
        self.closed = False

    def get(self, numero: str) -> Stored:
        if numero not in self.by_numero:
            raise DossierNotFound(numero)
        return Stored(self.by_numero[numero])

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakeRepository, Path]:
    db = tmp_path / "base.sqlite3"
    db.write_bytes(b"")
    fake = FakeRepository(examples.dossier_at(Status.SOLDE_A_MODIFIER))
    opened: list[Path] = []

    def open_repository(path: Path) -> FakeRepository:
        opened.append(path)
        return fake

    monkeypatch.setattr(cli._common, "open_repository", open_repository)
    return fake, db


# -- help and usage errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["demo"], ["diagram"], ["check"], ["emails"], ["show"]])
def test_help_everywhere_in_french(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith("usage : segur-workflow")
    assert "affiche cette aide et quitte" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "argument(s) obligatoire(s) manquant(s) : COMMANDE"),
        (["nope"], "choix invalide : 'nope'"),
        (["diagram", "--format", "gif"], "choix invalide : 'gif'"),
        (["diagram", "--bogus"], "argument(s) non reconnu(s) : --bogus"),
        (["check"], "argument(s) obligatoire(s) manquant(s) : FICHIER"),
        (["show", "FINSAS009250"], "--db"),
        (["emails", "--template", "inconnu"], "choix invalide"),
    ],
)
def test_usage_errors_are_one_french_line(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    line = one_line_error(err)
    assert line.startswith("segur-workflow")
    assert ": erreur :" in line
    assert expected in line


def test_console_script_never_shows_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "segur_workflow.cli", "show", "X", "--db", str(tmp_path / "absent")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert one_line_error(proc.stderr) == f"segur-workflow : Base de données introuvable : {tmp_path / 'absent'}"


def test_a_bug_is_still_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: Any, **_k: Any) -> str:
        raise RuntimeError("panne")

    monkeypatch.setattr(D, "diagram", boom)
    code, _, err = run(capsys, "diagram")
    assert code == 70
    assert "erreur inattendue (RuntimeError : panne)" in one_line_error(err)


# -- diagram ---------------------------------------------------------------------------------------------
def test_diagram_defaults_to_mermaid_of_the_dossier(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diagram")
    assert code == 0
    assert out == D.to_mermaid("dossier")


@pytest.mark.parametrize("fmt", [r.name for r in D.RENDERERS.values() if not r.binary])
def test_diagram_formats_and_machines(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "diagram", "--machine", "compte", "--format", fmt)
    assert code == 0
    assert out == D.diagram("compte", fmt)


def test_diagram_output_file_takes_format_from_extension(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "machine.scxml"
    code, out, err = run(capsys, "diagram", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text(encoding="utf-8") == D.to_scxml()
    assert "machine.scxml écrit (scxml)" in err


@pytest.mark.parametrize(("fmt", "suffix"), [(r.name, s) for r in D.RENDERERS.values() if not r.binary
                                             for s in r.suffixes])
def test_every_suffix_of_the_registry_chooses_its_format(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        fmt: str, suffix: str) -> None:
    target = tmp_path / f"machine.{suffix}"
    code, _, err = run(capsys, "diagram", "--machine", "compte", "-o", str(target))
    assert code == 0
    assert target.read_text(encoding="utf-8") == D.diagram("compte", fmt)
    assert f"({fmt})" in err


def test_diagram_png_through_graphviz(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if D.dot_command() is None:
        code, _, err = run(capsys, "diagram", "-o", str(tmp_path / "d.png"))
        assert code == 2 and "graphviz" in one_line_error(err)
        return
    code, _, _ = run(capsys, "diagram", "--format", "png", "-o", str(tmp_path / "d.png"))
    assert code == 0
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")


def test_diagram_without_graphviz_names_the_package(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere on the PATH
    code, _, err = run(capsys, "diagram", "--format", "svg", "-o", str(tmp_path / "d.svg"))
    assert code == 2
    assert "paquet Debian « graphviz »" in one_line_error(err)
    assert not (tmp_path / "d.svg").exists()


def test_diagram_highlights_a_stored_dossier(
    capsys: pytest.CaptureFixture[str], repo: tuple[FakeRepository, Path]
) -> None:
    fake, db = repo
    code, out, _ = run(capsys, "diagram", "--dossier", "FINSAS009250", "--db", str(db))
    assert code == 0
    assert out == D.to_mermaid(highlight=fake.by_numero["FINSAS009250"])
    assert "class solde_a_modifier courant" in out
    assert fake.closed


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dossier", "FINSAS009250"], "--dossier demande aussi --db"),
        (["--dossier", "FINSAS009250", "--machine", "compte", "--db", "x"], "machine « dossier »"),
        (["--dossier", "FINSAS000001", "--db", "DB"], "Aucun dossier n'a le numéro 'FINSAS000001'"),
    ],
)
def test_diagram_dossier_errors(capsys: pytest.CaptureFixture[str], repo: tuple[FakeRepository, Path],
                                argv: list[str], expected: str) -> None:
    argv = [str(repo[1]) if a == "DB" else a for a in argv]
    code, _, err = run(capsys, "diagram", *argv)
    assert code == 2
    assert expected in one_line_error(err)


def test_diagram_to_an_unwritable_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "diagram", "-o", str(tmp_path / "absent" / "d.mmd"))
    assert code == 2
    assert "Écriture impossible" in one_line_error(err)


# -- check -----------------------------------------------------------------------------------------------
def test_check_accepts_real_pdf_png_jpeg(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = {"pv.pdf": examples.pdf_bytes(), "scan.png": examples.png_bytes(3, 2), "photo.JPG": examples.jpeg_bytes()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    code, out, _ = run(capsys, "check", *(str(tmp_path / n) for n in files), "--piece", "pv_vsr")
    assert code == 0
    assert out.count("✔") == 3
    assert "comme « Procès-verbal de vérification de service régulier »" in out
    assert "application/pdf" in out and "image/png" in out and "image/jpeg" in out


def test_check_refuses_with_french_reasons(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "ok.pdf").write_bytes(examples.pdf_bytes())
    (tmp_path / "deguise.pdf").write_bytes(b"MZ\x90\x00" + b"\x00" * 100)  # a Windows executable
    (tmp_path / "gros.pdf").write_bytes(examples.pdf_bytes() + b"\x00" * (4 * 1024 * 1024))
    (tmp_path / "vide.png").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("bonjour")
    names = ["ok.pdf", "deguise.pdf", "gros.pdf", "vide.png", "notes.txt", "absent.pdf"]
    code, out, _ = run(capsys, "check", *(str(tmp_path / n) for n in names))
    assert code == 1
    lines = dict(line.split(" : ", 1) for line in out.splitlines() if line.startswith(("✔", "✘")))
    by_name = {Path(k[2:]).name: v for k, v in lines.items()}
    assert by_name["ok.pdf"].startswith("conforme")
    assert "ne correspond pas à son extension" in by_name["deguise.pdf"]
    # the reasons are the rules' own messages, all of them
    disguised = Attachment.from_path(tmp_path / "deguise.pdf")
    expected = " ; ".join(v.message for v in check_attachment(PieceKind.PV_MISE_EN_SERVICE, disguised))
    assert by_name["deguise.pdf"] == expected
    assert "Taille maximum : 4 Mo" in by_name["gros.pdf"]
    assert "Le fichier est vide." in by_name["vide.png"]
    assert "Fichier de type .png, .jpg, .jpeg ou .pdf" in by_name["notes.txt"]
    assert by_name["absent.pdf"] == "fichier illisible (introuvable)."
    assert out.rstrip().endswith("5 fichier(s) refusé(s) sur 6.")


def test_check_a_directory_is_refused_not_a_crash(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 1
    assert "fichier illisible" in out
    assert err == ""


# -- emails ----------------------------------------------------------------------------------------------
def test_emails_renders_every_template_with_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "emails")
    assert code == 0
    for name in TEMPLATES:
        assert f"Modèle {name}" in out
    compte = {t for tr in COMPTE.transitions for t in tr.emails}
    assert out.count("Objet : Demande de financement FINSAS009250") == len(set(TEMPLATES) - compte)
    assert out.count("Objet : Portail Ségur numérique : ") == len(compte)
    assert "{{" not in out


def test_emails_one_template_in_html(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "emails", "--template", "solde_en_attente_piece", "--html")
    assert code == 0
    assert "Modèle solde_en_attente_piece" in out
    assert "<" in out.split("Objet :", 1)[1]
    assert "Modèle accuse_reception_avance" not in out


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_example_email_is_the_engine_output(template: str) -> None:
    email = cli.example_email(template)
    assert email.template == template
    assert email.to == examples.FOURNISSEUR.email


# -- show ------------------------------------------------------------------------------------------------
def test_show_prints_the_consultation_screen(
    capsys: pytest.CaptureFixture[str], repo: tuple[FakeRepository, Path]
) -> None:
    code, out, _ = run(capsys, "show", "FINSAS009250", "--db", str(repo[1]))
    assert code == 0
    assert out.startswith("Demande de financement FINSAS009250\n")
    for expected in ("Statut de la demande", "A modifier", "LE SELECT", "Ma demande d'avance", "Ma demande de solde",
                     "[Contrôle KO]", "Courriels automatiques envoyés", "Historique", "23/05/2023",
                     "Modification demandée (En cours (demande de solde) → A modifier (demande de solde))",
                     "Fournisseur SAS : Compléter la demande"):
        assert expected in out, expected


def test_show_neutralises_terminal_escapes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    d = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    g = examples.GESTIONNAIRE
    now = d.date_changement_statut
    d = handle(d, ControlerBloc(g, Bloc.INFORMATIONS, Controle.KO), now=now).dossier
    hostile = "\x1b[2J\x1b]0;pwned\x07 « merci » \n ligne"
    d = handle(d, DemanderModification(g, "à compléter"), now=now).dossier
    # Commands refuse control characters now; a dossier stored before that (or edited in the base) may hold them.
    d = attrs.evolve(d, demande_commentaire=hostile,
                     history=(*d.history[:-1], attrs.evolve(d.history[-1], comment=hostile)))
    monkeypatch.setattr(cli._common, "open_repository", lambda _p: FakeRepository(d))
    code, out, _ = run(capsys, "show", d.numero, "--db", str(tmp_path))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out and "« merci »" in out


def test_show_unknown_dossier(capsys: pytest.CaptureFixture[str], repo: tuple[FakeRepository, Path]) -> None:
    code, out, err = run(capsys, "show", "FINSAS000404", "--db", str(repo[1]))
    assert code == 2 and out == ""
    assert one_line_error(err) == "segur-workflow : Aucun dossier n'a le numéro 'FINSAS000404'."


def test_open_repository_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(cli.CliError, match="introuvable"):
        cli.open_repository(tmp_path / "absent.sqlite3")


# -- demo ------------------------------------------------------------------------------------------------
def test_demo_delegates_to_run_demo(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from segur_workflow import demo

    calls: list[Path] = []

    def fake_run_demo(path: Path, write: Any = print, **_options: Any) -> int:
        calls.append(path)
        write("étape 1")
        return 3

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    code, out, _ = run(capsys, "demo")
    assert code == 3
    assert calls == [Path("segur-demo.sqlite3")]
    assert out == "étape 1\n"


# -- with the real SQLite adapter (the persistence helper's), once it is installed -----------------------
def test_show_and_diagram_read_a_real_sqlite_base(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sqlite = pytest.importorskip("segur_workflow.adapters.sqlite")
    dossier = examples.dossier_at(Status.SOLDE_EN_ATTENTE_PIECE)
    db = tmp_path / "base.sqlite3"
    repo = sqlite.SQLiteRepository(db)
    try:
        repo.add(dossier, outbox=())
    finally:
        repo.close()
    code, out, _ = run(capsys, "show", dossier.numero, "--db", str(db))
    assert code == 0
    assert "En attente de pièce justificative" in out
    code, out, _ = run(capsys, "diagram", "--dossier", dossier.numero, "--db", str(db))
    assert code == 0
    assert out == D.to_mermaid(highlight=dossier)
    code, _, err = run(capsys, "show", "FINSAS000404", "--db", str(db))
    assert code == 2
    assert "FINSAS000404" in one_line_error(err)


def test_every_db_option_says_it_takes_sqlite_or_postgresql() -> None:
    # every command that opens a database goes through open_repository, which takes a file or a DSN: the help
    # must say so, derived from the parser itself so a new command cannot forget it
    import argparse

    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seen = []
    for name, sub in subparsers.choices.items():
        for action in sub._actions:
            if "--db" in action.option_strings and name != "demo":  # demo creates its own SQLite file
                seen.append(name)
                assert action.metavar == "BASE", name
                assert "PostgreSQL" in (action.help or ""), name
    assert {"show", "list", "export", "deliver", "dead-letters", "verify", "migrate", "diagram"} <= set(seen)
