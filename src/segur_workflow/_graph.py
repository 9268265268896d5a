"""Breadth-first search, written once: the definitions' checks, the e-mail templates' includes and the QA
kit's paths walk their graphs with it."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

__all__ = ["breadth_first", "reachable", "walk_to"]

N = TypeVar("N", bound=Hashable)
L = TypeVar("L")


def breadth_first(start: N, links: Callable[[N], Iterable[tuple[L, N]]]) -> dict[N, tuple[N, L] | None]:
    """Every node reachable from ``start`` (``start`` included), in the order a breadth-first search meets
    them, each with how it was first reached: ``(node before, link followed)``, ``None`` for ``start``.

    ``links(node)`` gives the ``(link, next node)`` pairs leaving ``node``; their order breaks ties, so
    following the links back from a node (:func:`walk_to`) gives the first of its shortest walks.
    """
    tree: dict[N, tuple[N, L] | None] = {start: None}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for link, there in links(here):
            if there not in tree:
                tree[there] = (here, link)
                todo.append(there)
    return tree


def walk_to(tree: dict[N, tuple[N, L] | None], node: N) -> list[L]:
    """The links from the start of ``tree`` (:func:`breadth_first`) to ``node``, in order."""
    out: list[L] = []
    while (step := tree[node]) is not None:
        node, link = step
        out.append(link)
    return out[::-1]


def reachable(start: N, successors: Callable[[N], Iterable[N]]) -> set[N]:
    """``start`` and every node reachable from it through ``successors``."""
    return set(breadth_first(start, lambda node: ((None, nxt) for nxt in successors(node))))
