"""Interleaved timing on a shared, noisy machine.

Contenders of one comparison are timed in rounds: each round times a batch of every contender
back to back (in a rotating order), so a burst of load from another process hits all of them
alike. A ratio is taken *within* each round, and the median of those per-round ratios is reported,
with the median time per operation of each contender.

Work that only computes is timed on the process's CPU clock (``time.process_time``): on a machine
shared with other jobs, the wall clock also counts the time the scheduler gave to someone else.
Work that waits (a disk flush, a database round trip, other processes) is timed on the wall clock.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping

import attrs

Op = Callable[[], object]


#: The clocks a comparison may use: CPU time of this process, or elapsed time.
CLOCKS: Mapping[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


@attrs.frozen
class Settings:
    rounds: int = 11
    batch_seconds: float = 0.010  # target duration of one batch (calibrated per contender)

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=3, batch_seconds=0.002)

    @classmethod
    def scaled(cls, scale: float) -> Settings:
        """A full run's rounds at ``scale`` (bench/plan.py): shorter batches first, then fewer rounds (never
        fewer than 7: the median of fewer per-round ratios follows one noisy round)."""
        s = min(1.0, max(0.0, scale))
        return cls(rounds=11 if s >= 0.5 else 9 if s >= 0.35 else 7, batch_seconds=max(0.003, 0.010 * s))


@attrs.frozen
class Timings:
    """Per-operation times (seconds) of each contender, one per round, in round order."""

    per_op: Mapping[str, tuple[float, ...]]

    def median(self, name: str) -> float:
        return statistics.median(self.per_op[name])

    def ratio(self, name: str, reference: str) -> float:
        """Median over rounds of time(name) / time(reference) measured in the same round."""
        return statistics.median(a / b for a, b in zip(self.per_op[name], self.per_op[reference], strict=True))

    def spread(self, name: str) -> float:
        """Relative spread (interquartile range / median), to show how noisy a figure was."""
        values = sorted(self.per_op[name])
        if len(values) < 4:
            return 0.0
        q = statistics.quantiles(values, n=4)
        return (q[2] - q[0]) / statistics.median(values)


def _batch(op: Op, n: int, clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    for _ in range(n):
        op()
    return clock() - start


def calibrate(op: Op, seconds: float, clock: Callable[[], float] = time.perf_counter) -> int:
    """How many calls of ``op`` take about ``seconds`` (at least one)."""
    op()  # warm caches (templates, imports) outside the measure
    n = 1
    while True:
        took = _batch(op, n, clock)
        if took >= seconds / 4 or n >= 1_000_000:
            return max(1, int(n * seconds / max(took, 1e-9)))
        n *= 4


def compare(contenders: Mapping[str, Op], settings: Settings, *, clock: str = "cpu") -> Timings:
    """Time every contender in interleaved rounds; return per-op times per round.

    ``clock`` is ``"cpu"`` for work that only computes, ``"wall"`` for work that waits (see above).
    """
    tick = CLOCKS[clock]
    names: list[str] = list(contenders)
    sizes = {name: calibrate(contenders[name], settings.batch_seconds, tick) for name in names}
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(settings.rounds):
        gc.collect()
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            results[name].append(_batch(contenders[name], sizes[name], tick) / sizes[name])
    return Timings({name: tuple(v) for name, v in results.items()})
