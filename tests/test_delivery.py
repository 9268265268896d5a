"""The outbox relay in one process: claims and leases, SMTP messages, retries, dead letters, events.

Every SMTP exchange goes to a real server (aiosmtpd on localhost, started here); the clock and the
jitter are injected so that leases and backoff are exercised without waiting.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.adapters.sqlite import SQLiteRepository
from segur_workflow.delivery import Backoff, DeliveryFailed, Dispatcher, SmtpTransport, message_id
from segur_workflow.ports import Claim, OutboxRelay
from segur_workflow.service import SteppingClock, WorkflowService
from segur_workflow.testing.contract import fournisseur, postgres_dsn
from segur_workflow.testing.smtp import LocalSmtpServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENDER = "ne-pas-repondre@asp-public.example"
G = examples.GESTIONNAIRE


@attrs.define
class FakeClock:
    """A clock the test moves by hand."""

    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


@pytest.fixture(scope="module")
def smtp() -> Iterator[LocalSmtpServer]:
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def server(smtp: LocalSmtpServer) -> Iterator[LocalSmtpServer]:
    """The module's server, answering normally, with what it received so far noted by the test."""
    smtp.reply = None
    smtp.start()
    yield smtp
    smtp.reply = None
    smtp.start()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repository(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryRepository()
    elif request.param == "sqlite":
        with SQLiteRepository(tmp_path / "relay.sqlite3") as repo:
            yield repo
    else:
        import psycopg

        from segur_workflow.adapters.postgres import PostgresRepository

        dsn, schema = postgres_dsn(), f"relay_{uuid.uuid4().hex[:12]}"
        with PostgresRepository(dsn, schema=schema) as repo:
            yield repo
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _fill(repository: Any, count: int, *, start: int = 1) -> None:
    """``count`` dossiers, each with its e-mail and its events in the outbox."""
    for n in range(start, start + count):
        outcome = sw.start(examples.deposer_avance(fournisseur(n)), numero=f"FINSAS{n:06d}", now=T0)
        repository.add(outcome.dossier, outbox=outcome.emails, events=outcome.events)


#: Events one deposit stores: DossierDepose, StatutChange and the portal's own deposit-day controls.
EVENTS = len(sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=T0).events)


def _transport(server: LocalSmtpServer) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, sender=SENDER)


def _dispatcher(repository: OutboxRelay, server: LocalSmtpServer, clock: FakeClock, **kw: Any) -> Dispatcher:
    kw.setdefault("worker_id", "w1")
    return Dispatcher(repository, transport=_transport(server), clock=clock, rng=random.Random(7), **kw)


# -- the message -----------------------------------------------------------------------------------------------
def test_the_message_has_its_headers_both_parts_and_a_stable_message_id(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 1)
    [claim] = repository.claim("w1", now=T0, lease=timedelta(minutes=1), kinds=("email",))
    transport = _transport(server)
    before = len(server.messages())
    transport.send(claim)
    transport.send(claim)  # a redelivery of the same entry
    transport.close()
    got = server.messages()[before:]
    assert len(got) == 2
    first, second = (m.message for m in got)
    assert first["Message-ID"] == second["Message-ID"] == message_id(claim, "asp-public.example")
    assert claim.email is not None
    assert (first["From"], first["To"]) == (SENDER, claim.email.to)
    assert got[0].rcpt_tos == (claim.email.to,)
    assert first["Subject"] == claim.email.subject  # decoded from RFC 2047: accents intact
    assert first["Date"] is not None and first["Date"].datetime.tzinfo is not None
    assert first["X-Segur-Dossier"] == claim.numero
    assert first.get_content_type() == "multipart/alternative"
    text = first.get_body(("plain",))
    html = first.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content() .replace("\r\n", "\n").rstrip("\n") == claim.email.text.rstrip("\n")
    assert html.get_content_charset() == "utf-8"
    assert "<" in html.get_content()


