"""What an attacker with write access to the storage does, for the contract's tampering cases."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["SQLTampering", "Tampering"]

# -- tampering with what is stored --------------------------------------------------------------------------------
class Tampering(Protocol):
    """What an attacker with write access to the storage (not to the key) does, for the contract's cases.

    ``path`` goes down a stored JSON value by keys and list indexes, e.g. ``("coordonnees_bancaires", "iban")``.
    """

    def edit_snapshot(self, numero: str, path: Sequence[str | int], value: object) -> None:
        """Set one field of the stored dossier (outside its history)."""

    def edit_history(self, numero: str, index: int, path: Sequence[str | int], value: object) -> None:
        """Set one field of history entry ``index`` (0 = the first) as stored."""

    def drop_last_write(self, numero: str) -> None:
        """Remove what the last write appended to the history (the state row left as it is)."""

    def copy_state(self, numero: str) -> object:
        """An opaque copy of the stored state row, for :meth:`restore_state`."""

    def restore_state(self, numero: str, copy: object) -> None:
        """Put an older copy of the state row back (a rollback)."""


def _set_path(value: Any, path: Sequence[str | int], new: object) -> Any:
    target = value
    for step_ in path[:-1]:
        target = target[step_]
    target[path[-1]] = new
    return value


class SQLTampering:
    """:class:`Tampering` for the layout of our SQL adapters (``dossiers`` snapshot rows + ``journal`` rows).

    ``connect`` returns a new DB-API connection to the same database (sqlite3, or psycopg with the
    repository's ``search_path``); ``placeholder`` is its parameter style (``?`` or ``%s``).
    """

    def __init__(self, connect: Callable[[], Any], placeholder: str = "?") -> None:
        self.connect = connect
        self.p = placeholder

    def _run(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(statement.replace("?", self.p), tuple(params))
            rows = list(cur.fetchall()) if cur.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def _json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def _text(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def edit_snapshot(self, numero: str, path: Sequence[str | int], value: object) -> None:
        (data,), = self._run("SELECT data FROM dossiers WHERE numero = ?", (numero,))
        self._run("UPDATE dossiers SET data = ? WHERE numero = ?",
                  (self._text(_set_path(self._json(data), path, value)), numero))

    def edit_history(self, numero: str, index: int, path: Sequence[str | int], value: object) -> None:
        rows = self._run("SELECT position, entries FROM journal WHERE numero = ? ORDER BY position", (numero,))
        for position, raw in rows:
            entries = self._json(raw)
            if index < len(entries):
                _set_path(entries[index], path, value)
                self._run("UPDATE journal SET entries = ? WHERE numero = ? AND position = ?",
                          (self._text(entries), numero, position))
                return
            index -= len(entries)
        raise IndexError(index)

    def drop_last_write(self, numero: str) -> None:
        self._run("DELETE FROM journal WHERE numero = ? AND position = (SELECT max(position) FROM journal"
                  " WHERE numero = ?)", (numero, numero))

    def copy_state(self, numero: str) -> object:
        (row,) = self._run("SELECT version, length, head, data, status FROM dossiers WHERE numero = ?", (numero,))
        return tuple(row)

    def restore_state(self, numero: str, copy: object) -> None:
        row: tuple[Any, ...] = tuple(copy)  # type: ignore[arg-type]
        version, length, head, data, status = row
        self._run("UPDATE dossiers SET version = ?, length = ?, head = ?, data = ?, status = ? WHERE numero = ?",
                  (version, length, head, data if isinstance(data, str) else self._text(data), status, numero))
