"""``segur-workflow deliver`` and ``dead-letters`` against a real SMTP server; tables of an older version."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from segur_workflow import cli, examples
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.service import SteppingClock, WorkflowService
from segur_workflow.testing.contract import fournisseur
from segur_workflow.testing.smtp import LocalSmtpServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENDER = "ne-pas-repondre@asp-public.example"


@pytest.fixture
def server() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as smtp:
        yield smtp


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.sqlite3"
    with SQLiteRepository(path) as repository:
        service = WorkflowService(repository, clock=SteppingClock(T0))
        for n in (1, 2):
            service.start(examples.deposer_avance(fournisseur(n)))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_deliver_sends_the_outbox_to_the_server(capsys: pytest.CaptureFixture[str], db: Path,
                                                server: LocalSmtpServer) -> None:
    code, out, _ = _run(capsys, "deliver", "--db", str(db), "--smtp", f"{server.host}:{server.port}",
                        "--sender", SENDER)
    assert code == 0
    assert out.strip() == "envoyés : 2, à réessayer : 0, abandonnés : 0"
    got = server.messages()
    assert sorted(m.rcpt_tos[0] for m in got) == sorted(fournisseur(n).email for n in (1, 2))
    assert all(m.message["From"] == SENDER for m in got)
    code, out, _ = _run(capsys, "deliver", "--db", str(db), "--smtp", f"{server.host}:{server.port}",
                        "--sender", SENDER)
    assert (code, out.strip()) == (0, "envoyés : 0, à réessayer : 0, abandonnés : 0")
    assert len(server.messages()) == 2
    with SQLiteRepository(db) as repository:  # the events stay for a host's on_event
        assert {c.kind for c in repository.claim("x", now=T0, lease=timedelta(seconds=1))} == {"event"}


def test_refused_e_mails_become_dead_letters_listed_and_requeued(capsys: pytest.CaptureFixture[str], db: Path,
                                                                 server: LocalSmtpServer) -> None:
    server.reply = "550 5.1.1 Destinataire inconnu"
    smtp = f"{server.host}:{server.port}"
    code, out, _ = _run(capsys, "deliver", "--db", str(db), "--smtp", smtp, "--sender", SENDER)
    assert (code, out.strip()) == (0, "envoyés : 0, à réessayer : 0, abandonnés : 2")
    code, out, _ = _run(capsys, "dead-letters", "--db", str(db))
    lines = out.strip().splitlines()
    assert code == 0 and lines[-1] == "2 lettre(s) morte(s)"
    assert lines[0].startswith("email:1\tFINSAS000001 v1\t1 essai(s)") and "550" in lines[0]
    server.reply = None
    code, out, _ = _run(capsys, "dead-letters", "--db", str(db), "--requeue", "email:1")
    assert (code, out.strip()) == (0, "email:1 remis en file")
    code, out, _ = _run(capsys, "dead-letters", "--db", str(db), "--requeue", "email:1")
    assert (code, out.strip()) == (1, "email:1 n'est pas une lettre morte")
    code, out, _ = _run(capsys, "deliver", "--db", str(db), "--smtp", smtp, "--sender", SENDER)
    assert out.strip() == "envoyés : 1, à réessayer : 0, abandonnés : 0"


@pytest.mark.parametrize(("argv", "fragment"), [
    (["--smtp", "localhost"], "HÔTE:PORT"),
    (["--smtp", "localhost:99999"], "HÔTE:PORT"),
    (["--smtp", "localhost:25", "--sender", "Nom <a@b.example>"], "sender"),
    (["--smtp", "localhost:25", "--username", "relay"], "SEGUR_SMTP_PASSWORD"),
])
def test_deliver_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], db: Path, argv: list[str],
                                           fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGUR_SMTP_PASSWORD", raising=False)
    args = ["deliver", "--db", str(db), *argv]
    if "--sender" not in argv:
        args += ["--sender", SENDER]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err


def test_outbox_and_commands_of_the_previous_version_are_brought_up_to_date(tmp_path: Path,
                                                                           server: LocalSmtpServer) -> None:
    path = tmp_path / "old.sqlite3"
    SQLiteRepository(path).close()  # today's dossier tables ...
    with sqlite3.connect(path) as conn:  # ... with the outbox and commands as the previous version made them
        conn.executescript("""
            DROP INDEX outbox_due; DROP INDEX outbox_dead; DROP INDEX outbox_by_version; DROP TABLE outbox;
            CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
                numero TEXT NOT NULL REFERENCES dossiers (numero), version INTEGER NOT NULL,
                template TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT NOT NULL,
                body_text TEXT NOT NULL, body_html TEXT NOT NULL, sent_at TEXT);
            CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
            DROP TABLE commands;
            CREATE TABLE commands (command_id TEXT NOT NULL CONSTRAINT commande_unique PRIMARY KEY,
                numero TEXT NOT NULL REFERENCES dossiers (numero), trigger TEXT NOT NULL, version INTEGER NOT NULL);
        """)
    with SQLiteRepository(path) as repository:
        service = WorkflowService(repository, clock=SteppingClock(T0))
        result = service.start(examples.deposer_avance(fournisseur(1), command_id="depot"))
        assert service.start(examples.deposer_avance(fournisseur(1), command_id="depot")).replayed
        assert [e.email for e in repository.pending_emails()] == list(result.emails)
    code = cli.main(["deliver", "--db", str(path), "--smtp", f"{server.host}:{server.port}", "--sender", SENDER])
    assert code == 0 and len(server.messages()) == 1