def test_a_subject_with_accents_is_an_encoded_word_on_the_wire(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 1)
    [claim] = repository.claim("w1", now=T0, lease=timedelta(minutes=1), kinds=("email",))
    assert claim.email is not None and not claim.email.subject.isascii()
    raw = _transport(server).message(claim).as_bytes()
    subject_line = next(line for line in raw.split(b"\n") if line.startswith(b"Subject:"))
    assert subject_line.isascii() and b"=?utf-8?" in subject_line.lower()


def test_transport_arguments_are_checked() -> None:
    with pytest.raises(sw.InvalidInput):
        SmtpTransport("localhost", 25, sender="Nom <a@b.example>")
    with pytest.raises(sw.InvalidInput):
        SmtpTransport("localhost", 0, sender=SENDER)
    with pytest.raises(sw.InvalidInput):
        SmtpTransport("localhost", 25, sender=SENDER, username="u")
    with pytest.raises(sw.InvalidInput):
        SmtpTransport("localhost", 25, sender=SENDER, clock="now")  # type: ignore[arg-type]
    assert "secret" not in repr(SmtpTransport("localhost", 25, sender=SENDER, username="u", password="secret"))


# -- claims and leases ---------------------------------------------------------------------------------------------
def test_a_claimed_entry_is_not_claimed_again_until_its_lease_ends(repository: Any) -> None:
    _fill(repository, 3)
    lease = timedelta(minutes=5)
    mine = repository.claim("a", now=T0, lease=lease, kinds=("email",))
    assert [c.attempt for c in mine] == [1, 1, 1]
    assert repository.claim("b", now=T0 + timedelta(minutes=4), lease=lease, kinds=("email",)) == []
    theirs = repository.claim("b", now=T0 + lease, lease=lease, kinds=("email",))
    assert [c.id for c in theirs] == [c.id for c in mine]
    assert [c.attempt for c in theirs] == [2, 2, 2]
    # Only the holder of the current claim may settle it.
    assert repository.mark_delivered(mine[0], now=T0 + lease) is False
    assert repository.mark_failed(mine[1], now=T0 + lease, error="x", retry_at=None) is False
    assert repository.mark_delivered(theirs[0], now=T0 + lease) is True
    assert repository.mark_delivered(theirs[0], now=T0 + lease) is False  # settled once
    assert len(repository.pending_emails()) == 2
    repository.mark_sent(theirs[1].id)  # a claimed entry is its holder's: the plain mark_sent leaves it
    assert len(repository.pending_emails()) == 2


def test_claims_take_events_first_and_respect_the_limit(repository: Any) -> None:
    _fill(repository, 2)  # 2 e-mails, 2 × EVENTS events
    claims = repository.claim("a", now=T0, lease=timedelta(minutes=1), limit=2 * EVENTS + 1)
    assert [c.kind for c in claims] == ["event"] * (2 * EVENTS) + ["email"]
    assert all(c.event is not None and c.event.event_id for c in claims[:2 * EVENTS])
    assert len({c.event.event_id for c in claims[:2 * EVENTS] if c.event}) == 2 * EVENTS


def test_claim_arguments_are_checked(repository: Any) -> None:
    for bad in ({"worker_id": ""}, {"worker_id": "a b"}, {"lease": timedelta(0)}, {"limit": 0},
                {"kinds": ("sms",)}, {"now": datetime(2026, 1, 1)}):
        args: dict[str, Any] = {"worker_id": "w", "now": T0, "lease": timedelta(seconds=1), **bad}
        with pytest.raises(sw.InvalidInput):
            repository.claim(args.pop("worker_id"), **args)


# -- dispatching ------------------------------------------------------------------------------------------------------
def test_everything_is_delivered_once_when_nothing_fails(repository: Any, server: LocalSmtpServer) -> None:
    _fill(repository, 5)
    seen: list[str] = []
    dispatcher = _dispatcher(repository, server, FakeClock(), on_event=lambda e: seen.append(e.event_id))
    report = dispatcher.run_once()
    dispatcher.close()
    assert (report.sent, report.retried, report.dead) == (5 + 5 * EVENTS, 0, 0)
    assert repository.pending_emails() == []
    assert len(seen) == len(set(seen)) == 5 * EVENTS
    assert dispatcher.run_once().claimed == 0


