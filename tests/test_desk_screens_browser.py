"""The desk's HTML screens in headless Chromium: they load clean (no console error, the page's own CSP
applied), are French, fit 1280 px without horizontal scrolling, show what the provider must see while
a request waits for them, tell the history in people's words, and their badges are readable.

A screenshot of each page goes to build/screenshots/ (artefacts of the run). Skipped with a reason when
Chromium is absent, failing under CI=true (scripts/setup.d/40-chromium.sh installs it for `make test`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import segur_workflow as sw
from browser_util import Browser, Served, require_browser, serve
from segur_workflow import examples, screens
from segur_workflow.states import DOSSIER

WIDTH = 1280
G = examples.GESTIONNAIRE
COMMAND_ID = "cmd-7f3a2c9e-reaffectation"


def _pages() -> dict[str, tuple[str, sw.Dossier]]:
    """name -> (html, dossier): both screens at the statuses where they differ the most."""
    deposited = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0,
                         gestionnaire="c.martin").dossier
    moved = sw.handle(deposited, sw.Reaffecter(G, "a.durand", "Congés de C. Martin", command_id=COMMAND_ID),
                      now=examples.T0).dossier
    modifier = examples.dossier_at(sw.Status.SOLDE_A_MODIFIER)
    piece = examples.dossier_at(sw.Status.SOLDE_EN_ATTENTE_PIECE)
    return {
        "ecran_consultation_avance": (screens.consultation_html(moved), moved),
        "ecran_instruction_avance": (screens.instruction_html(moved, G), moved),
        "ecran_consultation_a_modifier": (screens.consultation_html(modifier), modifier),
        "ecran_consultation_attente_piece": (screens.consultation_html(piece), piece),
        "ecran_instruction_attente_piece": (screens.instruction_html(piece, G), piece),
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Browser, dict[str, sw.Dossier]]]:
    require_browser()
    out = tmp_path_factory.mktemp("ecrans")
    dossiers = {}
    for name, (html, dossier) in _pages().items():
        (out / f"{name}.html").write_text(html, encoding="utf-8")
        dossiers[name] = dossier
    with serve(out) as base, Browser(width=WIDTH, height=900) as b:
        yield base, b, dossiers


def _text(b: Browser) -> str:
    return str(b.js("return document.body.innerText;"))


@pytest.mark.parametrize("name", list(_pages()))
def test_each_screen_loads_clean_in_french_and_fits(served: tuple[Served, Browser, dict[str, sw.Dossier]],
                                                    name: str) -> None:
    base, b, _ = served
    b.load(f"{base}/{name}.html")
    assert b.console_errors() == []  # a CSP violation or a failed resource would be one
    assert base.failures == []
    assert b.js("return document.documentElement.lang;") == "fr"
    assert b.js("return document.querySelectorAll('script').length;") == 0
    assert b.js("return document.querySelectorAll('h1').length;") == 1
    # the inline style sheet is applied (the page's CSP allows it and nothing else)
    assert b.js("return getComputedStyle(document.querySelector('header')).backgroundColor;") == "rgb(0, 0, 145)"
    assert b.horizontal_overflow() == 0, f"{name} : débordement horizontal à {WIDTH} px"
    assert b.screenshot(name).stat().st_size > 0


_CONTRAST = """
function lum(c) {
  const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(Number).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
return [...document.querySelectorAll('.badge')].map(e => {
  const s = getComputedStyle(e), a = lum(s.color), z = lum(s.backgroundColor);
  return [e.innerText, (Math.max(a, z) + 0.05) / (Math.min(a, z) + 0.05)];
});
"""


def test_badges_are_shown_and_readable(served: tuple[Served, Browser, dict[str, sw.Dossier]]) -> None:
    base, b, _ = served
    b.load(f"{base}/ecran_consultation_avance.html")
    badges = b.js(_CONTRAST)
    assert {text for text, _ in badges} >= {"Contrôle OK", "A instruire"}
    for text, ratio in badges:
        assert ratio >= 4.5, f"badge « {text} » : contraste {ratio:.2f} < 4,5 (WCAG AA)"


@pytest.mark.parametrize("name", ["ecran_consultation_a_modifier", "ecran_consultation_attente_piece"])
def test_while_the_provider_must_act_the_comment_and_the_piece_are_on_screen(
        served: tuple[Served, Browser, dict[str, sw.Dossier]], name: str) -> None:
    base, b, dossiers = served
    b.load(f"{base}/{name}.html")
    text = _text(b)
    dossier = dossiers[name]
    assert dossier.demande_commentaire and dossier.demande_commentaire in text
    assert f"Demande « {dossier.status.label} »" in text
    if dossier.piece_demandee is not None:
        assert dossier.piece_demandee.label in text


def test_the_history_is_told_in_people_s_words(served: tuple[Served, Browser, dict[str, sw.Dossier]]) -> None:
    base, b, _ = served
    b.load(f"{base}/ecran_instruction_avance.html")
    history = str(b.js("return [...document.querySelectorAll('h2')].find(h => h.innerText.startsWith("
                       "'Historique')).parentElement.innerText;"))
    assert "Dossier réaffecté" in history and "Congés de C. Martin" in history
    assert "Confié à a.durand (auparavant c.martin)" in history
    assert "Bloc contrôlé" in history  # the portal's own controls of the deposit day
    text = _text(b)
    for technical in (*DOSSIER.triggers, *(s.value for s in sw.Status), COMMAND_ID, "None"):
        assert technical not in text, technical
    # explain() for each command, in words
    assert "Décider — paiement déclenché" in text and "n'est pas en « Contrôle OK »" in text
