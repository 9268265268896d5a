"""SmtpTransport with STARTTLS and AUTH against a real SMTP server that speaks TLS (aiosmtpd on localhost).

The certificates are made for the test by a throw-away certificate authority (trustme): the client
trusts that authority only, as a host trusts its relay's. Checked: a message goes over TLS, after
AUTH LOGIN or AUTH PLAIN; a wrong password, an untrusted certificate and a server that offers no
STARTTLS are each refused before anything is sent (never in clear), and the Dispatcher retries them.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import segur_workflow as sw
from segur_workflow import examples
from segur_workflow.adapters.memory import InMemoryRepository
from segur_workflow.delivery import DeliveryFailed, Dispatcher, SmtpTransport
from segur_workflow.ports import Claim
from segur_workflow.testing.contract import fournisseur
from segur_workflow.testing.smtp import LocalSmtpServer

if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    import trustme  # under CI the dev dependency must be there: fail, never skip
else:
    trustme = pytest.importorskip("trustme", reason="trustme (dépendance de développement) absent : "
                                  "pip install -e '.[dev]'")

SENDER = "ne-pas-repondre@asp-public.example"
LOGIN, PASSWORD = "relais-segur", "mot de passe, 20 car."
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def authority() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(authority: Any) -> Any:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def tls_server(server_context: Any, request: pytest.FixtureRequest) -> Iterator[LocalSmtpServer]:
    mechanisms = getattr(request, "param", ("LOGIN", "PLAIN"))
    with LocalSmtpServer("127.0.0.1", tls_context=server_context, credentials={LOGIN: PASSWORD},
                         auth_mechanisms=mechanisms) as server:
        yield server


class _Clock:
    at = T0

    def now(self) -> datetime:
        return self.at


def _claim(n: int = 1) -> Claim:
    email = sw.Email(template="accuse_reception_avance", to=f"contact{n}@fournisseur.example",
                     subject="Accusé de réception de votre demande d'avance — éàç", text="Bonjour,\n",
                     html="<p>Bonjour,</p>")
    return Claim(kind="email", id=n, numero=f"FINSAS{n:06d}", version=1, worker_id="w", attempt=1,
                 lease_until=T0 + timedelta(minutes=5), email=email)


def _transport(server: LocalSmtpServer, authority: Any, **options: Any) -> SmtpTransport:
    settings: dict[str, Any] = {"starttls": True, "username": LOGIN, "password": PASSWORD}
    if authority is not None:  # the host trusts the test authority, and only it
        import ssl

        settings["ssl_context"] = ssl.create_default_context(cafile=None)
        settings["ssl_context"].load_verify_locations(cadata=authority.cert_pem.bytes().decode("ascii"))
    settings.update(options)
    return SmtpTransport("localhost", server.port, sender=SENDER, **settings)


@pytest.mark.parametrize("tls_server", [("LOGIN",), ("PLAIN",)], indirect=True, ids=["login", "plain"])
def test_a_message_goes_over_starttls_after_auth(tls_server: LocalSmtpServer, authority: Any) -> None:
    transport = _transport(tls_server, authority)
    try:
        transport.send(_claim(1))
        transport.send(_claim(2))  # the same session, still encrypted and authenticated
    finally:
        transport.close()
    received = tls_server.messages()
    assert [(m.tls, m.login) for m in received] == [(True, LOGIN), (True, LOGIN)]
    assert [m.rcpt_tos for m in received] == [("contact1@fournisseur.example",), ("contact2@fournisseur.example",)]
    assert received[0].subject.endswith("éàç")


def test_the_server_refuses_mail_without_tls_and_auth(tls_server: LocalSmtpServer) -> None:
    """What the transport's options are for: this server takes nothing in clear or anonymously."""
    with smtplib.SMTP("127.0.0.1", tls_server.port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")  # AUTH only offered after STARTTLS
        code, _ = smtp.mail(SENDER)
        assert code == 530
    transport = SmtpTransport("localhost", tls_server.port, sender=SENDER)  # neither STARTTLS nor login
    with pytest.raises(DeliveryFailed):
        transport.send(_claim())
    transport.close()
    assert tls_server.messages() == []


def test_a_wrong_password_is_refused_and_nothing_is_sent(tls_server: LocalSmtpServer, authority: Any) -> None:
    transport = _transport(tls_server, authority, password="pas le bon")
    with pytest.raises(DeliveryFailed) as info:
        transport.send(_claim())
    transport.close()
    assert info.value.smtp_code == 535 and not info.value.permanent  # the account, not the message: retried
    assert tls_server.messages() == []


def test_a_certificate_the_host_does_not_trust_is_refused(tls_server: LocalSmtpServer) -> None:
    # The system's authorities (the default context) do not know the test authority: the TLS check fails.
    transport = _transport(tls_server, None, ssl_context=None)
    with pytest.raises(DeliveryFailed) as info:
        transport.send(_claim())
    transport.close()
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.reason or "certificate" in info.value.reason.lower()
    assert tls_server.messages() == []


def test_a_server_without_starttls_is_refused_when_tls_is_required(authority: Any) -> None:
    with LocalSmtpServer("127.0.0.1") as plain:  # no TLS offered at all (or stripped on the way)
        transport = _transport(plain, authority)
        with pytest.raises(DeliveryFailed) as info:
            transport.send(_claim())
        transport.close()
        assert "STARTTLS" in info.value.reason and not info.value.permanent
        assert plain.messages() == []  # nothing in clear, not even the envelope


def test_the_dispatcher_retries_a_server_without_starttls_then_delivers_over_tls(
        authority: Any, server_context: Any) -> None:
    """The refusal is a delivery failure like an outage: retried with backoff, nothing lost, sent once TLS is there."""
    from segur_workflow.testing.smtp import free_port

    port = free_port()
    repository = InMemoryRepository()
    outcome = sw.start(examples.deposer_avance(fournisseur(1)), numero="FINSAS000001", now=T0)
    repository.add(outcome.dossier, outbox=outcome.emails, events=())
    clock = _Clock()
    with LocalSmtpServer("127.0.0.1", port) as plain:
        dispatcher = Dispatcher(repository, transport=_transport(plain, authority), worker_id="w1",
                                clock=clock)
        first = dispatcher.run_once()
        assert (first.sent, first.retried, first.dead) == (0, len(outcome.emails), 0)
        assert plain.messages() == []
    with LocalSmtpServer("127.0.0.1", port, tls_context=server_context, credentials={LOGIN: PASSWORD}) as secure:
        clock.at = T0 + timedelta(hours=1)  # past the backoff
        dispatcher = Dispatcher(repository, transport=_transport(secure, authority), worker_id="w1",
                                clock=clock)
        second = dispatcher.run_once()
        assert (second.sent, second.retried, second.dead) == (len(outcome.emails), 0, 0)
        assert [(m.tls, m.login) for m in secure.messages()] == [(True, LOGIN)] * len(outcome.emails)
    assert repository.pending_emails() == []


def test_credentials_smtplib_cannot_send_are_refused_when_the_transport_is_built() -> None:
    with pytest.raises(sw.InvalidInput):
        SmtpTransport("localhost", 25, sender=SENDER, starttls=True, username=LOGIN, password="mot de passe à")
