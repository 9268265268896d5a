"""E-mails through the engine: the seed's acknowledgement, one e-mail per notifying transition, records."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import lxml.html
import pytest

from segur_workflow import engine, examples
from segur_workflow._format import format_date, format_montant
from segur_workflow.commands import ControlerBloc, DemanderModification, DemanderPiece, Rejeter
from segur_workflow.emails import TEMPLATES, html_text
from segur_workflow.errors import WorkflowError
from segur_workflow.history import command_entry
from segur_workflow.model import SAS, Dossier
from segur_workflow.states import DOSSIER, INITIAL, Status, TransitionSpec
from segur_workflow.vocabulary import Bloc, Controle, PieceKind

DATA = Path(__file__).parent / "data"
#: The e-mail as printed in the guide (copied in tests/data so that the test runs on a clean clone).
SEED_EMAIL = (DATA / "seed_accuse_reception_avance.txt").read_text(encoding="utf-8")
SEED_GUIDE = Path("/work/shared/seeds/guide-demande-d-avance-sas.txt")


def sentences(text: str) -> list[str]:
    """Paragraphs split on blank lines, then on sentence ends; spaces normalised."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        out += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())) if s]
    return out


def html_sentences(markup: str) -> list[str]:
    body = lxml.html.document_fromstring(markup).body
    return sentences("\n\n".join(p.text_content() for p in body.iter("p")))


def test_seed_copy_is_the_guide_text() -> None:
    if not SEED_GUIDE.exists():
        pytest.skip("the guides are not on this machine")
    guide = SEED_GUIDE.read_text(encoding="utf-8")
    start = guide.index("Madame, Monsieur,")
    end = guide.index("merci de ne pas y répondre.", start) + len("merci de ne pas y répondre.")
    assert guide[start:end] + "\n" == SEED_EMAIL


def test_avance_acknowledgement_reproduces_the_seed_sentence_by_sentence() -> None:
    outcome = engine.start(examples.deposer_avance(), numero="FINSAS009250", now=examples.T0)
    (email,) = outcome.emails
    assert email.template == "accuse_reception_avance"
    assert email.to == examples.FOURNISSEUR.email
    expected = sentences(SEED_EMAIL)
    assert len(expected) == 9
    assert sentences(email.text) == expected
    # The HTML says the same; the link is an <a> rather than a bracketed URL.
    assert html_sentences(email.html) == [s.replace("<https", "https").replace("assistance>.", "assistance.")
                                          for s in expected]
    link = "https://segurnum.asp-public.fr/segurnum/contacter-assistance"
    assert [a.get("href") for a in lxml.html.document_fromstring(email.html).iter("a")] == [link]


def test_recorded_acknowledgement_of_the_example_dossier() -> None:
    dossier = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    (record,) = dossier.emails_sent
    assert (record.at, record.template, record.to) == (examples.T0, "accuse_reception_avance",
                                                       examples.FOURNISSEUR.email)
    assert record.subject == "Demande de financement FINSAS009250 : demande d'avance réceptionnée"


@pytest.mark.parametrize(
    ("now", "shown"),
    [
        (datetime(2023, 5, 23, 21, 59, tzinfo=UTC), "23/05/2023"),  # 23:59 in Paris (summer time)
        (datetime(2023, 5, 23, 22, 0, tzinfo=UTC), "24/05/2023"),  # already the next day in Paris
        (datetime(2023, 12, 31, 23, 30, tzinfo=UTC), "01/01/2024"),  # winter time, new year
        (datetime(2024, 2, 29, 12, 0, tzinfo=UTC), "29/02/2024"),
    ],
)
def test_dates_are_days_in_paris(now: datetime, shown: str) -> None:
    (email,) = engine.start(examples.deposer_avance(), numero="FINSAS009250", now=now).emails
    assert f"en date du {shown} a bien été réceptionnée" in email.text
    assert f"en date du {shown} a bien été réceptionnée" in email.html


# -- every edge of the machine --------------------------------------------------------------------------------------
def _edges() -> list[tuple[str, TransitionSpec]]:
    return [(src, spec) for src, spec, _dst in DOSSIER.edges() if src != INITIAL]


@pytest.mark.parametrize(("source", "spec"), _edges(), ids=lambda x: x if isinstance(x, str) else x.trigger)
def test_each_notifying_transition_sends_and_records_exactly_one_email(source: str, spec: TransitionSpec) -> None:
    dossier = examples.dossier_at(Status(source))
    now = dossier.date_changement_statut + timedelta(days=3)
    for command in examples.commands_to_fire(dossier, spec.trigger):
        before = dossier
        outcome = engine.handle(dossier, command, now=now)
        dossier = outcome.dossier
        if spec.trigger != command.TRIGGER:  # preparation (controler_bloc) sends nothing
            assert isinstance(command, ControlerBloc)
            assert outcome.emails == ()
            assert dossier.emails_sent == before.emails_sent
    # only the internal transitions (bloc control, reassignment) leave the provider without an e-mail
    assert spec.email is not None or spec.internal
    if spec.email is None:
        assert outcome.emails == ()
        assert dossier.emails_sent == before.emails_sent
        return
    (email,) = outcome.emails
    assert email.template == spec.email
    assert email.to == dossier.fournisseur.email
    (*kept, record) = dossier.emails_sent
    assert tuple(kept) == before.emails_sent
    assert (record.at, record.template, record.subject, record.to) == (now, email.template, email.subject, email.to)
    _assert_content(email.text, email.html, command, dossier, now)


