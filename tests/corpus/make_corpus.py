"""Write the committed attachment corpus (run once; the tests read the files, not this script).

    .venv/bin/python tests/corpus/make_corpus.py

Benign files come from independent producers: reportlab (text, a clickable link, an embedded JPEG,
compressed pages), pikepdf/qpdf (object streams, a scanned page), Pillow (PNG text chunks, camera and
scanner EXIF). Hostile files are the cases of ``segur_workflow.testing.fichiers`` (the QA kit's
``hostile_attachments`` draws from the same definitions). ``manifest.json`` gives, for each file, the
name it is uploaded under and what must be found. reportlab is a dev dependency only: the tests never
import it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from segur_workflow.testing import fichiers

HERE = Path(__file__).parent


def _reportlab_pdfs() -> dict[str, tuple[str, bytes]]:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    out: dict[str, tuple[str, bytes]] = {}

    def page(compress: bool, *, link: bool = False, image: bytes | None = None) -> bytes:
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4, pageCompression=1 if compress else 0, invariant=1)
        c.setTitle("Procès-verbal de vérification de service régulier")
        c.setAuthor("LE SELECT")
        c.setFont("Helvetica", 14)
        c.drawString(72, 780, "Procès-verbal de vérification de service régulier (VSR)")
        c.setFont("Helvetica", 11)
        for i, line in enumerate(["Fournisseur : LE SELECT — tndSAS0032", "Dossier : FINSAS009250",
                                  "Mise en service constatée le 23/05/2023.", "Signature : ______________"]):
            c.drawString(72, 740 - 18 * i, line)
        if link:  # an ordinary clickable link: a Link annotation with a URI action, not active content
            c.drawString(72, 640, "Assistance : https://segurnum.asp-public.fr/segurnum/contacter-assistance")
            c.linkURL("https://segurnum.asp-public.fr/segurnum/contacter-assistance", (72, 635, 520, 652))
        if image is not None:
            c.drawImage(ImageReader(io.BytesIO(image)), 72, 200, width=300, height=400)
        c.showPage()
        c.save()
        return buf.getvalue()

    out["pdf-text-reportlab"] = ("pv_vsr.pdf", page(False))
    out["pdf-compressed-reportlab"] = ("pv_vsr_compresse.pdf", page(True))
    out["pdf-link-reportlab"] = ("attestation.pdf", page(True, link=True))
    out["pdf-jpeg-reportlab"] = ("pv_scanne.pdf", page(True, image=fichiers.jpeg_scanner()))
    return out


def main() -> None:
    manifest: dict[str, dict[str, dict[str, str]]] = {"benign": {}, "hostile": {}}
    for folder in ("benign", "hostile"):
        (HERE / folder).mkdir(exist_ok=True)
        for old in (HERE / folder).iterdir():
            old.unlink()
    benign = {case: (c.name, c.data) for case, c in ((k, fichiers.benin(k)) for k in fichiers.BENINS)}
    benign.update(_reportlab_pdfs())
    for case, (name, data) in sorted(benign.items()):
        file = case + "." + name.rsplit(".", 1)[1]
        (HERE / "benign" / file).write_bytes(data)
        manifest["benign"][file] = {"name": name}
    for case in sorted(fichiers.HOSTILES):
        c = fichiers.hostile(case)
        ext = c.name.rsplit(".", 1)[-1] if "." in c.name else "bin"
        file = case + "." + ("bin" if not ext.isalnum() or len(ext) > 4 else ext.lower())
        (HERE / "hostile" / file).write_bytes(c.data)
        entry = {"name": c.name}
        if c.constat:
            entry["constat"] = c.constat
        if c.code:
            entry["code"] = c.code
        manifest["hostile"][file] = entry
    (HERE / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")
    print(f"{len(manifest['benign'])} benign, {len(manifest['hostile'])} hostile files written in {HERE}")


if __name__ == "__main__":
    main()
