"""The demo run by ``make demo`` / ``segur-workflow demo``: a full SAS dossier on an SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def run_demo(db_path: Path, write: Callable[[str], None] = print) -> int:
    """Run the demo scenario on ``db_path``; print each step; return an exit code. Re-runnable."""
    write(f"démo à venir ({db_path})")
    return 0