def test_a_dispatcher_without_on_event_leaves_the_events(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 2)
    report = _dispatcher(repository, server, FakeClock()).run_once()
    assert report.sent == 2
    later = repository.claim("other", now=T0, lease=timedelta(minutes=1))
    assert {c.kind for c in later} == {"event"} and len(later) == 2 * EVENTS


def test_a_crashed_dispatchers_entry_is_redelivered_with_the_same_message_id(
        repository: Any, server: LocalSmtpServer) -> None:
    _fill(repository, 1)
    clock = FakeClock()
    [claim] = repository.claim("crashed", now=T0, lease=timedelta(minutes=5), kinds=("email",))
    before = len(server.messages())
    _transport(server).send(claim)  # sent, then the process died before settling it
    assert _dispatcher(repository, server, clock).run_once().claimed == 0  # still leased
    clock.advance(timedelta(minutes=5))
    report = _dispatcher(repository, server, clock, worker_id="rescuer").run_once()
    assert report.sent == 1
    ids = [m.message_id for m in server.messages()[before:]]
    assert ids == [message_id(claim, "asp-public.example")] * 2  # a duplicate, which the receiving side can recognise
    assert repository.pending_emails() == []


def test_a_4xx_reply_is_retried_after_a_backoff(repository: Any, server: LocalSmtpServer) -> None:
    _fill(repository, 1)
    clock = FakeClock()
    dispatcher = _dispatcher(repository, server, clock, backoff=Backoff(base=timedelta(seconds=30), jitter=0.0))
    server.reply = "451 4.3.0 Réessayez plus tard"
    assert dispatcher.run_once().retried == 1
    server.reply = None
    clock.advance(timedelta(seconds=29))
    assert dispatcher.run_once().claimed == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert dispatcher.run_once().sent == 1
    assert repository.pending_emails() == [] and repository.dead_letters() == []


def test_a_5xx_reply_goes_to_the_dead_letters_and_can_be_requeued(repository: Any, server: LocalSmtpServer) -> None:
    _fill(repository, 2)
    clock = FakeClock()
    dispatcher = _dispatcher(repository, server, clock)
    server.reply = "550 5.1.1 Destinataire inconnu"
    report = dispatcher.run_once()
    assert (report.sent, report.retried, report.dead) == (0, 0, 2)
    dead = repository.dead_letters()
    assert [d.kind for d in dead] == ["email", "email"]
    assert all("550" in d.last_error and d.attempts == 1 for d in dead)
    assert repository.pending_emails() == []  # given up: not pending any more, not lost either
    server.reply = None
    assert repository.requeue("email", dead[0].id) is True
    assert repository.requeue("email", dead[0].id) is False  # no longer dead
    assert dispatcher.run_once().sent == 1
    assert [d.id for d in repository.dead_letters()] == [dead[1].id]


def test_smtp_down_is_retried_then_dead_lettered_and_nothing_is_lost(repository: Any, server: LocalSmtpServer) -> None:
    _fill(repository, 3)
    clock = FakeClock()
    dispatcher = _dispatcher(repository, server, clock, max_attempts=3, backoff=Backoff(base=timedelta(seconds=1)))
    server.stop()
    reports = []
    for _ in range(3):
        reports.append(dispatcher.run_once())
        clock.advance(timedelta(minutes=1))
    assert [(r.retried, r.dead) for r in reports] == [(3, 0), (3, 0), (0, 3)]
    dead = repository.dead_letters()
    assert len(dead) == 3 and all(d.attempts == 3 and "injoignable" in d.last_error for d in dead)
    server.start()
    for letter in dead:
        repository.requeue(letter.kind, letter.id)
    assert dispatcher.run_once().sent == 3


def test_an_on_event_failure_is_retried_and_the_event_comes_again(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 1)
    clock = FakeClock()
    calls: list[str] = []

    def flaky(event: sw.Event) -> None:
        calls.append(event.event_id)
        if len(calls) == 1:
            raise RuntimeError("le système de paiement ne répond pas")

    dispatcher = _dispatcher(repository, server, clock, on_event=flaky)
    assert dispatcher.run_once().retried == 1
    clock.advance(timedelta(hours=2))
    assert dispatcher.run_once().sent == 1
    assert calls[0] == calls[EVENTS]  # the same event, with the same id: the host deduplicates on it


