"""The desk's benchmark (bench/case_desk.py, bench/large.py): the database it measures is the one it says,
and the full-size page keeps each part's section."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

# bench/ is a top-level package of the repository, not part of the installed library.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import case_desk, large

from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.ports import DossierSummary


def test_the_desk_database_interleaves_its_templates_and_holds_the_history_pages(tmp_path: Path) -> None:
    count = 420
    with SQLiteRepository(tmp_path / "desk.sqlite3") as repo:
        case_desk.build(repo, count)
        listed = list(case_desk._every_row(repo, page=100))
        assert [s.numero for s in listed] == [case_desk._numero(n) for n in range(1, count + 1)]
        assert len({s.ans_id for s in listed}) == count  # one provider per dossier
        head = listed[: count - 2 * case_desk.PAGE]
        # consecutive numeros take the templates in turn: every status and gestionnaire spread over the table
        assert len(Counter(s.status for s in head[:160])) == 8
        assert Counter(s.gestionnaire for s in head[:160]) == dict.fromkeys(case_desk.POOL, 8)
        assert [len(repo.search(gestionnaire=g, limit=100)) for g in (case_desk.LONG, case_desk.SHORT)] == [50, 50]
        long = repo.get(repo.search(gestionnaire=case_desk.LONG, limit=1)[0].numero)
        short = repo.get(repo.search(gestionnaire=case_desk.SHORT, limit=1)[0].numero)
        assert (len(long.dossier.history), len(short.dossier.history)) == (1000, 3)
        assert repo.search(gestionnaire=case_desk.LONG, limit=1) == [DossierSummary.of(long.dossier, long.version)]


def test_each_part_rewrites_only_its_own_section(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks-large.md"
    large.write_section("verify", "## verify\n\nfirst", page)
    large.write_section("desk", "## desk\n\nfirst", page)
    large.write_section("desk", "## desk\n\nsecond", page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith(large.TITLE)
    assert text.count("<!-- desk:start -->") == 1
    assert "## verify\n\nfirst" in text
    assert "## desk\n\nsecond" in text
    assert "## desk\n\nfirst" not in text
    assert text.index("verify:end") < text.index("desk:start")
