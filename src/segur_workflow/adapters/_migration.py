"""The explicit migration of a database of the previous layout, shared by the SQL adapters.

The previous release (schema 3) kept each dossier whole, history included, in ``dossiers.data``,
without a seal. :func:`migrate_layout` brings such tables to the sealed snapshot + journal layout,
inside the caller's transaction (all or nothing): each document goes through
:func:`segur_workflow.serialization.migrate` (its old schema's exact fields, its history chain), then
is sealed under ``key`` as one journal row at its current version (the versions the outbox and the
command records refer to are kept), and one line per dossier is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import _seal as sealing
from ..errors import SerializationError
from ..serialization import from_dict, migrate
from ._journal import Codec, Journal
from ._schema import JOURNAL_INSERT, SUMMARY_COLUMNS, added_columns, summary_values

__all__ = ["as_document", "migrate_layout"]

Execute = Callable[[str, Sequence[Any]], Any]


def migrate_layout(execute: Execute, *, columns: Callable[[str], set[str]], statements: Sequence[str],
                   moment: str, codec: Codec, document_of: Callable[[Any], Mapping[str, Any]],
                   key: sealing.KeyArg, say: Callable[[str], object],
                   moment_value: Callable[[datetime], object] = lambda v: v) -> int:
    """Migrate the tables ``execute`` reaches (statements written with ``?``, already in the driver's style);
    return the number of dossiers migrated, 0 when the layout is already the current one.

    ``columns(table)``: the table's column names (empty: no such table); ``document_of(data)``: the
    ``dossiers.data`` column as the old document (a dict).
    """
    present = columns("dossiers")
    if not present or "head" in present:
        return 0
    execute("ALTER TABLE dossiers ADD COLUMN length INTEGER NOT NULL DEFAULT 1 CHECK (length >= 1)", ())
    execute("ALTER TABLE dossiers ADD COLUMN head TEXT NOT NULL DEFAULT ''", ())
    for table, added in added_columns(moment=moment).items():
        have = columns(table)
        for name, declaration in added:
            if have and name not in have:
                execute(f"ALTER TABLE {table} ADD COLUMN {name} {declaration}", ())
    for statement in statements:
        execute(statement, ())
    journal = Journal(sealing.sealer(key), codec)
    rows = execute("SELECT numero, version, data FROM dossiers ORDER BY numero", ()).fetchall()
    for numero, version, data in rows:
        try:
            old = document_of(data)
            document = migrate(old, key=key)
            dossier = from_dict(document, key=key)
        except SerializationError as exc:
            raise SerializationError(f"{numero}:{exc.field}", exc.reason) from exc
        if dossier.numero != numero:
            raise SerializationError(f"{numero}:numero", f"le document est celui de {dossier.numero!r}")
        written = journal.prepare(dossier, None, version=int(version))
        # with the worklist columns (issue 16), dates as the driver writes them (``moment_value``)
        execute("UPDATE dossiers SET data = ?, status = ?, length = ?, head = ?, "
                + ", ".join(f"{c} = ?" for c in SUMMARY_COLUMNS) + " WHERE numero = ?",
                (written.data, dossier.status.value, written.position, written.sceau,
                 *summary_values(dossier, moment_value), numero))
        execute(JOURNAL_INSERT, written.row(numero))
        say(f"{numero} : schéma {old.get('schema_version')} → {document['schema_version']}, version {version}, "
            f"{len(dossier.history)} entrée(s) d'historique, scellé ({document['sceau']['algorithme']}"
            f"{', clé ' + written.cle if written.cle else ''})")
    _fill_command_records(execute, codec)
    return len(rows)


def _fill_command_records(execute: Execute, codec: Codec) -> None:
    """Who applied each recorded command, from the (checked) history; the digest stays empty.

    An empty digest never matches a command's, so such an old id is refused rather than replayed
    (``CommandIdReused``): the previous release did not record what the command asked.
    """
    for command_id, numero, trigger in execute(
            "SELECT command_id, numero, trigger FROM commands WHERE actor_id = ''", ()).fetchall():
        for (raw,) in execute("SELECT entries FROM journal WHERE numero = ?", (numero,)).fetchall():
            for entry in codec.parse(raw):
                if entry.get("command_id") == command_id:
                    role, actor_id = entry["actor"]["role"], entry["actor"]["id"]
                    subject = actor_id if trigger == "deposer_avance" else numero
                    execute("UPDATE commands SET actor_role = ?, actor_id = ?, subject = ? WHERE command_id = ?",
                            (role, actor_id, subject, command_id))


def as_document(value: object) -> dict[str, Any]:
    """A ``dossiers.data`` value read as the old document: a JSON object, or refused."""
    if not isinstance(value, dict):
        raise SerializationError("data", f"objet JSON attendu, {type(value).__name__} stocké")
    return value
