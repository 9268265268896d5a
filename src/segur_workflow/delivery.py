"""The outbox relay: what makes every e-mail and integration event leave, at least once.

An edge of the library (network, clock, randomness live here, never in the core):

* :class:`Dispatcher` claims due outbox entries for a lease, hands each to its transport (e-mails)
  or to the host's ``on_event`` (integration events), then settles it: delivered, retried later
  with exponential backoff and jitter, or dead-lettered after ``max_attempts``. Several
  dispatchers (threads, processes, hosts) share one outbox safely: a claim is one atomic statement
  in the database, and only the holder of the current claim may settle an entry.
* :class:`SmtpTransport` sends one message per e-mail entry with the standard library (``smtplib``,
  :class:`email.message.EmailMessage`); its ``Message-ID`` is derived from the entry, so a
  redelivery after a crash carries the same one and the receiving side can deduplicate.

Delivery is at least once: a dispatcher that dies after the SMTP server accepted a message and
before it settled the entry leaves it to be claimed again when the lease ends. See docs/delivery.md.
"""

from __future__ import annotations

import random
import smtplib
import socket
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol, runtime_checkable

import attrs

from ._checks import email_problem
from .engine import Event
from .errors import DeliveryFailed, InvalidInput, WorkflowError
from .ports import Claim, Clock, OutboxRelay, SystemClock

__all__ = [
    "Backoff",
    "DeliveryFailed",
    "DeliveryReport",
    "Dispatcher",
    "SmtpTransport",
    "Transport",
    "message_id",
]


@runtime_checkable
class Transport(Protocol):
    """Sends the e-mail of one claimed outbox entry; raises :class:`DeliveryFailed` (or any error: temporary)."""

    def send(self, claim: Claim) -> None: ...


@attrs.frozen
class DeliveryReport:
    """What one :meth:`Dispatcher.run_once` did: entries delivered, released for a later try, dead-lettered.

    ``lost`` counts entries whose lease ran out before they were settled (another dispatcher may
    have claimed them again: the result was not recorded here, and they may be delivered twice).
    """

    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.dead + self.lost


