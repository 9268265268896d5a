"""MkDocs hook (mkdocs.yml `hooks:`): ship the mermaid renderer with the site, from tools/node_modules.

The docs are built offline; the `mermaid` package installed for the tests (scripts/setup.d/30-node.sh)
is copied next to the pages so the ```mermaid blocks are drawn in the browser. Absent, the site still
builds and the blocks stay as text.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def on_post_build(config: Any, **_kwargs: Any) -> None:
    root = Path(config["config_file_path"]).parent
    source = root / "tools" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if source.is_file():
        target = Path(config["site_dir"]) / "js" / "mermaid.min.js"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
