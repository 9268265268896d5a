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

    ``note`` says what holds a missed target back or how to read the figure; it is printed under the
    table, numbered from the row. ``profile`` is the cProfile table of the measured operation
    (:func:`bench.profiles.top`), written on the profiles page and linked from the note.
    """

    case: str
    figure: str
    target: str = ""
    verdict: str = INFO
    note: str = ""
    profile: str = ""

    def to_json(self) -> dict[str, str]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Row:
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: str(v) for k, v in data.items() if k in names})


@attrs.frozen
class CaseRun:
    """How one case's run went: its deadline, the seconds it took (None: not run), how it ended, the share
    of its work it was asked to do (``scale``), its cost on a quiet machine and why it was not run."""

    name: str
    deadline: float
    took: float | None
    ended: str  # "ended" | "timed out" | "crashed" | "not run"
    scale: float = 1.0
    cost: float | None = None
    why: str = ""


def runs_table(runs: Sequence[CaseRun]) -> str:
    """Each case's wall time against its deadline and its quiet-machine cost, in the order they ran."""
    lines = ["| case | cost (quiet, full scale) | scale | deadline | took | |", "|---|---|---|---|---|---|"]
    for r in runs:
        took = "—" if r.took is None else f"{r.took:.1f} s"
        cost = "—" if r.cost is None else f"{r.cost:.0f} s"
        scale = "—" if r.took is None else ("full" if r.scale >= 1 else f"{100 * r.scale:.0f} %")
        deadline = "—" if r.took is None else f"{r.deadline:.0f} s"
        ended = r.ended + (f": {r.why}" if r.why else "")
        lines.append(f"| `{r.name}` | {cost} | {scale} | {deadline} | {took} | {ended} |")
    spent = sum(r.took or 0.0 for r in runs)
    costs = sum(r.cost or 0.0 for r in runs)
    lines.append(f"| all cases | {costs:.0f} s | | | {spent:.0f} s | |")
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


def profiled(rows: Sequence[Row]) -> list[tuple[int, Row]]:
    """The rows carrying a profile, numbered as their notes are under the table."""
    out, n = [], 0
    for r in rows:
        if r.note or r.profile:
            n += 1
            if r.profile:
                out.append((n, r))
    return out


def table(rows: Sequence[Row], link: str | None = None) -> str:
    """The Markdown table and its numbered notes; a row's profile is linked on page ``link``."""
    lines = ["| case | figure | target | verdict |", "|---|---|---|---|"]
    notes: list[str] = []
    for r in rows:
        verdict = r.verdict
        if r.note or r.profile:
            note = r.note or "Profile of the measured operation."
            if r.profile and link:
                n = len(notes) + 1
                note += f" Profile: [{link}, note {n}]({link}#profile-{n})."
            notes.append(note)
            verdict = f"{verdict} [{len(notes)}]"
        lines.append(f"| {_cell(r.case)} | {_cell(r.figure)} | {_cell(r.target)} | {verdict} |")
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"{i}. {note}" for i, note in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def text_table(rows: Sequence[Row]) -> str:
    """The table for a terminal: aligned columns, no Markdown."""
    head = ("case", "figure", "target", "verdict")
    body = [(r.case, r.figure, r.target, r.verdict.replace("*", "") + (" [note]" if r.note or r.profile else ""))
            for r in rows]
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


def targets(rows: Sequence[Row]) -> str:
    """The run's targets in a few lines: how many met, and each one missed with the note that explains it."""
    judged = [r for r in rows if r.verdict in {MET, MISSED}]
    if not judged:
        return "No row of this run has a target."
    numbers: dict[int, int] = {}
    n = 0
    for i, r in enumerate(rows):
        if r.note or r.profile:
            n += 1
            numbers[i] = n
    missed = [(i, r) for i, r in enumerate(rows) if r.verdict == MISSED]
    met = len(judged) - len(missed)
    lines = [f"**Targets: {met} of {len(judged)} met.**" + (" Missed:" if missed else "")]
    if missed:
        lines.append("")
    for i, r in missed:
        where = f" — note {numbers[i]}" + (", with its profile" if r.profile else "") if i in numbers else ""
        lines.append(f"- {r.case} — {r.figure} (target {r.target}){where}")
    return "\n".join(lines)


def profiles_path(page: Path) -> Path:
    """Where the profiles of a page's rows are written: beside it, ``<page>-profiles.md``."""
    return page.with_name(f"{page.stem}-profiles.md")


#: The page of large measurements (100,000 dossiers), made outside ``make bench``; linked when it exists.
LARGE_PAGE = "benchmarks-large.md"


def profiles_page(rows: Sequence[Row], header: str, page_name: str) -> str:
    lines = ["# Benchmark profiles", "",
             f"Written by the same run as [the benchmarks page]({page_name}), never by hand: for each row whose "
             "note cites a profile, the functions the measured operation spends its own time in (cProfile, "
             "sorted by own time), taken in the case's process right after the row was timed.", "", header, ""]
    found = profiled(rows)
    if not found:
        lines.append("No row of this run carries a profile.")
    for n, r in found:
        lines += [f"## Note {n}: {r.case.replace('|', '/')} {{#profile-{n}}}", "",
                  f"Figure: {r.figure} (target: {r.target or '—'}; {r.verdict}).", "", r.profile.strip(), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_page(path: Path, rows: Sequence[Row], header: str, notes: Sequence[str] = (),
               runs: Sequence[CaseRun] = ()) -> None:
    """The results page and, beside it, the profiles page of its rows."""
    template = (Path(__file__).with_name("page.md")).read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    header = " ".join([header, *notes])
    side = profiles_path(path)
    large = path.with_name(LARGE_PAGE)
    page = (template.replace("{{RUN}}", header).replace("{{TABLE}}", table(rows, side.name).rstrip("\n"))
            .replace("{{TARGETS}}", targets(rows))
            .replace("{{CASES}}", runs_table(runs) if runs else "(no case ran)")
            .replace("{{LARGE}}", f"[{LARGE_PAGE}]({LARGE_PAGE})" if large.exists() else
                     f"`docs/{LARGE_PAGE}` (not written yet in this checkout)"))
    path.write_text(page, encoding="utf-8")
    side.write_text(profiles_page(rows, header, path.name), encoding="utf-8")
