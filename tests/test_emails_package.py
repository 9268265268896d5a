"""The templates as shipped: inside the wheel, loaded from an installed copy; the generated catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from segur_workflow import emails
from segur_workflow.emails import TEMPLATES, catalogue_markdown, example_context, render
from segur_workflow.states import COMPTE, DOSSIER

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_TEMPLATES = ROOT / "src" / "segur_workflow" / "templates"
CATALOGUE = ROOT / "docs" / "generated" / "emails.md"

# Run in a fresh interpreter against an unpacked wheel: render every e-mail, print them as JSON.
_PROBE = """
import json, sys
import segur_workflow, segur_workflow.emails as e
assert segur_workflow.__file__.startswith(sys.argv[1]), segur_workflow.__file__
out = {n: e.render(n, to="contact@le-select.example", context=e.example_context()).text for n in e.TEMPLATES}
print(json.dumps({"file": segur_workflow.__file__, "emails": out}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    (built,) = out.glob("segur_workflow-*.whl")
    return built


def test_every_template_file_is_in_the_wheel_record(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        record_name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        recorded = {line.split(",")[0] for line in zf.read(record_name).decode().splitlines() if line}
    shipped = {f"segur_workflow/templates/{p.name}" for p in PACKAGE_TEMPLATES.iterdir() if p.is_file()}
    assert {f"segur_workflow/templates/{n}.{fmt}" for n in TEMPLATES for fmt in ("txt", "html")} <= shipped
    assert shipped <= recorded


def test_installed_wheel_renders_the_same_emails(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)  # what an installer does with a pure-Python wheel
    env = {**os.environ, "PYTHONPATH": str(site)}
    # Run from an empty directory: nothing of the source tree is reachable but through the editable
    # install's .pth, which comes after PYTHONPATH on sys.path.
    result = subprocess.run([sys.executable, "-c", _PROBE, str(site)], cwd=tmp_path, env=env,
                            check=True, capture_output=True, text=True)
    got = json.loads(result.stdout)
    assert got["file"].startswith(str(site))
    assert got["emails"] == {n: render(n, to="contact@le-select.example", context=example_context()).text
                             for n in TEMPLATES}


def test_committed_catalogue_is_up_to_date() -> None:
    assert CATALOGUE.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/generated/emails.md is stale: regenerate it with "
        "python -c 'from segur_workflow.emails import catalogue_markdown as c; print(c(), end=\"\")' "
        "> docs/generated/emails.md"
    )


def test_catalogue_shows_every_template_its_senders_and_both_bodies() -> None:
    page = catalogue_markdown()
    ctx = example_context()
    for name in TEMPLATES:
        section = page.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        email = render(name, to="contact@le-select.example", context=ctx)
        assert f"- Objet : « {email.subject} »" in section
        assert email.text.rstrip("\n") in section
        assert email.html.rstrip("\n") in section
        for var in TEMPLATES[name].variables:
            assert f"| `{var}` |" in section
        senders = {(src, t.trigger) for d in (DOSSIER, COMPTE) for src, t, _dst in d.edges() if name in t.emails}
        assert senders
        for src, trigger in senders:
            assert f"`{trigger}` ({'création' if src == '__initial__' else f'`{src}`'} → " in section
    assert emails.catalogue_markdown() == page  # deterministic