def test_a_payment_event_reaches_on_event_with_its_id(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    service = WorkflowService(repository, clock=SteppingClock(T0))
    numero = service.start(examples.deposer_avance(fournisseur(1))).numero
    for bloc in sw.Bloc:
        service.handle(numero, sw.ControlerBloc(G, bloc, sw.Controle.OK))
    decided = service.handle(numero, sw.Decider(G, command_id="decision"))
    paid: list[sw.PaiementDeclenche] = []
    dispatcher = _dispatcher(repository, server, FakeClock(T0 + timedelta(days=1)),
                             on_event=lambda e: paid.append(e) if isinstance(e, sw.PaiementDeclenche) else None)
    dispatcher.run_once(limit=1000)
    assert paid == [e for e in decided.events if isinstance(e, sw.PaiementDeclenche)]


def test_a_lease_that_ran_out_before_delivery_is_not_used(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 1)

    class SlowClock(FakeClock):
        def now(self) -> datetime:  # each reading is 10 minutes later: the lease is gone before the send
            self.advance(timedelta(minutes=10))
            return self.at

    before = len(server.messages())
    report = _dispatcher(repository, server, SlowClock(), lease=timedelta(minutes=5)).run_once()
    assert report.lost == 1 and len(server.messages()) == before


# -- backoff and arguments ---------------------------------------------------------------------------------
def test_backoff_grows_exponentially_is_capped_and_jittered() -> None:
    backoff = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=5), jitter=0.5)
    assert [backoff.delay(n, 0.0) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert backoff.delay(30, 0.0) == timedelta(minutes=5)
    assert backoff.delay(2, 0.999) > timedelta(seconds=10) - timedelta(milliseconds=1)
    assert backoff.delay(2, 0.5) == timedelta(seconds=15)
    with pytest.raises(sw.InvalidInput):
        Backoff(jitter=2)


def test_dispatcher_arguments_are_checked(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    transport = _transport(server)
    for bad in ({"worker_id": ""}, {"lease": timedelta(0)}, {"max_attempts": 0}, {"max_attempts": True},
                {"on_event": "print"}):
        args: dict[str, Any] = {"worker_id": "w", **bad}
        with pytest.raises(sw.InvalidInput):
            Dispatcher(repository, transport=transport, **args)
    with pytest.raises(sw.InvalidInput):
        Dispatcher(object(), transport=transport, worker_id="w")  # type: ignore[arg-type]
    with pytest.raises(sw.InvalidInput):
        Dispatcher(repository, transport=transport, worker_id="w").run_once(limit=0)


def test_delivery_failed_is_structured() -> None:
    import pickle

    error = DeliveryFailed("550 inconnu", permanent=True, smtp_code=550)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.permanent, copy.smtp_code, copy.to_dict()["code"]) == (True, 550, "livraison.echec")


def test_a_refused_recipient_does_not_spoil_the_connection(server: LocalSmtpServer) -> None:
    repository = InMemoryRepository()
    _fill(repository, 2)
    claims: list[Claim] = repository.claim("w", now=T0, lease=timedelta(minutes=1), kinds=("email",))
    transport = _transport(server)
    server.reply = "550 5.1.1 Inconnu"
    with pytest.raises(DeliveryFailed) as info:
        transport.send(claims[0])
    assert info.value.permanent and info.value.smtp_code == 550
    server.reply = None
    before = len(server.messages())
    transport.send(claims[1])  # same kept connection, after RSET
    transport.close()
    assert len(server.messages()) == before + 1


def test_the_date_header_comes_from_the_transports_clock() -> None:
    # no clock read behind the host's back: a host (or a test) that steps time sees it in the message
    repository = InMemoryRepository()
    _fill(repository, 1)
    [claim] = repository.claim("w1", now=T0, lease=timedelta(minutes=1), kinds=("email",))
    message = SmtpTransport("localhost", 25, sender=SENDER, clock=SteppingClock(T0)).message(claim)
    assert message["Date"].datetime == T0
