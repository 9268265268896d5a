"""An optional port for the host's antivirus, and a ClamAV (clamd) adapter.

The inspection of :mod:`.sniff` is a filter for the three formats the portal accepts, not an antivirus:
it knows what a PDF or an image may hold, not the signatures of known malware. A host that runs an
antivirus plugs it here; nothing in the library needs one (the tests do not).

    scanner = ClamdAntivirus(socket_path="/run/clamav/clamd.ctl")
    attachment = Attachment.from_bytes(name, data)
    attachment = with_verdict(attachment, scanner.analyser(data))   # adds an "antivirus.…" finding
    rules.check_attachment(kind, attachment)                        # refused with the signature's name

This module does I/O (a socket): it sits at the edge, like the adapters, never called by the engine.
"""

from __future__ import annotations

import re
import socket
import struct
from typing import Protocol, runtime_checkable

import attrs

from .errors import AntivirusIndisponible
from .model import Attachment

#: A finding's prefix for what an antivirus reported: ``antivirus.<signature>``.
PREFIXE = "antivirus."
_SIGNATURE = re.compile(r"[A-Za-z0-9._:/-]{1,100}")


@attrs.frozen
class Verdict:
    """An antivirus's answer: ``sain`` (clean), else ``menace``, the signature it matched."""

    sain: bool
    menace: str | None = None


@runtime_checkable
class Antivirus(Protocol):
    """What a host's antivirus adapter implements. Raise :class:`~segur_workflow.AntivirusIndisponible`
    when no verdict can be given (never answer "clean" for a scan that did not happen)."""

    def analyser(self, data: bytes) -> Verdict: ...


def with_verdict(attachment: Attachment, verdict: Verdict) -> Attachment:
    """``attachment`` with the antivirus's finding added when it found a threat (unchanged if clean)."""
    if verdict.sain:
        return attachment
    menace = verdict.menace or "menace"
    name = menace if _SIGNATURE.fullmatch(menace) else "menace"  # never store or show arbitrary text
    return attrs.evolve(attachment, marqueurs=tuple(sorted({*attachment.marqueurs, PREFIXE + name})))


class ClamdAntivirus:
    """ClamAV's daemon over its socket (``INSTREAM`` command), Unix socket or TCP.

    ``max_bytes`` must not exceed clamd's ``StreamMaxLength`` (25 Mo by default), beyond which the
    daemon closes the stream with an error (reported as :class:`AntivirusIndisponible`).
    """

    def __init__(self, *, socket_path: str | None = None, host: str = "127.0.0.1", port: int = 3310,
                 timeout: float = 30.0, chunk: int = 64 * 1024) -> None:
        self.socket_path = socket_path
        self.host = host
        self.port = port
        self.timeout = timeout
        self.chunk = chunk

    @property
    def _label(self) -> str:
        return f"clamd {self.socket_path or f'{self.host}:{self.port}'}"

    def _connect(self) -> socket.socket:
        if self.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
            return sock
        return socket.create_connection((self.host, self.port), timeout=self.timeout)

    def analyser(self, data: bytes) -> Verdict:
        try:
            with self._connect() as sock:
                sock.sendall(b"zINSTREAM\0")
                view = memoryview(data)
                for start in range(0, len(view), self.chunk):
                    part = view[start: start + self.chunk]
                    sock.sendall(struct.pack(">I", len(part)) + part)
                sock.sendall(struct.pack(">I", 0))
                reply = b""
                while not reply.endswith(b"\0") and len(reply) < 4096:
                    got = sock.recv(4096)
                    if not got:
                        break
                    reply += got
        except OSError as exc:
            raise AntivirusIndisponible(self._label, f"connexion impossible ({exc.__class__.__name__})") from exc
        text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        # "stream: OK", "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
        if text.endswith(" OK"):
            return Verdict(True)
        if text.endswith(" FOUND"):
            return Verdict(False, text.split(":", 1)[-1].strip()[: -len(" FOUND")].strip())
        raise AntivirusIndisponible(self._label, f"réponse inattendue : {text[:200]!r}")
