"""The benchmark's database generator (bench/case_storage.clone_sealed) writes what the repository would:
every copy verifies, reads back, lists and takes the next command, on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# bench/ is a top-level package of the repository, not part of the installed library.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.case_storage import _life, clone_sealed

from segur_workflow.ports import DossierSummary
from segur_workflow.testing.contract import fournisseur


def test_clones_are_what_the_repository_writes(factory: Callable[[], Any]) -> None:
    states = _life(fournisseur(0))
    repo = factory()
    try:
        clone_sealed(repo, states, 7, start_at=3, batch=3)
        assert list(repo.verify()) == []
        listed = repo.search(limit=100)
        assert [s.numero for s in listed] == [f"FINSAS{i:06d}" for i in range(3, 10)]
        for summary in listed:
            stored = repo.get(summary.numero)
            assert stored.version == len(states)
            assert stored.dossier.history == states[-1].history
            assert stored.dossier.fournisseur == fournisseur(int(summary.numero[-6:]))
            assert summary == DossierSummary.of(stored.dossier, stored.version)
        # the next write chains on the cloned journal
        stored = repo.get("FINSAS000004")
        assert repo.save(stored.dossier, expected_version=stored.version, outbox=()) == len(states) + 1
        assert list(repo.verify()) == []
    finally:
        repo.close()


def test_one_state_copies_are_one_write_each(factory: Callable[[], Any]) -> None:
    template = _life(fournisseur(0))[2]
    repo = factory()
    try:
        clone_sealed(repo, [template], 4)
        assert list(repo.verify()) == []
        assert repo.get("FINSAS000002").version == 1
        assert repo.get("FINSAS000002").dossier.history == template.history
    finally:
        repo.close()
