"""Rows of the results table, and the page written to docs/benchmarks.md."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

import attrs

MET, MISSED, INFO, PENDING = "met", "**missed**", "—", "pending"


@attrs.frozen
class Row:
    """One line of the table: what was measured, the figure, the target and the verdict."""

    case: str
    figure: str
    target: str = ""
    verdict: str = INFO


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


def us(seconds: float) -> str:
    """A duration per operation, in microseconds (or milliseconds past 10 ms)."""
    if seconds >= 0.01:
        return f"{seconds * 1e3:,.1f} ms"
    return f"{seconds * 1e6:,.1f} µs"


def times(ratio: float) -> str:
    return f"{ratio:.2f}×"


def table(rows: Sequence[Row]) -> str:
    lines = ["| case | figure | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {r.case} | {r.figure} | {r.target} | {r.verdict} |" for r in rows]
    return "\n".join(lines) + "\n"


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal: aligned columns, no Markdown."""
    head = ("case", "figure", "target", "verdict")
    body = [(r.case, r.figure, r.target, r.verdict.replace("*", "")) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*x) for x in (head, *body)) + "\n"


def machine_line(mode: str, seconds: float) -> str:
    import os
    from datetime import UTC, datetime

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Run: `python -m bench{' --quick' if mode == 'quick' else ''}`, {when}, "
            f"Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s), shared with other work; "
            f"took {seconds:.0f} s.")


def write_page(path: Path, rows: Sequence[Row], header: str) -> None:
    template = (Path(__file__).with_name("page.md")).read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(template.replace("{{RUN}}", header).replace("{{TABLE}}", table(rows).rstrip("\n")),
                    encoding="utf-8")
