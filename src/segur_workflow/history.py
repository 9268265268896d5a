"""Tamper-evident history: each entry's SHA-256 covers its canonical form and the previous hash."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from json.encoder import encode_basestring as _json_str  # the JSON string encoder, no ASCII escaping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

__all__ = [
    "GENESIS",
    "History",
    "append",
    "canonical",
    "chain_hash",
    "command_entry",
    "extended",
    "extends",
    "history_problems",
    "is_automatic",
    "link",
    "seal",
    "verify_history",
]

if TYPE_CHECKING:
    from .model import Dossier, HistoryEntry

#: The hash the first entry chains to.
GENESIS = "0" * 64
#: What an entry without details carries (read-only, as every entry's details).
_NO_DETAILS: Mapping[str, str] = MappingProxyType({})

_T = TypeVar("_T")
_set = object.__setattr__


def _ordering(compare: Callable[[tuple[Any, ...], tuple[Any, ...]], bool]) -> Callable[[History[Any], object], bool]:
    """A :class:`History` comparison: its items against another history's or a tuple's, as tuples compare."""

    def method(self: History[Any], other: object) -> bool:
        theirs = self._compared(other)
        return NotImplemented if theirs is None else compare(self._all(), theirs)

    return method


class History(Sequence[_T]):
    """A read-only sequence whose last items are in memory and whose earlier ones are read only when needed.

    What a repository gives a dossier it reads from its journal (``Dossier.history``, ``Dossier.emails_sent``):
    it knows the length and the items of the journal's head row, whose seal it checked, and ``loader()``
    returns the ``before`` items that come first (the repository reads and checks them then, and raises
    :class:`~segur_workflow.errors.DossierAltere` if they are not those the head's seal vouches for).

    It behaves as the tuple of all its items: ``len``, indexing, slicing (a tuple), iteration, ``reversed``,
    ``in``, ``index``, ``count``, ``==`` and ordering with a tuple or another ``History``, ``hash``, ``+``
    and ``*``; pickling and copying give a ``History`` of all the items. What the engine reads on a command
    (the length, the last entry, what a command appends: ``history + (entry,)``) never calls the loader;
    iterating, indexing or slicing below the known items calls it once (the items are then kept).
    ``repr`` does not load either.
    """

    __slots__ = ("_items", "_loader", "_split", "_tail")

    _split: int
    _tail: tuple[_T, ...]
    _loader: Callable[[], Sequence[_T]] | None
    _items: tuple[_T, ...] | None

    def __init__(self, tail: Sequence[_T] = (), *, before: int = 0,
                 loader: Callable[[], Sequence[_T]] | None = None) -> None:
        if isinstance(before, bool) or not isinstance(before, int) or before < 0:
            raise TypeError(f"History(before=…) : un nombre d'éléments ≥ 0, pas {before!r}")
        if before and not callable(loader):
            raise TypeError("History(before=…) : il faut un loader qui lit les éléments d'avant")
        items = tuple(tail)
        _set(self, "_split", before)
        _set(self, "_tail", items)
        _set(self, "_loader", loader if before else None)
        _set(self, "_items", None if before else items)

    # -- frozen ---------------------------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"History est en lecture seule ({name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"History est en lecture seule ({name})")

    # -- what never loads -----------------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """Whether every item is in memory (then nothing is read any more)."""
        return self._items is not None

    def __len__(self) -> int:
        return self._split + len(self._tail)

    def __repr__(self) -> str:
        if self._items is not None:
            return f"History({self._items!r})"
        return f"History(<{self._split} non lu(s)>, {self._tail!r})"

    # -- what may load --------------------------------------------------------------------------------------------
    def _all(self) -> tuple[_T, ...]:
        items = self._items
        if items is None:
            assert self._loader is not None  # a history with items before its tail has a loader
            before = tuple(self._loader())
            if len(before) != self._split:
                from .errors import InvalidInput  # history stays importable on its own

                raise InvalidInput("loader", f"{self._split} élément(s)", len(before))
            items = before + self._tail
            _set(self, "_items", items)
        return items

    @overload
    def __getitem__(self, index: int) -> _T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[_T, ...]: ...
    def __getitem__(self, index: int | slice) -> _T | tuple[_T, ...]:
        if self._items is not None:
            return self._items[index]
        split, tail = self._split, self._tail
        if isinstance(index, slice):
            wanted = range(*index.indices(split + len(tail)))
            if not wanted or min(wanted) >= split:
                return tuple([tail[i - split] for i in wanted])
            return self._all()[index]
        i = operator.index(index)
        if i < 0:
            i += split + len(tail)
        if split <= i < split + len(tail):
            return tail[i - split]
        if i < 0 or i >= split + len(tail):
            raise IndexError("History index out of range")
        return self._all()[i]

    def __iter__(self) -> Iterator[_T]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[_T]:
        if self._items is not None:
            yield from reversed(self._items)
            return
        yield from reversed(self._tail)
        if self._split:
            yield from reversed(self._all()[: self._split])

    def _same_start(self, other: History[Any]) -> bool:
        """Whether ``other``'s items before its tail are this history's, without reading them (same loader)."""
        # A repository's loaders are equal when they read the same checked journal rows.
        return self._split == other._split and (self._loader is other._loader or self._loader == other._loader)

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, History):
            if len(self) != len(other):
                return False
            if self._same_start(other):
                return self._tail == other._tail
            return self._all() == other._all()
        if isinstance(other, tuple):
            return len(self) == len(other) and self._all() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def _compared(self, other: object) -> tuple[Any, ...] | None:
        if isinstance(other, History):
            return other._all()
        return other if isinstance(other, tuple) else None

    __lt__ = _ordering(operator.lt)
    __le__ = _ordering(operator.le)
    __gt__ = _ordering(operator.gt)
    __ge__ = _ordering(operator.ge)

    def __add__(self, other: object) -> History[_T]:
        if isinstance(other, History):
            other = other._all()
        if not isinstance(other, tuple):
            return NotImplemented
        longer: History[_T] = History(self._tail + other, before=self._split, loader=self._loader)
        if self._items is not None and self._split:
            _set(longer, "_items", self._items + other)  # already read: the longer one needs no reading
        return longer

    def __radd__(self, other: object) -> tuple[Any, ...]:
        if not isinstance(other, tuple):
            return NotImplemented
        return other + self._all()

    def __mul__(self, times: int) -> tuple[_T, ...]:
        return self._all() * times

    __rmul__ = __mul__

    def __reduce__(self) -> tuple[type[History[_T]], tuple[tuple[_T, ...]]]:
        # Pickled, copied: every item, read now; the copy needs neither the loader nor its storage.
        return (History, (self._all(),))


def extended(items: Sequence[_T], more: tuple[_T, ...]) -> Sequence[_T]:
    """``items`` followed by ``more``, without reading a :class:`History`'s earlier items."""
    if type(items) is tuple or isinstance(items, History):
        return items + more
    return (*items, *more)


def extends(longer: Sequence[Any], prefix: Sequence[Any]) -> bool:
    """Whether ``longer`` starts with every item of ``prefix``: without reading anything when ``longer`` was
    made from ``prefix`` by appending (:func:`extended`), else by comparing them."""
    n = len(prefix)
    if len(longer) < n:
        return False
    if isinstance(longer, History) and isinstance(prefix, History) and longer._same_start(prefix):
        return longer._tail[: n - prefix._split] == prefix._tail
    return tuple(longer[:n]) == tuple(prefix)



def canonical(entry: HistoryEntry) -> str:
    """The entry without its hash, as sorted-key JSON: the bytes the chain signs.

    Exactly ``json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))`` of the
    fields below (a test holds it to that), written out by hand with the JSON string encoder: the
    generic encoder was the largest single share of a command's cost (see docs/benchmarks.md).
    Keys in sorted order: actor, at, command_id, comment, dest, details, source, trigger. One
    f-string, the optional fields inline and a list (not a generator) for the details: each function
    call is a visible share of a history entry.
    """
    details = entry.details
    body = ",".join([f"{_json_str(k)}:{_json_str(v)}" for k, v in sorted(details.items())]) if details else ""
    actor, command_id, comment, source = entry.actor, entry.command_id, entry.comment, entry.source
    # isoformat() is ASCII digits and "-:+T.": nothing to escape.
    return (
        f'{{"actor":[{_json_str(actor.role)},{_json_str(actor.id)}],"at":"{entry.at.isoformat()}",'
        f'"command_id":{"null" if command_id is None else _json_str(command_id)},'
        f'"comment":{"null" if comment is None else _json_str(comment)},'
        f'"dest":{_json_str(entry.dest)},"details":{{{body}}},'
        f'"source":{"null" if source is None else _json_str(source)},"trigger":{_json_str(entry.trigger)}}}'
    )


def chain_hash(previous: str, entry: HistoryEntry) -> str:
    # surrogatepass: identifiers are any str (an actor id, a command id); hashing must never fail
    return hashlib.sha256((previous + "\n" + canonical(entry)).encode("utf-8", "surrogatepass")).hexdigest()


def seal(previous: str, entry: HistoryEntry) -> HistoryEntry:
    """``entry`` with its chained hash set."""
    return attrs.evolve(entry, hash=chain_hash(previous, entry))


@cache
def _entry_class() -> type[HistoryEntry]:
    # model is imported lazily (history stays importable on its own); the import statement itself,
    # run on every append, was a visible share of it.
    from .model import HistoryEntry

    return HistoryEntry


def append(
    history: Sequence[Any], *, at: Any, actor: Any, trigger: str, source: Any, dest: Any,
    comment: str | None = None, command_id: str | None = None, details: Mapping[str, str] = _NO_DETAILS,
    entry_type: type[Any] | None = None,
) -> Sequence[Any]:
    """``history`` with one new entry (built from the fields given) chained to its last one.

    ``entry_type`` is the machine's entry class (a dossier's :class:`~.model.HistoryEntry` by default);
    every machine's history is chained the same way. The entry is built once, its fields passed by
    position (packing them into keywords twice was a visible share of a command), and its hash set
    before anyone else can see it: ``seal`` builds it twice (an ``attrs.evolve``), a measurable share
    of each command (see docs/benchmarks.md).
    """
    return link(history, entry_type or _entry_class(), at, actor, trigger, source, dest, comment, command_id, details)


def link(history: Sequence[Any], entry_type: type[Any], at: Any, actor: Any, trigger: str,  # noqa: PLR0917
         source: Any, dest: Any, comment: str | None, command_id: str | None, details: Mapping[str, str],
         ) -> Sequence[Any]:
    """:func:`append` with every field given by position: what the engine calls on every command (binding ten
    keywords was a visible share of a history entry)."""
    entry = entry_type(at, actor, trigger, source, dest, comment, command_id, details)
    # Frozen for everyone else; this object is not shared yet, as in an attrs __attrs_post_init__.
    object.__setattr__(entry, "hash", chain_hash(history[-1].hash if history else GENESIS, entry))
    return (*history, entry) if type(history) is tuple else extended(history, (entry,))


def is_automatic(entry: HistoryEntry) -> bool:
    """Whether ``entry`` is one of the portal's own controls after a deposit (``Role.SYSTEME``), not a command."""
    return entry.actor.role == "systeme" and entry.trigger == "controler_bloc"


def command_entry(dossier: Dossier) -> HistoryEntry | None:
    """The entry of the last command applied to ``dossier`` (``None``: no history).

    Usually the last entry; after a deposit, the portal's automatic controls follow the deposit's own
    entry at the same instant, and it is the deposit's entry (its trigger, actor and ``command_id``)
    that records the command.
    """
    for entry in reversed(dossier.history):
        if not is_automatic(entry):
            return entry
    return None


def history_problems(dossier: Dossier | Any) -> tuple[int, ...]:
    """Indexes of the entries that break the chain (empty: the history is intact).

    Besides each hash, the statuses must follow on (an entry starts where the previous one ended)
    and the last entry must end at the dossier's status, which catches a removed tail; the index
    ``len(history)`` stands for that last check.
    """
    previous = GENESIS
    bad: list[int] = []
    last_dest = None
    for i, entry in enumerate(dossier.history):
        if entry.hash != chain_hash(previous, entry) or entry.source != last_dest:
            bad.append(i)
        previous = entry.hash
        last_dest = entry.dest
    if last_dest != dossier.status:
        bad.append(len(dossier.history))
    return tuple(bad)


def verify_history(dossier: Dossier | Any) -> bool:
    """``True`` when no entry was edited, removed or reordered since it was written."""
    return not history_problems(dossier)
