"""The screens as pages, checked with an HTML parser (the headless-browser check is in test_desk_browser.py)."""

from __future__ import annotations

from html.parser import HTMLParser

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, screens

G = examples.GESTIONNAIRE
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>{{ 7*7 }}'


class _Page(HTMLParser):
    """Tags, attributes and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in {"h1", "h2", "h3"}:
            self._heading = [tag]

    def handle_endtag(self, tag: str) -> None:
        if tag in {"h1", "h2", "h3"} and self._heading is not None:
            self.headings.append(" ".join(self._heading))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None and data.strip():
            self._heading.append(data.strip())

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _hostile_dossier(status: sw.Status) -> sw.Dossier:
    d = examples.dossier_at(status)
    return attrs.evolve(d, fournisseur=attrs.evolve(d.fournisseur, raison_sociale=HOSTILE))


@pytest.mark.parametrize("status", list(sw.Status))
def test_pages_have_one_h1_no_script_and_the_language(status: sw.Status) -> None:
    d = _hostile_dossier(status)
    for html in (screens.consultation_html(d), screens.instruction_html(d, G)):
        page = _parse(html)
        names = [t for t, _ in page.tags]
        assert names.count("h1") == 1 and names[0] == "html"
        assert page.tags[0][1].get("lang") == "fr"
        assert "script" not in names and not any(k.startswith("on") for _, a in page.tags for k in a)
        assert HOSTILE in page.visible  # shown as text, escaped, never run
        assert " 49 " not in page.visible  # data is never evaluated as a template
        assert "None" not in page.visible
        csp = [a for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in (csp[0].get("content") or "")


def test_consultation_shows_the_four_blocs_with_their_badges() -> None:
    d = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    ko = sw.ControlerBloc(G, sw.Bloc.COORDONNEES_BANCAIRES, sw.Controle.KO)
    d = sw.handle(d, ko, now=d.date_changement_statut).dossier
    page = _parse(screens.consultation_html(d))
    text = page.visible
    assert "h1 Ma demande de financement FINSAS009250" in page.headings
    # the portal's own controls of the deposit day, then the gestionnaire's KO on the bank details
    assert "h3 Informations de la demande Contrôle OK" in page.headings
    assert "h3 Coordonnées bancaires Contrôle KO" in page.headings
    assert "h3 Pièces justificatives A instruire" in page.headings
    assert "h2 Courriels automatiques envoyés" in page.headings
    for words in ("N° unique de référencement (ANS) tndSAS0032", "Taux de TVA HT - 0%", "Montant de l'avance 30000",
                  "Statut de la demande En cours", "Date de dépôt 23/05/2023", "demande d'avance réceptionnée"):
        assert words in text
    badges = [a.get("class") for t, a in page.tags if t == "span"]
    assert "badge ko" in badges and "badge a-instruire" in badges and "badge ok" in badges


@pytest.mark.parametrize("status", [sw.Status.SOLDE_A_MODIFIER, sw.Status.SOLDE_EN_ATTENTE_PIECE])
def test_while_the_provider_must_act_the_comment_and_the_piece_are_shown(status: sw.Status) -> None:
    d = examples.dossier_at(status)
    text = _parse(screens.consultation_html(d)).visible
    assert f"Demande « {status.label} »" in text
    assert f"Commentaire du gestionnaire {d.demande_commentaire}" in text
    if status is sw.Status.SOLDE_EN_ATTENTE_PIECE:
        assert "Pièce justificative demandée Procès-verbal de vérification de service régulier" in text
    done = _parse(screens.consultation_html(examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION))).visible
    assert "Commentaire du gestionnaire" not in done


def test_instruction_explains_each_command_and_tells_the_history_in_words() -> None:
    d = sw.start(examples.deposer_avance(), numero=examples.NUMERO, now=examples.T0, gestionnaire="c.martin").dossier
    d = sw.handle(d, sw.Reaffecter(G, "a.durand", "Congés"), now=examples.T0).dossier
    page = _parse(screens.instruction_html(d, G))
    text = page.visible
    assert "gestionnaire en charge : a.durand" in text
    assert "Décider — paiement déclenché Le bloc « Pièces justificatives » n'est pas en « Contrôle OK »." in text
    assert "Rejeter la demande Oui" in text
    assert "Dossier réaffecté" in text and "Confié à a.durand (auparavant c.martin)" in text and "« Congés »" in text
    assert "Demande d'avance déposée" in text and "Fournisseur SAS tndSAS0032" in text
    assert "Coordonnées bancaires enregistrées" in text
    assert "Système portail Bloc contrôlé" in text and "Coordonnées bancaires : Contrôle OK" in text
    assert "reaffecter" not in text and "deposer_avance" not in text  # people's words, not ids
    assert "h2 Actions possibles pour Gestionnaire gestionnaire.asp" in page.headings
    assert "h2 Historique du dossier" in page.headings


def test_screens_refuse_wrong_types() -> None:
    d = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    with pytest.raises(sw.InvalidInput):
        screens.consultation_html("FINSAS009250")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        screens.instruction_html(d, "gestionnaire")  # type: ignore[arg-type]
