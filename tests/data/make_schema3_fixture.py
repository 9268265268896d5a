"""Writes ``schema3.sqlite3``: a small database as the release before the sealed journal wrote it.

Run once, on main at commit 4290c59 (schema 3: one ``dossiers`` row per dossier, the whole history
inside the JSON of ``data``), with ``python tests/data/make_schema3_fixture.py``. The file it made is
committed beside it and is what ``tests/test_migration.py`` migrates; running this script again on a
newer release would write the newer layout, so it refuses to (see the check below).

Five dossiers through the service, deterministic clock: one in each of avance_en_instruction,
avance_rejetee, solde_a_modifier, solde_en_attente_piece and solde_decidee, some commands with a
``command_id``, and the outbox half drained.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import attrs

from segur_workflow import examples, serialization
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.service import SteppingClock, WorkflowService
from segur_workflow.states import Status

TARGET = Path(__file__).with_name("schema3.sqlite3")


def main() -> int:
    if serialization.SCHEMA_VERSION != 3:
        print("ce script ne décrit que l'ancienne disposition (schéma 3)", file=sys.stderr)
        return 1
    TARGET.unlink(missing_ok=True)
    repo = SQLiteRepository(TARGET)
    service = WorkflowService(repo, clock=SteppingClock(examples.T0, timedelta(hours=1)))
    targets = [Status.AVANCE_EN_INSTRUCTION, Status.AVANCE_REJETEE, Status.SOLDE_A_MODIFIER,
               Status.SOLDE_EN_ATTENTE_PIECE, Status.SOLDE_DECIDEE]
    for n, status in enumerate(targets, 1):
        fournisseur = attrs.evolve(examples.FOURNISSEUR, ans_id=f"tndSAS{n:04d}",
                                   email=f"contact{n}@fournisseur.example")
        created = service.start(examples.deposer_avance(fournisseur, command_id=f"depot-{n}"))
        numero = created.numero
        step = 0
        for trigger in examples.PATHS[status]:
            dossier = repo.get(numero).dossier
            for command in examples.commands_to_fire(dossier, trigger):
                step += 1
                service.handle(numero, attrs.evolve(command, command_id=f"{numero}-{step}"))
    for item in repo.pending_emails(limit=1000)[::2]:
        repo.mark_sent(item.id)
    repo.close()
    with sqlite3.connect(TARGET) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
