"""The optional antivirus port, against a fake clamd speaking the INSTREAM protocol on a Unix socket."""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from pathlib import Path

import pytest

import segur_workflow as sw
from segur_workflow import antivirus, rules
from segur_workflow import examples as ex

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _fake_clamd(path: Path, reply_for: dict[bytes, bytes]) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            command = b""
            while not command.endswith(b"\0"):
                command += conn.recv(1)
            assert command == b"zINSTREAM\0"
            data = b""
            while True:
                (size,) = struct.unpack(">I", conn.recv(4, socket.MSG_WAITALL))
                if size == 0:
                    break
                data += conn.recv(size, socket.MSG_WAITALL)
            conn.sendall(next((r for k, r in reply_for.items() if k in data), b"stream: OK") + b"\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_clean_file_keeps_its_findings(tmp_path: Path) -> None:
    thread = _fake_clamd(tmp_path / "clamd.sock", {})
    scanner = antivirus.ClamdAntivirus(socket_path=str(tmp_path / "clamd.sock"), chunk=100)
    assert isinstance(scanner, antivirus.Antivirus)
    pdf = ex.pdf_bytes()
    att = sw.Attachment.from_bytes("pv.pdf", pdf)
    assert antivirus.with_verdict(att, scanner.analyser(pdf)) == att
    thread.join(5)


def test_threat_is_refused_with_its_signature(tmp_path: Path) -> None:
    thread = _fake_clamd(tmp_path / "clamd.sock", {b"EICAR": b"stream: Win.Test.EICAR_HDB-1 FOUND"})
    scanner = antivirus.ClamdAntivirus(socket_path=str(tmp_path / "clamd.sock"))
    data = ex.pdf_bytes()[:-6] + b"% " + EICAR + b"\n%%EOF\n"
    verdict = scanner.analyser(data)
    assert verdict == antivirus.Verdict(False, "Win.Test.EICAR_HDB-1")
    att = antivirus.with_verdict(sw.Attachment.from_bytes("pv.pdf", data), verdict)
    (v,) = rules.check_attachment(sw.PieceKind.PV_VSR, att)
    assert v.code == "piece.contenu_suspect"
    assert "l'antivirus a détecté « Win.Test.EICAR_HDB-1 »" in v.message
    thread.join(5)


def test_unreachable_daemon_is_a_workflow_error(tmp_path: Path) -> None:
    scanner = antivirus.ClamdAntivirus(socket_path=str(tmp_path / "absent.sock"), timeout=1)
    with pytest.raises(sw.AntivirusIndisponible) as caught:
        scanner.analyser(b"x")
    err = caught.value
    assert err.to_dict()["code"] == "antivirus.indisponible"
    again = pickle.loads(pickle.dumps(err))
    assert (again.antivirus, again.reason, str(again)) == (err.antivirus, err.reason, str(err))


def test_signature_text_is_never_stored_raw() -> None:
    att = sw.Attachment.from_bytes("pv.pdf", ex.pdf_bytes())
    marked = antivirus.with_verdict(att, antivirus.Verdict(False, "<script>x</script>"))
    assert marked.marqueurs == ("antivirus.menace",)
