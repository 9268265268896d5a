"""PostgreSQL repository (psycopg 3): ``pip install 'segur-workflow[postgres]'``.

Same tables and guarantees as the SQLite adapter: the version check is a conditional
``UPDATE … WHERE version = %s`` (under READ COMMITTED a concurrent writer's row is re-checked after
its commit, so exactly one of two racing saves matches), uniqueness comes from named constraints.
The statements are shared with SQLite (:mod:`._sql`); what is here is psycopg's own: ``jsonb``
columns written and read by orjson (``set_json_dumps``/``set_json_loads`` on the connection), a read
in one statement (snapshot, journal rows still to check and the stamp), and a write sent as one
pipelined batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PostgresRepository a besoin de psycopg 3 : installez l'extra « postgres » "
        "(pip install 'segur-workflow[postgres]')."
    ) from exc

import orjson

from .. import seal as sealing
from ..errors import InvalidInput
from ..model import Dossier
from ._journal import Chain, Codec, Snapshot, Written
from ._sql import SQLRepository, schema

__all__ = ["SCHEMA", "PostgresRepository"]

#: The tables (created if missing, under an advisory lock so that concurrent first starts are safe).
SCHEMA = schema(data="jsonb", outbox_id="bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", moment="timestamptz")

_SCHEMA_LOCK = 0x5E6A5  # any constant: serialises CREATE … IF NOT EXISTS across processes
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _encode(value: object) -> tuple[Jsonb, bytes]:
    # jsonb keeps the values, not the text: the digest covers their canonical form, recomputed on read.
    return Jsonb(value), sealing.canonical(value)


def _decode(column: object) -> tuple[object, bytes]:
    return column, sealing.canonical(column)  # psycopg has already decoded the jsonb (with orjson)


_CODEC = Codec(_encode, _decode)

#: The read: the snapshot row, the journal stamp (row count and the sum of the rows' ``xmin``: any row
#: updated, deleted or added by someone else changes it) and the rows still to check, in one statement.
_LOAD = """
WITH s AS (SELECT count(*)::text || ':' || coalesce(sum(xmin::text::bigint), 0)::text AS stamp
           FROM journal WHERE numero = %(numero)s)
SELECT d.version, d.length, d.head, d.data, s.stamp,
       (SELECT coalesce(json_agg(json_build_array(j.position, j.version, j.entries, j.emails, j.etat, j.cle,
                                                  j.sceau) ORDER BY j.position), '[]'::json)
        FROM journal j
        WHERE j.numero = d.numero AND j.position >= CASE WHEN s.stamp = %(stamp)s THEN %(since)s ELSE 0 END)
FROM dossiers d CROSS JOIN s WHERE d.numero = %(numero)s
"""


class PostgresRepository(SQLRepository):
    """A :class:`~segur_workflow.ports.DossierRepository` on PostgreSQL.

    ``schema`` (optional) puts the tables in that schema, created if missing; by default they go to
    the connection's ``search_path``. One connection per repository, shared by threads under a lock.
    """

    PLACEHOLDER = "%s"
    # Only unique violations are ours to translate; other integrity errors propagate as they are.
    INTEGRITY_ERROR = (pg_errors.UniqueViolation, pg_errors.NotNullViolation)

    def __init__(self, dsn: str, *, key: sealing.KeyArg = None, schema: str | None = None,
                 connect_timeout: int = 10) -> None:
        if schema is not None and not _IDENTIFIER.fullmatch(schema):
            raise InvalidInput("schema", "un nom de schéma en minuscules (a-z, 0-9, _)", schema)
        super().__init__(key=key)
        self._conn: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
        set_json_dumps(orjson.dumps, context=self._conn)
        set_json_loads(orjson.loads, context=self._conn)
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if schema is not None:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            self._check_layout(cur)
            for statement in SCHEMA:
                cur.execute(statement)

    # -- driver hooks ------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        # One pipelined batch: the statements of a write go together, results are read at the commit.
        # Other reads go through a transaction too (the default hooks): one BEGIN … COMMIT per call.
        with self._lock, self._conn.pipeline(), self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    @contextmanager
    def _loading(self) -> Iterator[psycopg.Cursor[Any]]:
        # A dossier is read by one statement (_LOAD): in autocommit it is its own transaction, one round trip.
        with self._lock, self._conn.cursor() as cur:
            yield cur

    def _codec(self) -> Codec:
        return _CODEC

    def _load(self, cur: Any, numero: str, cached: Chain | None, stamp: object
              ) -> tuple[Snapshot | None, list[Any], object]:
        row = cur.execute(_LOAD, {"numero": numero, "stamp": cached.stamp if cached is not None else None,
                                  "since": cached.length if cached is not None else 0}).fetchone()
        if row is None:
            return None, [], None
        return Snapshot(*row[:4]), list(row[5]), row[4]

    def _insert_journal(self, cur: Any, numero: str, base: Chain | None, w: Written) -> Callable[[], object]:
        # Its own cursor, so that its result (the row's xmin, for the stamp) is still there after the batch.
        jcur = self._conn.cursor()
        values = (numero, w.position, w.version, w.entries, w.emails, w.etat, w.cle)
        if base is None:
            jcur.execute("INSERT INTO journal (numero, position, version, entries, emails, etat, cle, sceau)"
                         " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING xmin::text::bigint", (*values, w.sceau))
        else:
            # Still in the same batch as the UPDATE, whose row count is not known yet: the seal is taken
            # from the row that UPDATE wrote, so when it matched nothing the seal is NULL, the NOT NULL
            # constraint fails and the whole transaction is rolled back (see _constraint).
            jcur.execute("INSERT INTO journal (numero, position, version, entries, emails, etat, cle, sceau)"
                         " VALUES (%s, %s, %s, %s, %s, %s, %s,"
                         " (SELECT head FROM dossiers WHERE numero = %s AND head = %s AND version = %s))"
                         " RETURNING xmin::text::bigint", (*values, numero, w.sceau, w.version))
        previous = base.stamp if base is not None else "0:0"

        def stamp() -> object:
            row = jcur.fetchone()
            count, _, total = str(previous).partition(":")
            if row is None or not count.isdigit() or int(count) != w.position - 1 or not total.isdigit():
                return None  # not trusted: the next read checks every row
            return f"{w.position}:{int(total) + int(row[0])}"

        return stamp

    def _update_snapshot(self, cur: Any, dossier: Dossier, w: Written, expected_version: int,
                         base: Chain) -> None:
        # One statement whatever the provider: PostgreSQL leaves an unchanged indexed value alone.
        cur.execute("UPDATE dossiers SET data = %s, status = %s, ans_id = %s, version = %s, length = %s, head = %s"
                    " WHERE numero = %s AND version = %s AND head = %s",
                    (w.data, dossier.status.value, dossier.fournisseur.ans_id, w.version, w.position, w.sceau,
                     dossier.numero, expected_version, base.head))

    def _constraint(self, exc: Exception) -> str | None:
        if isinstance(exc, pg_errors.NotNullViolation) and exc.diag.table_name == "journal":
            return "journal_tete_perimee"
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
