"""Rows of the results table, and the page written to docs/benchmarks.md."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

import attrs

MET, MISSED, INFO, PENDING = "met", "**missed**", "—", "pending"


@attrs.frozen
class Row:
    """One line of the table: what was measured, the figure, the target and the verdict.

    ``note`` says what holds a missed target back (with the profile that shows it) or how to read
    the figure; it is printed under the table, numbered from the row.
    """

    case: str
    figure: str
    target: str = ""
    verdict: str = INFO
    note: str = ""

    def to_json(self) -> dict[str, str]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Row:
        return cls(**{k: str(v) for k, v in data.items() if k in {"case", "figure", "target", "verdict", "note"}})


@attrs.frozen
class CaseRun:
    """How one case's run went: its deadline, the seconds it took (None: not run), how it ended."""

    name: str
    deadline: float
    took: float | None
    ended: str  # "ended" | "timed out" | "crashed" | "not run"


def runs_table(runs: Sequence[CaseRun]) -> str:
    """Each case's wall time against its deadline, in the order they ran."""
    lines = ["| case | took | deadline | |", "|---|---|---|---|"]
    for r in runs:
        took = "—" if r.took is None else f"{r.took:.1f} s"
        lines.append(f"| `{r.name}` | {took} | {r.deadline:.0f} s | {r.ended} |")
    spent = sum(r.took or 0.0 for r in runs)
    lines.append(f"| all cases | {spent:.0f} s | {sum(r.deadline for r in runs):.0f} s | |")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return MET if ok else MISSED


def us(seconds: float) -> str:
    """A duration per operation, in microseconds (or milliseconds past 10 ms)."""
    if seconds >= 0.01:
        return f"{seconds * 1e3:,.1f} ms"
    return f"{seconds * 1e6:,.1f} µs"


def times(ratio: float) -> str:
    return f"{ratio:.2f}×"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: Sequence[Row]) -> str:
    lines = ["| case | figure | target | verdict |", "|---|---|---|---|"]
    notes: list[str] = []
    for r in rows:
        verdict = r.verdict
        if r.note:
            notes.append(r.note)
            verdict = f"{verdict} [{len(notes)}]"
        lines.append(f"| {_cell(r.case)} | {_cell(r.figure)} | {_cell(r.target)} | {verdict} |")
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"{i}. {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal: aligned columns, no Markdown."""
    head = ("case", "figure", "target", "verdict")
    body = [(r.case, r.figure, r.target, r.verdict.replace("*", "") + (" [note]" if r.note else "")) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*x) for x in (head, *body)) + "\n"


def machine_line(mode: str, seconds: float, load: tuple[float, float] | None = None) -> str:
    """When and where the run happened; ``load`` is the 1-minute load average at its start and end."""
    import os
    from datetime import UTC, datetime

    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count() or 1
    noisy = ""
    if load is not None:
        noisy = f" Load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the end on {cpus} CPU(s)"
        if max(load) > cpus:
            noisy += (": **a noisy run** (other jobs were running: absolute times are inflated, the ratios "
                      "measured in interleaved rounds are the figures to read)")
        noisy += "."
    return (f"Run: `python -m bench{' --quick' if mode == 'quick' else ''}`, {when}, "
            f"Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}, {cpus} CPU(s), shared with other work; "
            f"took {seconds:.0f} s.{noisy}")


def write_page(path: Path, rows: Sequence[Row], header: str, notes: Sequence[str] = (),
               runs: Sequence[CaseRun] = ()) -> None:
    template = (Path(__file__).with_name("page.md")).read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = " ".join([header, *notes])
    page = template.replace("{{RUN}}", header).replace("{{TABLE}}", table(rows).rstrip("\n"))
    path.write_text(page.replace("{{CASES}}", runs_table(runs) if runs else "(no case ran)"), encoding="utf-8")