@attrs.frozen
class Backoff:
    """The wait before try ``n + 1`` after ``n`` failed tries: ``base × 2^(n-1)``, capped, with jitter.

    The jitter draws the wait uniformly in ``[(1 - jitter) × d, d]`` so that dispatchers that failed
    together do not all come back at the same instant.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.5

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.base, timedelta) or self.base <= timedelta(0):
            raise InvalidInput("base", "une durée positive", self.base)
        if not isinstance(self.cap, timedelta) or self.cap < self.base:
            raise InvalidInput("cap", "une durée au moins égale à base", self.cap)
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, int | float) or not 0 <= self.jitter <= 1:
            raise InvalidInput("jitter", "un nombre entre 0 et 1", self.jitter)

    def delay(self, failures: int, draw: float) -> timedelta:
        """The wait after ``failures`` failed tries, given ``draw`` uniform in [0, 1)."""
        exponent = min(max(failures, 1) - 1, 32)  # 2^32 × base is far past any cap
        ceiling: timedelta = min(self.cap, self.base * (2**exponent))
        return ceiling * (1 - self.jitter * draw)


class Dispatcher:
    """Drains a shared outbox: claim → deliver → settle, one batch per :meth:`run_once`.

    ``repository`` is any :class:`~segur_workflow.ports.OutboxRelay` (the three adapters are).
    ``on_event`` receives each integration event at least once (deduplicate on ``event.event_id``);
    a dispatcher without one claims only e-mails and leaves the events to one that has it. An
    exception from ``on_event`` or the transport counts as a temporary failure; a
    :class:`DeliveryFailed` with ``permanent`` sends the entry to the dead letters at once.
    ``backoff`` spaces the retries; ``clock`` and ``rng`` (a ``random.Random``) are there for tests.
    """

    def __init__(self, repository: OutboxRelay, *, transport: Transport, worker_id: str,
                 on_event: Callable[[Event], object] | None = None, lease: timedelta = timedelta(minutes=5),
                 max_attempts: int = 8, backoff: Backoff | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None) -> None:
        for method in ("claim", "mark_delivered", "mark_failed"):
            if not callable(getattr(repository, method, None)):
                raise InvalidInput("repository", "un dépôt avec boîte d'envoi à baux (OutboxRelay)", repository)
        if not callable(getattr(transport, "send", None)):
            raise InvalidInput("transport", "un transport (méthode send)", transport)
        if on_event is not None and not callable(on_event):
            raise InvalidInput("on_event", "une fonction (événement) ou None", on_event)
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise InvalidInput("lease", "une durée (timedelta) positive", lease)
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or not 1 <= max_attempts <= 1000:
            raise InvalidInput("max_attempts", "un entier entre 1 et 1000", max_attempts)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise InvalidInput("backoff", "un Backoff", backoff)
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise InvalidInput("clock", "une horloge (méthode now)", clock)
        if rng is not None and not isinstance(rng, random.Random):
            raise InvalidInput("rng", "un random.Random", rng)
        self.repository = repository
        self.transport = transport
        self.worker_id = worker_id
        self.on_event = on_event
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff if backoff is not None else Backoff()
        self._now: Callable[[], datetime] = (clock or SystemClock()).now
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not secrecy
        # Checked by the first claim too; here so that a bad id fails at construction.
        from .adapters import check_claim

        check_claim(worker_id, self._now(), lease, 1)

    def run_once(self, limit: int = 100) -> DeliveryReport:
        """Claim up to ``limit`` due entries and deliver each; return the counts."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise InvalidInput("limit", "un entier entre 1 et 100000", limit)
        claims = self.repository.claim(self.worker_id, now=self._now(), lease=self.lease, limit=limit,
                                       kinds=("event", "email") if self.on_event is not None else ("email",))
        sent = retried = dead = lost = 0
        for claim in claims:
            outcome = self._deliver(claim)
            if outcome == "sent":
                sent += 1
            elif outcome == "retried":
                retried += 1
            elif outcome == "dead":
                dead += 1
            else:
                lost += 1
        return DeliveryReport(sent, retried, dead, lost)

    def _deliver(self, claim: Claim) -> str:
        if self._now() >= claim.lease_until:
            return "lost"  # another dispatcher may hold it now: do not send it a second time from here
        try:
            if claim.kind == "event":
                assert self.on_event is not None
                assert claim.event is not None
                self.on_event(claim.event)
            else:
                self.transport.send(claim)
        except Exception as exc:
            return self._failed(claim, exc)
        return "sent" if self.repository.mark_delivered(claim, now=self._now()) else "lost"

    def _failed(self, claim: Claim, exc: Exception) -> str:
        now = self._now()
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        reason = exc.message if isinstance(exc, WorkflowError) else f"{type(exc).__name__}: {exc}"
        if permanent or claim.attempt >= self.max_attempts:
            done = self.repository.mark_failed(claim, now=now, error=reason, retry_at=None)
            return "dead" if done else "lost"
        retry_at = now + self.backoff.delay(claim.attempt, self._rng.random())
        done = self.repository.mark_failed(claim, now=now, error=reason, retry_at=retry_at)
        return "retried" if done else "lost"

    def close(self) -> None:
        """Close the transport's connection, if it keeps one."""
        close = getattr(self.transport, "close", None)
        if callable(close):
            close()


# -- SMTP ------------------------------------------------------------------------------------------------
def message_id(claim: Claim, domain: str) -> str:
    """The ``Message-ID`` of an e-mail entry: the same for every delivery of that entry."""
    return f"<segur.{claim.numero}.v{claim.version}.e{claim.id}@{domain}>"


def _reply_failure(code: int, text: object, what: str) -> DeliveryFailed:
    """A 4xx reply is temporary (retried), a 5xx one permanent (dead-lettered)."""
    detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return DeliveryFailed(f"{what} : {code} {detail}".strip(), permanent=500 <= code < 600, smtp_code=code)


