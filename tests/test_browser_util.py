"""The shared headless-Chromium helper sees what a person would: errors, overflow, the drawn page."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_util import Browser, require_browser, serve


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    (root / "propre.html").write_text(
        "<!doctype html><html lang=fr><meta charset=utf-8><title>Propre</title>"
        "<body><p id=p>Demande d'avance validée</p></body></html>", encoding="utf-8")
    (root / "sale.html").write_text(
        "<!doctype html><html lang=fr><meta charset=utf-8><title>Sale</title><body>"
        "<div style='width:2000px'>trop large</div><img src='absente.png'>"
        "<script>console.error('erreur volontaire'); undefinedFunction();</script></body></html>",
        encoding="utf-8")
    return root


def test_a_clean_page_has_no_error_and_is_screenshot(pages: Path, tmp_path: Path) -> None:
    require_browser()
    with serve(pages) as base, Browser(screenshots=tmp_path) as b:
        b.load(f"{base}/propre.html")
        assert b.console_errors() == []
        assert b.js("return document.getElementById('p').textContent;") == "Demande d'avance validée"
        assert b.js("return window.innerWidth;") == 1280
        assert b.horizontal_overflow() == 0
        shot = b.screenshot("propre")
        assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert base.failures == []


def test_errors_missing_resources_and_overflow_are_reported(pages: Path, tmp_path: Path) -> None:
    require_browser()
    with serve(pages) as base, Browser(screenshots=tmp_path) as b:
        b.load(f"{base}/sale.html")
        errors = b.console_errors()
        assert any("erreur volontaire" in e for e in errors), errors
        assert any("undefinedFunction" in e for e in errors), errors
        assert any("absente.png" in e or "404" in e for e in errors), errors
        assert b.horizontal_overflow() > 600
        assert base.failures == ["404 /absente.png"]
        with pytest.raises(TimeoutError, match="toujours faux"):
            b.wait_for("window.jamais === true", timeout=0.5)
        # a new load starts a new list of errors
        b.load(f"{base}/propre.html")
        assert b.console_errors() == []