def _assert_content(text: str, markup: str, command: object, dossier: Dossier, now: datetime) -> None:
    assert dossier.numero in text
    day = format_date(now)
    if isinstance(command, Rejeter):
        assert command.motif in text
        assert html_text(command.motif) in markup
    if isinstance(command, DemanderModification | DemanderPiece):
        assert command.commentaire in text
        assert html_text(command.commentaire) in markup
    if isinstance(command, DemanderPiece):
        assert f"« {command.piece.label} »" in text
    if dossier.status in (Status.AVANCE_DECIDEE, Status.SOLDE_DECIDEE):
        montant = format_montant(dossier.demande_courante.montant)
        assert f"d'un montant de {montant} €, est déclenché" in text
        assert "avance" in text if dossier.status is Status.AVANCE_DECIDEE else "du solde" in text
    if dossier.status is Status.SOLDE_EN_INSTRUCTION:
        assert dossier.solde is not None
        if command_entry(dossier).trigger == "deposer_solde":  # type: ignore[union-attr]
            assert f"en date du {format_date(dossier.solde.date_depot)}" in text
        else:
            assert f"Les compléments apportés le {day}" in text
    elif dossier.status is not Status.AVANCE_EN_INSTRUCTION:
        assert f"le {day}" in text


def test_controler_bloc_sends_nothing_on_either_phase() -> None:
    for status in (Status.AVANCE_EN_INSTRUCTION, Status.SOLDE_EN_INSTRUCTION):
        dossier = examples.dossier_at(status)
        for resultat in Controle:
            outcome = engine.handle(dossier, ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, resultat,
                                                           "{{ numero }}\n<b>"),
                                    now=dossier.date_changement_statut + timedelta(hours=1))
            assert outcome.emails == ()
            assert outcome.dossier.emails_sent == dossier.emails_sent


def test_a_whole_life_records_one_email_per_notification() -> None:
    dossier = examples.dossier_at(Status.SOLDE_DECIDEE)
    assert [r.template for r in dossier.emails_sent] == [
        "accuse_reception_avance", "avance_decidee", "accuse_reception_solde", "solde_decidee"]
    assert [r.at for r in dossier.emails_sent] == [h.at for h in dossier.history if h.trigger != "controler_bloc"]


def test_hostile_comment_from_a_gestionnaire_reaches_the_provider_as_text() -> None:
    dossier = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    comment = "{{ lien_assistance }} {% include '_base.txt' %}\n<img src=x onerror=alert(1)>\r\nMerci."
    outcome = engine.handle(dossier, DemanderPiece(examples.GESTIONNAIRE, PieceKind.PV_VSR, comment),
                            now=dossier.date_changement_statut + timedelta(hours=1))
    (email,) = outcome.emails
    assert comment in email.text
    doc = lxml.html.document_fromstring(email.html)
    assert list(doc.iter("img")) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in email.html
    assert "\r" not in email.subject
    assert "\n" not in email.subject


def test_every_declared_variable_comes_from_the_engine_context() -> None:
    dossier = examples.dossier_at(Status.SOLDE_EN_INSTRUCTION)
    command = DemanderPiece(examples.GESTIONNAIRE, PieceKind.PV_VSR, "Merci.")
    ctx = engine.email_context(dossier, command, examples.T0, SAS)
    dossier_mails = {t.email for t in DOSSIER.transitions if t.email}  # the account's mails: compte.py's context
    declared = set().union(*(t.variables for name, t in TEMPLATES.items() if name in dossier_mails))
    assert declared == ctx.keys()  # and no key that no template uses


def test_every_key_of_the_account_context_is_a_variable_of_an_account_mail() -> None:
    from segur_workflow import compte

    account = compte.handle_compte(None, examples.creer_compte(), now=examples.T0).compte
    ctx = compte.email_context(account, examples.creer_compte(), None)  # type: ignore[arg-type]
    mails = {e for t in compte.COMPTE_BINDING.definition.transitions for e in t.emails}
    assert set().union(*(TEMPLATES[name].variables for name in mails)) == ctx.keys()


def test_a_recipient_that_would_inject_headers_is_refused_before_anything_is_built() -> None:
    # Refused when the provider is built (email-validator: one bare address), so never rendered into a header.
    with pytest.raises(WorkflowError):
        attrs.evolve(examples.FOURNISSEUR, email="contact@le-select.example\r\nBcc: tous@example.org")
