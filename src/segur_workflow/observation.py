"""What the engines let a coverage tool see: each transition fired, each rule's outcome.

The engines report to the :class:`Observer` installed for the current context, if any (a
:class:`contextvars.ContextVar`, not a module global: nothing here is shared between contexts, and
installing one is always undone). With none installed — the normal case — a report costs one
context-variable lookup. The pytest plugin's ``--segur-coverage`` installs one for the test session;
see docs/qa.md.

A host that runs a machine of its own through an engine of its own reports with
:func:`transition` and :func:`violations` too, and its rules through :func:`segur_workflow.rules.run`.

Contexts follow Python's rules: a thread started with ``threading.Thread`` begins with an empty
context (Python < 3.14), so what it fires is seen only when it runs in a copy of the installer's
context (``contextvars.copy_context().run``); asyncio tasks copy the context by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Protocol, TypeVar

from .states import INITIAL

if TYPE_CHECKING:
    from .errors import Violation
    from .states import MachineDefinition

__all__ = ["INITIAL", "Edge", "Observer", "current", "install", "observing", "transition", "uninstall", "violations"]

#: An edge as coverage counts it: (source state or :data:`INITIAL`, trigger, target state).
Edge = tuple[str, str, str]


class Observer(Protocol):
    """What an observer is told. Every method must be cheap and must not raise."""

    def transition(self, definition: MachineDefinition, edge: Edge, previous: Edge | None, subject: str) -> None:
        """``edge`` was fired on ``subject`` (a dossier's numero…); ``previous``: the subject's
        transition just before it (from its history), ``None`` for a creation."""

    def rule(self, rule: str, codes: tuple[str, ...]) -> None:
        """Guard rule ``rule`` was run on a command: ``codes`` of its violations, ``()`` when it passed."""

    def violations(self, definition: MachineDefinition, trigger: str, codes: tuple[str, ...]) -> None:
        """A command of ``trigger`` was refused with these violation codes (the rules' and the engine's own)."""


class _Entry(Protocol):
    @property
    def source(self) -> str | None: ...

    @property
    def trigger(self) -> str: ...

    @property
    def dest(self) -> str: ...


_CURRENT: ContextVar[Observer | None] = ContextVar("segur_workflow.observer", default=None)


def current() -> Observer | None:
    """The observer installed for this context, if any."""
    return _CURRENT.get()


def install(observer: Observer | None) -> Token[Observer | None]:
    """Install ``observer`` for this context; give the token to :func:`uninstall` to put the previous back."""
    return _CURRENT.set(observer)


def uninstall(token: Token[Observer | None]) -> None:
    _CURRENT.reset(token)


_O = TypeVar("_O", bound=Observer)


@contextmanager
def observing(observer: _O) -> Iterator[_O]:
    """``with observing(obs):`` — the engines report to ``obs`` inside the block."""
    token = install(observer)
    try:
        yield observer
    finally:
        uninstall(token)


def _edge(entry: _Entry) -> Edge:
    return (INITIAL if entry.source is None else str(entry.source), entry.trigger, str(entry.dest))


def transition(definition: MachineDefinition, *, subject: str, source: str | None, trigger: str, target: str,
               history: Sequence[_Entry] = ()) -> None:
    """Report an accepted command: ``trigger`` took ``subject`` from ``source`` (``None``: creation) to
    ``target``; ``history`` is the subject's history *before* it (its last entry is the previous transition)."""
    observer = _CURRENT.get()
    if observer is None:
        return
    edge = (INITIAL if source is None else str(source), trigger, str(target))
    observer.transition(definition, edge, _edge(history[-1]) if history else None, subject)


def violations(definition: MachineDefinition, trigger: str, found: Iterable[Violation]) -> None:
    """Report a command of ``trigger`` refused for ``found`` (called just before ``RuleViolations`` is raised)."""
    observer = _CURRENT.get()
    if observer is not None:
        observer.violations(definition, trigger, tuple(dict.fromkeys(v.code for v in found)))
