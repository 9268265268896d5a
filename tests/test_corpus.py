"""The committed corpora (tests/corpus/, written by make_corpus.py): every benign file accepted for every
piece, every hostile file refused with a French reason that names what was found; and arbitrary bytes
and names never raise anything but a WorkflowError."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import rules, sniff
from segur_workflow.testing import fichiers

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
BENIGN = sorted(MANIFEST["benign"])
HOSTILE = sorted(MANIFEST["hostile"])


def _attachment(folder: str, file: str) -> sw.Attachment:
    return sw.Attachment.from_bytes(MANIFEST[folder][file]["name"], (CORPUS / folder / file).read_bytes())


@pytest.mark.parametrize("file", BENIGN)
def test_benign_file_accepted_for_every_piece(file: str) -> None:
    att = _attachment("benign", file)
    assert att.marqueurs == () and att.complet, (file, att.marqueurs)
    for kind in sw.PieceKind:
        assert rules.check_attachment(kind, att) == (), file


@pytest.mark.parametrize("file", BENIGN)
def test_benign_file_read_from_disk_is_the_same(file: str) -> None:
    path = CORPUS / "benign" / file
    assert sw.Attachment.from_path(path) == sw.Attachment.from_bytes(path.name, path.read_bytes())


def test_benign_corpus_has_its_producers() -> None:
    producers = {file.rsplit(".", 1)[0].rsplit("-", 1)[1] for file in BENIGN}
    assert producers >= {"reportlab", "pikepdf", "pillow"}
    assert {"pdf-objstm-pikepdf.pdf", "pdf-scan-jpeg-pikepdf.pdf", "pdf-link-reportlab.pdf",
            "png-text-chunks-pillow.png", "jpeg-exif-camera-pillow.jpg"} <= set(BENIGN)
    assert b"/ObjStm" in (CORPUS / "benign" / "pdf-objstm-pikepdf.pdf").read_bytes()
    assert b"/URI" in (CORPUS / "benign" / "pdf-link-reportlab.pdf").read_bytes()


@pytest.mark.parametrize("file", HOSTILE)
def test_hostile_file_refused_saying_what_was_found(file: str) -> None:
    entry = MANIFEST["hostile"][file]
    att = _attachment("hostile", file)
    violations = rules.check_attachment(sw.PieceKind.PV_MISE_EN_SERVICE, att)
    assert violations, file
    by_code = {v.code: v for v in violations}
    if "constat" in entry:
        assert entry["constat"] in att.marqueurs, (file, att.marqueurs)
        message = by_code["piece.contenu_suspect"].message
        phrase = sniff.decrire(entry["constat"])
        # the reason names what was found, in French (a placed finding may stand for a raw one)
        assert phrase in message or entry["constat"] in {"markup", "archive", "executable"}, (file, message)
        assert "«" not in message.split(":", 1)[1].split(".")[0], message  # no raw identifier shown
    else:
        assert entry["code"] in by_code, (file, by_code)


def test_hostile_corpus_covers_every_family() -> None:
    # regenerate with tests/corpus/make_corpus.py after adding a case to testing/fichiers.py
    assert {f.rsplit(".", 1)[0] for f in HOSTILE} == set(fichiers.HOSTILES)


@pytest.mark.parametrize("file", [f for f in HOSTILE if "constat" in MANIFEST["hostile"][f]])
def test_hostile_file_refused_when_streamed(file: str) -> None:
    data = (CORPUS / "hostile" / file).read_bytes()
    name = MANIFEST["hostile"][file]["name"]
    assert sw.Attachment.from_stream(name, io.BytesIO(data)) == sw.Attachment.from_bytes(name, data)


def test_reasons_are_specific() -> None:
    def message(case: str) -> str:
        c = fichiers.hostile(case)
        (v,) = [v for v in rules.check_attachment(sw.PieceKind.PV_VSR, sw.Attachment.from_bytes(c.name, c.data))
                if v.code == "piece.contenu_suspect"]
        return v.message

    assert "le PDF contient du JavaScript" in message("pdf-js-objstm")
    assert "le PDF lance une application" in message("pdf-launch-objstm")
    assert "une archive RAR après la fin du document" in message("pdf-then-rar")
    assert "un programme Linux (ELF) dans un bloc privé de l'image" in message("png-elf-private-chunk")
    assert "du code PHP dans les métadonnées de l'image" in message("jpeg-php-comment")
    assert "le PDF est protégé par un mot de passe" in message("pdf-encrypted")
    assert "un raccourci Windows (LNK) avant le début du document" in message("lnk-then-pdf")


# -- never anything but a WorkflowError ---------------------------------------------------------------
_SAMPLES = [ex.pdf_bytes(), ex.png_bytes(8, 8), ex.jpeg_bytes(16, 16), fichiers.benin("pdf-objstm-pikepdf").data]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A real file with bytes flipped, cut or inserted: what reaches a parser's error paths."""
    data = bytearray(draw(st.sampled_from(_SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(("flip", "cut", "insert")))
        if how == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at: at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        if not data:
            break
    return bytes(data)


_NAMES = st.one_of(st.text(max_size=300), st.sampled_from(["pv.pdf", "pv.png", "pv.jpg"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_NAMES, st.one_of(st.binary(max_size=2048), _mutated()), st.sampled_from(list(sw.PieceKind)))
def test_arbitrary_bytes_and_names_raise_nothing_but_workflow_errors(name: str, data: bytes,
                                                                     kind: sw.PieceKind) -> None:
    try:
        att = sw.Attachment.from_bytes(name, data)
        rules.check_attachment(kind, att)
        assert sw.Attachment.from_stream(name, io.BytesIO(data)) == att
        rules.check_filename(name)
    except sw.WorkflowError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(), st.none(), st.text(max_size=5), st.floats(), st.lists(st.integers(), max_size=3)),
       st.one_of(st.integers(), st.none(), st.text(max_size=5), st.binary(max_size=8)))
def test_wrong_types_are_workflow_errors(data: object, name: object) -> None:
    with pytest.raises(sw.WorkflowError):
        sw.Attachment.from_bytes(name, data)  # type: ignore[arg-type]


def test_memoryview_is_read_in_place_and_huge_data_is_not_inspected() -> None:
    pdf = ex.pdf_bytes()
    assert sw.Attachment.from_bytes("pv.pdf", memoryview(pdf)) == sw.Attachment.from_bytes("pv.pdf", pdf)
    big = bytearray(pdf) + bytearray(8 * 1024 * 1024)
    att = sw.Attachment.from_bytes("pv.pdf", memoryview(big))
    assert att.size == sw.model.DEFAULT_LIMIT + 1 and att.marqueurs == (sniff.TAILLE_DEPASSEE,)
    assert [v.code for v in rules.check_attachment(sw.PieceKind.PV_VSR, att)] == ["piece.trop_grande"]


def test_endless_stream_is_not_read_past_the_limit() -> None:
    class Endless(io.RawIOBase):
        read_total = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            n = 65536 if n is None or n < 0 else n
            Endless.read_total += n
            return b"%PDF-1.4\n" + b"x" * (n - 9) if Endless.read_total == n else b"x" * n

    att = sw.Attachment.from_stream("pv.pdf", Endless(), limit=1000)  # type: ignore[arg-type]
    assert Endless.read_total == 1001
    assert att.size == 1001
    # a smaller limit than the corridor's: never inspected, so never accepted
    assert "piece.trop_grande" in {v.code for v in rules.check_attachment(sw.PieceKind.PV_VSR, att)}


def test_huge_name_is_judged_by_its_length_first() -> None:
    assert [v.code for v in rules.check_filename("..\\" * 20_000_000 + ".pdf")] == ["piece.nom_trop_long"]
