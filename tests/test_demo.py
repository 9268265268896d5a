"""The demo scenario on an SQLite file: every step goes through the service, and it can run again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from segur_workflow import Status, verify_history
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.demo import run_demo


def _run(path: Path) -> list[str]:
    lines: list[str] = []
    assert run_demo(path, lines.append) == 0
    return lines


def test_demo_runs_both_dossiers_to_their_end(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    out = "\n".join(_run(path))
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT numero, template, subject FROM outbox ORDER BY id").fetchall()
    assert [(n, t) for n, t, _ in rows] == [
        ("FINSAS000001", "accuse_reception_avance"), ("FINSAS000001", "avance_decidee"),
        ("FINSAS000001", "accuse_reception_solde"), ("FINSAS000001", "solde_a_modifier"),
        ("FINSAS000001", "complement_recu"), ("FINSAS000001", "solde_decidee"),
        ("FINSAS000002", "accuse_reception_avance"), ("FINSAS000002", "avance_rejetee"),
    ]
    for _, _, subject in rows:  # each e-mail's subject is printed at its step
        assert subject in out
    assert Status.SOLDE_DECIDEE.label in out
    assert Status.AVANCE_REJETEE.label in out
    # no invented figure shown as fact: the balance amount is said to be an example
    assert "total payé : 60000 € (dont un solde d'EXEMPLE" in out
    assert "Montant du solde : 30000 € = montant d'EXEMPLE" in out
    assert "portail (Système) : Coordonnées bancaires → Contrôle OK" in out
    with SQLiteRepository(path) as repo:
        complete = repo.get("FINSAS000001")
        rejected = repo.get("FINSAS000002")
        assert complete.dossier.status is Status.SOLDE_DECIDEE
        assert complete.version == 10  # the portal's own controls at deposit are part of the deposit's write
        assert [e.trigger for e in complete.dossier.history].count("completer") == 1
        assert rejected.dossier.status is Status.AVANCE_REJETEE
        assert verify_history(complete.dossier)
        assert repo.pending_emails() == []  # drained by the demo's simulated mailer
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0] == 8


def test_demo_is_rerunnable_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    first = _run(path)
    second = _run(path)
    assert any("FINSAS000001" in line for line in first)
    assert any("FINSAS000003" in line for line in second)
    assert not any("FINSAS000001" in line for line in second)
    with SQLiteRepository(path) as repo:
        assert repo.last_numero("FINSAS") == "FINSAS000004"
        assert repo.get("FINSAS000003").dossier.status is Status.SOLDE_DECIDEE
        assert repo.get("FINSAS000001").dossier.fournisseur.ans_id == "tndSAS0032"
        assert repo.get("FINSAS000003").dossier.fournisseur.ans_id != "tndSAS0032"


def test_demo_reports_an_unusable_file_with_an_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    path.write_bytes(b"ceci n'est pas une base SQLite" * 100)
    lines: list[str] = []
    assert run_demo(path, lines.append) == 2  # an input problem (documented exit codes, docs/cli.md)
    assert "pas une base SQLite" in lines[-1]
