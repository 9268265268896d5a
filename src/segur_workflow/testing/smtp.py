"""A real SMTP server on localhost that records what it receives (aiosmtpd), for tests, demos and benchmarks.

``pip install 'segur-workflow[smtp]'`` (aiosmtpd). The server runs in a thread of the calling
process; dispatchers in other processes reach it over TCP like any SMTP server::

    with LocalSmtpServer() as server:
        transport = SmtpTransport(server.host, server.port, sender="noreply@asp.example")
        ...
        for message in server.messages():
            print(message.message_id, message.subject)

``reply`` makes it answer every recipient with a given SMTP reply (``"451 4.3.0 Réessayez"``, ``"550 5.1.1
Inconnu"``) to play a failing server; :meth:`stop` then :meth:`start` plays an outage.

``tls_context`` (a server-side ``ssl.SSLContext``) offers STARTTLS, and then requires it before any
mail; ``credentials`` (login → password) offers AUTH (LOGIN and PLAIN, only over TLS when a context
is given) and requires it. Each received message records whether it came over TLS and under which login.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterable, Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Self

import attrs

__all__ = ["LocalSmtpServer", "ReceivedMessage", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@attrs.frozen
class ReceivedMessage:
    """One message as the server took it: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    #: the session had been upgraded by STARTTLS
    tls: bool = False
    #: the login the session authenticated with (AUTH), if any
    login: str | None = None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


class _Recorder:
    """The aiosmtpd handler: refuses recipients when told to, keeps every accepted message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[ReceivedMessage] = []
        self.reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        reply = self.reply
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8")
        auth = getattr(session, "auth_data", None)
        login = getattr(auth, "login", None)
        with self.lock:
            self.received.append(ReceivedMessage(
                str(envelope.mail_from), tuple(envelope.rcpt_tos), raw, tls=getattr(session, "ssl", None) is not None,
                login=login.decode("utf-8", "replace") if isinstance(login, bytes) else None))
        return "250 2.0.0 Message accepted"


def _authenticator(credentials: Mapping[str, str]) -> Any:
    """An aiosmtpd authenticator accepting exactly ``credentials`` (LOGIN and PLAIN)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        expected = credentials.get(login)
        ok = expected is not None and auth_data.password == expected.encode("utf-8")
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


class LocalSmtpServer:
    """aiosmtpd's threaded ``Controller`` on ``host:port`` (a free port by default), recording messages."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, *,
                 tls_context: ssl.SSLContext | None = None, credentials: Mapping[str, str] | None = None,
                 auth_mechanisms: Iterable[str] = ("LOGIN", "PLAIN")) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError as exc:  # pragma: no cover - exercised only without the extra
            raise ImportError("LocalSmtpServer a besoin d'aiosmtpd : pip install 'segur-workflow[smtp]'") from exc
        self.host = host
        self.port = port if port is not None else free_port(host)
        self._recorder = _Recorder()
        self._controller_class = Controller
        self._controller: Any = None
        self._security: dict[str, Any] = {}
        if tls_context is not None:
            self._security.update(tls_context=tls_context, require_starttls=True)
        if credentials is not None:
            offered = {m.upper() for m in auth_mechanisms}
            self._security.update(authenticator=_authenticator(dict(credentials)), auth_required=True,
                                  auth_require_tls=tls_context is not None,
                                  auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in offered])

    @property
    def reply(self) -> str | None:
        return self._recorder.reply

    @reply.setter
    def reply(self, value: str | None) -> None:
        self._recorder.reply = value

    def start(self) -> Self:
        if self._controller is None:
            # SMTPUTF8 on, as on most servers today; the limit is generous for HTML e-mails.
            self._controller = self._controller_class(self._recorder, hostname=self.host, port=self.port,
                                                      enable_SMTPUTF8=True, data_size_limit=10 * 2**20,
                                                      **self._security)
            self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[ReceivedMessage]:
        """Every message received so far, in arrival order."""
        with self._recorder.lock:
            return list(self._recorder.received)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