class SmtpTransport:
    """SMTP delivery with :mod:`smtplib`: one message per entry, the connection kept between messages.

    ``starttls`` upgrades the connection (with ``ssl_context``, by default the system's verified
    one); ``username``/``password`` log in after it. The ``Message-ID`` domain is the sender's,
    unless ``message_id_domain`` is given (keep it fixed: it is part of the deduplication key).
    ``clock`` (a :class:`~segur_workflow.ports.Clock`, by default the system's) dates the ``Date`` header.
    """

    def __init__(self, host: str, port: int, *, sender: str, starttls: bool = False,
                 username: str | None = None, password: str | None = None, timeout: float = 30.0,
                 ssl_context: ssl.SSLContext | None = None, message_id_domain: str | None = None,
                 clock: Clock | None = None) -> None:
        if not isinstance(host, str) or not host or any(c.isspace() or ord(c) < 32 for c in host):
            raise InvalidInput("host", "un nom d'hôte", host)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise InvalidInput("port", "un port TCP (1 à 65535)", port)
        if not isinstance(sender, str) or email_problem(sender) is not None:
            raise InvalidInput("sender", "une adresse électronique d'expéditeur", sender)
        if not isinstance(starttls, bool):
            raise InvalidInput("starttls", "un booléen", starttls)
        if (username is None) != (password is None):
            raise InvalidInput("username", "un identifiant et un mot de passe ensemble, ou aucun", username)
        if username is not None and (not isinstance(username, str) or not isinstance(password, str)):
            raise InvalidInput("username", "des chaînes de caractères", username)
        if username is not None and not (username.isascii() and str(password).isascii()):
            # smtplib writes AUTH LOGIN/PLAIN in ASCII: anything else would fail at the first message.
            raise InvalidInput("username", "un identifiant et un mot de passe SMTP en caractères ASCII", username)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InvalidInput("timeout", "une durée en secondes > 0", timeout)
        if clock is not None and not callable(getattr(clock, "now", None)):
            raise InvalidInput("clock", "une horloge (méthode now)", clock)
        self._now: Callable[[], datetime] = (clock or SystemClock()).now  # the Date header
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self._password = starttls, username, password
        self.timeout = float(timeout)
        self._ssl_context = ssl_context
        self.domain = message_id_domain if message_id_domain is not None else sender.rpartition("@")[2]
        self._smtp: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never the password
        return f"SmtpTransport({self.host!r}, {self.port}, sender={self.sender!r}, starttls={self.starttls})"

    def message(self, claim: Claim) -> EmailMessage:
        """The message sent for ``claim``: From, To, Date, a stable Message-ID, text and HTML parts."""
        email = claim.email
        if claim.kind != "email" or email is None:
            raise InvalidInput("claim", "une entrée courriel", claim)
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = email.to
        msg["Subject"] = email.subject
        msg["Date"] = format_datetime(self._now())
        msg["Message-ID"] = message_id(claim, self.domain)
        msg["X-Segur-Dossier"] = claim.numero
        msg["X-Segur-Modele"] = email.template
        msg.set_content(email.text, charset="utf-8")
        msg.add_alternative(email.html, subtype="html", charset="utf-8")
        return msg

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.starttls:
                    if not smtp.has_extn("starttls"):
                        # Never in clear when TLS is asked for (a downgrade, or a server set up without it):
                        # retried later like an unreachable server, dead-lettered after max_attempts.
                        raise DeliveryFailed("le serveur n'offre pas STARTTLS alors que TLS est exigé : rien n'a "
                                             "été envoyé en clair")
                    smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                    smtp.ehlo()
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        return self._smtp

    def send(self, claim: Claim) -> None:
        msg = self.message(claim)
        for tries_left in (1, 0):
            try:
                refused = self._connection().send_message(msg)
            except smtplib.SMTPServerDisconnected as exc:
                self.close()
                if not tries_left:  # a kept connection the server dropped: one fresh connection, then give up
                    raise DeliveryFailed(f"connexion interrompue par le serveur ({exc})") from exc
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                code, text = next(iter(exc.recipients.values()))
                raise _reply_failure(code, text, "destinataire refusé") from exc
            except smtplib.SMTPAuthenticationError as exc:
                # The account, not the message, is wrong: retried (and dead-lettered only after max_attempts).
                self.close()
                raise DeliveryFailed(f"authentification refusée : {exc.smtp_code}", smtp_code=exc.smtp_code) from exc
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise _reply_failure(exc.smtp_code, exc.smtp_error, "réponse du serveur") from exc
            except smtplib.SMTPNotSupportedError as exc:
                self._reset()
                raise DeliveryFailed(f"le serveur ne prend pas en charge ce message ({exc})", permanent=True) from exc
            except (OSError, smtplib.SMTPException) as exc:  # refused, unreachable, timeout, TLS…
                self.close()
                raise DeliveryFailed(f"serveur injoignable ({type(exc).__name__}: {exc})") from exc
            if refused:
                code, text = next(iter(refused.values()))
                raise _reply_failure(code, text, "destinataire refusé")
            return

    def _reset(self) -> None:
        """After a refused message: the session is reusable once reset (RSET), else closed."""
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (OSError, smtplib.SMTPException):
                self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def default_worker_id() -> str:
    """``host-pid``: distinct for every dispatcher process of an installation."""
    import os

    name = "".join(c for c in socket.gethostname() if 32 < ord(c) < 127) or "hote"
    return f"{name[:100]}-{os.getpid()}"
