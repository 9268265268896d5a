"""Profiles taken during the run: where a measured operation spends its own time (cProfile).

A case that misses its target explains why in the row's note and shows the profile that says so:
:func:`capture` runs the very operation the row timed under cProfile, :meth:`Profile.summary` gives
the few functions the note names, and :meth:`Profile.table` the table the runner writes on
docs/benchmarks-profiles.md (one section per row, linked from its note). Nothing is edited by hand:
the page and the profiles are written by the run that measured them.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

#: Functions listed in a row's table on the profiles page.
TABLE_ROWS = 15


def _where(filename: str, line: int, func: str) -> str:
    if filename == "~":  # a built-in: cProfile names it "<built-in method …>" or "<method … of … objects>"
        return f"builtin {func}"
    path = Path(filename)
    # an installed library by its place in site-packages, the package and the bench by theirs, the rest by name
    parts = path.parts
    anchors = [i + 1 for i, p in enumerate(parts) if p == "site-packages"]
    anchors += [i for i, p in enumerate(parts) if p in {"segur_workflow", "bench"}]
    name = "/".join(parts[max(anchors):]) if anchors else path.name
    return f"{name}:{line} {func}" if line else f"{name} {func}"


@attrs.frozen
class Entry:
    where: str
    calls: int
    own: float  # seconds in the function itself
    cumulative: float  # seconds in it and what it called


@attrs.frozen
class Profile:
    """The functions of one profiled run, by own time; ``calls`` runs of the operation; ``total`` seconds."""

    entries: tuple[Entry, ...]
    calls: int
    total: float

    def share(self, entry: Entry) -> float:
        return 100 * entry.own / (self.total or 1.0)

    def summary(self, top: int = 6) -> str:
        """The first ``top`` functions by own time, as "`where` share %" items (for a row's note)."""
        return "; ".join(f"`{e.where}` {self.share(e):.0f} %" for e in self.entries[:top])

    def table(self, rows: int = TABLE_ROWS) -> str:
        """A Markdown table of the first ``rows`` functions by own time, per call of the operation."""
        lines = [f"cProfile of {self.calls:,} call(s) of the measured operation, {self.total * 1e3:,.1f} ms of own "
                 "time in all (profiling slows every call alike: read the shares, not the times).", "",
                 "| own time | share | cumulative | calls per operation | function |", "|---:|---:|---:|---:|---|"]
        for e in self.entries[:rows]:
            lines.append(f"| {e.own / self.calls * 1e6:,.1f} µs | {self.share(e):.1f} % | "
                         f"{e.cumulative / self.calls * 1e6:,.1f} µs | {e.calls / self.calls:,.1f} | "
                         f"`{e.where.replace('|', '/')}` |")
        return "\n".join(lines)


def of_stats(raw: Mapping[Any, Any], calls: int) -> Profile:
    """A :class:`Profile` from ``pstats.Stats(...).stats``."""
    entries = sorted((Entry(_where(f, line, func), int(v[1]), float(v[2]), float(v[3]))
                      for (f, line, func), v in raw.items()), key=lambda e: e.own, reverse=True)
    return Profile(tuple(entries), calls, sum(e.own for e in entries))


def capture(op: Callable[[], object], calls: int = 500, *, warm: bool = True) -> Profile:
    """Run ``op`` ``calls`` times under cProfile (after one call outside it, to warm caches, unless ``warm``
    is false: an operation that uses up what it is given)."""
    if warm:
        op()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        op()
    prof.disable()
    return of_stats(pstats.Stats(prof).stats, calls)  # type: ignore[attr-defined]


def top(op: Callable[[], object], calls: int = 500, *, warm: bool = True) -> tuple[str, str]:
    """``(summary, table)`` of ``op``'s profile: the note's words and the profiles page's table."""
    p = capture(op, calls, warm=warm)
    return p.summary(), p.table()
