"""PostgreSQL repository (psycopg 3): ``pip install 'segur-workflow[postgres]'``.

Same tables and guarantees as the SQLite adapter: the version check is a conditional
``UPDATE … WHERE version = %s`` (under READ COMMITTED a concurrent writer's row is re-checked after
its commit, so exactly one of two racing saves matches), uniqueness comes from named constraints.
The statements are shared with SQLite (:mod:`._sql`); what is here is psycopg's own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.types.json import Jsonb
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PostgresRepository a besoin de psycopg 3 : installez l'extra « postgres » "
        "(pip install 'segur-workflow[postgres]')."
    ) from exc

from ..errors import InvalidInput
from ..model import Dossier
from ..serialization import from_dict, to_dict
from ._sql import SQLRepository, schema

__all__ = ["SCHEMA", "PostgresRepository"]

#: The tables (created if missing, under an advisory lock so that concurrent first starts are safe).
SCHEMA = schema(data="jsonb", outbox_id="bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", moment="timestamptz")

_SCHEMA_LOCK = 0x5E6A5  # any constant: serialises CREATE … IF NOT EXISTS across processes
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresRepository(SQLRepository):
    """A :class:`~segur_workflow.ports.DossierRepository` on PostgreSQL.

    ``schema`` (optional) puts the tables in that schema, created if missing; by default they go to
    the connection's ``search_path``. One connection per repository, shared by threads under a lock.
    """

    PLACEHOLDER = "%s"
    # Only unique violations are ours to translate; other integrity errors propagate as they are.
    INTEGRITY_ERROR = pg_errors.UniqueViolation

    def __init__(self, dsn: str, *, schema: str | None = None, connect_timeout: int = 10) -> None:
        if schema is not None and not _IDENTIFIER.fullmatch(schema):
            raise InvalidInput("schema", "un nom de schéma en minuscules (a-z, 0-9, _)", schema)
        super().__init__()
        self._conn: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if schema is not None:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            for statement in SCHEMA:
                cur.execute(statement)
            self._prepare_summaries(cur)

    # -- driver hooks ------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        # Reads go through a transaction too (the default hooks): one BEGIN … COMMIT per call.
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    def _data_column(self, dossier: Dossier) -> Jsonb:
        return Jsonb(to_dict(dossier))

    def _from_data_column(self, value: Any) -> Dossier:
        return from_dict(value)  # psycopg has already decoded the jsonb

    _moment_type = "timestamptz"

    def _moment(self, value: datetime) -> datetime:
        return value

    def _from_moment(self, value: Any) -> datetime:
        return value  # type: ignore[no-any-return]  # psycopg gives an aware datetime for timestamptz

    def _columns(self, cur: Any, table: str) -> set[str]:
        rows = cur.execute("SELECT column_name FROM information_schema.columns"
                           " WHERE table_name = %s AND table_schema = current_schema()", (table,)).fetchall()
        return {str(r[0]) for r in rows}

    def _constraint(self, exc: Exception) -> str | None:
        return exc.diag.constraint_name if isinstance(exc, pg_errors.Error) else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writes ------------------------------------------------------------------------------------------------
    def mark_sent(self, email_id: int) -> None:
        if isinstance(email_id, bool) or not isinstance(email_id, int):
            return  # an id that cannot exist: ignored, as the port says of unknown ids
        with self._transaction() as cur:
            cur.execute("UPDATE outbox SET sent_at = now() WHERE id = %s AND sent_at IS NULL", (email_id,))
