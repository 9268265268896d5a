"""How a full run fits its budget: each case's share of the work and its deadline, decided case by case.

Every case declares its **cost**: the wall seconds it takes at full scale on the project's 2-core
machine when that machine is quiet. Before each case the planner knows the time left, how much the
machine is slowing the run down (the *slowdown*: first guessed from a short busy loop's wall time over
its CPU time, then measured on the cases already run), and the costs of the cases still to run. It gives the case:

* a **scale** (at most 1): the share of its rounds, sizes and examples the case does (a case reads
  it as ``cfg.scale``; :class:`bench.cases.Config` applies it to every size of the runner's own
  cases). The same scale is given to every case still to run, so that they all fit the time left
  with a margin; it never goes below :data:`MIN_SCALE` (fewer rounds would only measure noise);
* a **deadline**: :data:`MARGIN` times what the case should take at that scale and slowdown, or more
  (up to :data:`GENEROUS` times) when the cases after it leave the time unused;
* or a **refusal**, when even its least scale would not fit the time left: the case is not run and
  the page says so (the cases are ordered so that the least informative, longest ones come last).

A case that does not read ``cfg.scale`` (a case file of another part that does not declare
``SCALES``) is planned at its full cost. Nothing here measures anything: it only divides time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

#: A deadline is this many times what the case is expected to take.
MARGIN = 1.5
#: The least share of its work a case is asked to do.
MIN_SCALE = 0.25
#: Seconds of a case's cost that do not shrink with its scale (its process, its imports), quiet machine.
FIXED = 1.5
#: Weight (seconds of cost) of the first guess against what the finished cases measured.
PRIOR_WEIGHT = 10.0
#: The slowdown is kept within these bounds: never below 1 (a case running faster than its cost on a quiet
#: spell must not shrink the deadlines of the next ones, whose own spells may be busier).
SLOWDOWN_BOUNDS = (1.0, 12.0)
#: At most this many times what it is expected to take, a case may run on into the time the cases after it
#: do not need at their planned scale (its deadline is never below :data:`MARGIN` times it).
GENEROUS = 3.0


def load_slowdown(load: float, cpus: int) -> float:
    """The slowdown a load average predicts for CPU-bound work, our process sharing the CPUs with ``load`` others:
    an upper bound (waiting and niced jobs count too), what a ``--quick`` run stretches its deadlines by."""
    return min(SLOWDOWN_BOUNDS[1], max(1.0, (load + 1.0) / max(cpus, 1)))


@attrs.frozen
class Need:
    """What the planner knows of one case: its cost (quiet machine, scale 1), whether it scales, and the part
    of its cost that does not."""

    cost: float
    scalable: bool = True
    fixed: float = FIXED  # the part of the cost that does not shrink with the scale

    def expected(self, scale: float, slowdown: float) -> float:
        """Wall seconds the case should take at ``scale`` on a machine ``slowdown`` times slower than quiet."""
        if not self.scalable:
            return self.cost * slowdown
        fixed = min(self.fixed, self.cost)
        return (fixed + (self.cost - fixed) * scale) * slowdown


@attrs.frozen
class Slot:
    """The planner's answer for one case."""

    scale: float
    deadline: float
    slowdown: float
    refused: str | None = None  # why the case is not run


@attrs.define
class Planner:
    """Divides the time left among the cases still to run, in their order."""

    needs: Mapping[str, Need]
    order: Sequence[str]
    prior: float  # the slowdown guessed before any case ran
    _took: float = 0.0  # wall seconds the finished cases took
    _planned: float = 0.0  # what they would have taken on a quiet machine at their scale

    @property
    def slowdown(self) -> float:
        guess = (self.prior * PRIOR_WEIGHT + self._took) / (PRIOR_WEIGHT + self._planned)
        return min(SLOWDOWN_BOUNDS[1], max(SLOWDOWN_BOUNDS[0], guess))

    def slot(self, name: str, left: float) -> Slot:
        """Scale and deadline of case ``name`` (the next to run) with ``left`` seconds of budget left."""
        k = self.slowdown
        rest = [self.needs[n] for n in self.order[list(self.order).index(name):]]
        need = self.needs[name]
        fixed = sum(n.expected(0.0, k) for n in rest)
        variable = sum(n.expected(1.0, k) for n in rest) - fixed
        room = left / MARGIN - fixed
        scale = 1.0 if variable <= 0 else min(1.0, max(MIN_SCALE, room / variable))
        if not need.scalable:
            scale = 1.0
        least = need.expected(MIN_SCALE if need.scalable else 1.0, k)
        if least > left:
            return Slot(scale, 0.0, k, refused=(f"about {least:.0f} s needed at its least scale, {left:.0f} s left "
                                                "of the run's budget"))
        expected = need.expected(scale, k)
        later = sum(n.expected(scale if n.scalable else 1.0, k) for n in rest[1:])
        deadline = max(MARGIN * expected, min(left - later, GENEROUS * expected))
        return Slot(scale, min(left, deadline), k)

    def done(self, name: str, slot: Slot, took: float) -> None:
        """Record what case ``name`` took: the slowdown of the cases after it is measured on it."""
        self._took += took
        self._planned += self.needs[name].expected(slot.scale, 1.0)
