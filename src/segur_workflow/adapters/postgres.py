"""PostgreSQL repository (psycopg 3): ``pip install 'segur-workflow[postgres]'``.

Same tables and guarantees as the SQLite adapter: the version check is a conditional
``UPDATE … WHERE version = %s`` (under READ COMMITTED a concurrent writer's row is re-checked after
its commit, so exactly one of two racing saves matches), uniqueness comes from named constraints.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
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

from ..emails import Email
from ..errors import ConcurrencyConflict, DossierNotFound, DuplicateFinancingRequest, InvalidInput
from ..model import Dossier
from ..ports import AppliedCommand, OutboxEmail, Stored
from ..serialization import from_dict, to_dict
from . import applied_command_id, check_dossier, check_limit, check_outbox, check_text, check_version

__all__ = ["SCHEMA", "PostgresRepository"]

#: The tables (created if missing, under an advisory lock so that concurrent first starts are safe).
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS dossiers (
        numero  text NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  text NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  text NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        data    jsonb NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS outbox (
        id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        numero    text NOT NULL REFERENCES dossiers (numero),
        version   integer NOT NULL,
        template  text NOT NULL,
        recipient text NOT NULL,
        subject   text NOT NULL,
        body_text text NOT NULL,
        body_html text NOT NULL,
        sent_at   timestamptz
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at IS NULL",
    "CREATE INDEX IF NOT EXISTS outbox_by_version ON outbox (numero, version)",
    """CREATE TABLE IF NOT EXISTS commands (
        command_id text NOT NULL CONSTRAINT commande_unique PRIMARY KEY,
        numero     text NOT NULL REFERENCES dossiers (numero),
        trigger    text NOT NULL,
        version    integer NOT NULL
    )""",
)

_SCHEMA_LOCK = 0x5E6A5  # any constant: serialises CREATE … IF NOT EXISTS across processes
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresRepository:
    """A :class:`~segur_workflow.ports.DossierRepository` on PostgreSQL.

    ``schema`` (optional) puts the tables in that schema, created if missing; by default they go to
    the connection's ``search_path``. One connection per repository, shared by threads under a lock.
    """

    def __init__(self, dsn: str, *, schema: str | None = None, connect_timeout: int = 10) -> None:
        if schema is not None and not _IDENTIFIER.fullmatch(schema):
            raise InvalidInput("schema", "un nom de schéma en minuscules (a-z, 0-9, _)", schema)
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout)
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if schema is not None:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            for statement in SCHEMA:
                cur.execute(statement)

    # -- plumbing ----------------------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> PostgresRepository:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _after_state_written(self, numero: str) -> None:
        """Test hook: called after the state is written and before the outbox (fault injection)."""

    def _write_rest(self, cur: psycopg.Cursor[Any], dossier: Dossier, version: int, emails: tuple[Email, ...]) -> None:
        self._after_state_written(dossier.numero)
        if emails:
            cur.executemany(
                "INSERT INTO outbox (numero, version, template, recipient, subject, body_text, body_html)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(dossier.numero, version, e.template, e.to, e.subject, e.text, e.html) for e in emails],
            )
        command_id = applied_command_id(dossier)
        if command_id is not None:
            cur.execute("INSERT INTO commands (command_id, numero, trigger, version) VALUES (%s, %s, %s, %s)",
                        (command_id, dossier.numero, dossier.history[-1].trigger, version))

    def _refused(self, exc: pg_errors.UniqueViolation, dossier: Dossier, expected_version: int) -> Exception:
        constraint = exc.diag.constraint_name
        if constraint == "dossier_fournisseur_unique":
            existing = self.find_by_provider(dossier.fournisseur.ans_id)
            return DuplicateFinancingRequest(dossier.fournisseur.ans_id, existing)
        if constraint in {"dossier_numero_unique", "commande_unique"}:
            return ConcurrencyConflict(dossier.numero, expected_version, self._version(dossier.numero))
        return exc

    def _version(self, numero: str) -> int | None:
        with self._transaction() as cur:
            row = cur.execute("SELECT version FROM dossiers WHERE numero = %s", (numero,)).fetchone()
        return None if row is None else int(row[0])

    # -- writes ------------------------------------------------------------------------------------------------
    def add(self, dossier: Dossier, *, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        emails = check_outbox(outbox)
        data = Jsonb(to_dict(dossier))
        try:
            with self._transaction() as cur:
                cur.execute("INSERT INTO dossiers (numero, ans_id, status, version, data) VALUES (%s, %s, %s, 1, %s)",
                            (dossier.numero, dossier.fournisseur.ans_id, dossier.status.value, data))
                self._write_rest(cur, dossier, 1, emails)
        except pg_errors.UniqueViolation as exc:
            raise self._refused(exc, dossier, 0) from exc
        return 1

    def save(self, dossier: Dossier, *, expected_version: int, outbox: Sequence[Email]) -> int:
        dossier = check_dossier(dossier)
        expected_version = check_version(expected_version)
        emails = check_outbox(outbox)
        data = Jsonb(to_dict(dossier))
        version = expected_version + 1
        try:
            with self._transaction() as cur:
                cur.execute(
                    "UPDATE dossiers SET data = %s, status = %s, ans_id = %s, version = %s"
                    " WHERE numero = %s AND version = %s",
                    (data, dossier.status.value, dossier.fournisseur.ans_id, version, dossier.numero,
                     expected_version),
                )
                if cur.rowcount != 1:
                    row = cur.execute("SELECT version FROM dossiers WHERE numero = %s", (dossier.numero,)).fetchone()
                    if row is None:
                        raise DossierNotFound(dossier.numero)
                    raise ConcurrencyConflict(dossier.numero, expected_version, int(row[0]))
                self._write_rest(cur, dossier, version, emails)
        except pg_errors.UniqueViolation as exc:
            raise self._refused(exc, dossier, expected_version) from exc
        return version

    def mark_sent(self, email_id: int) -> None:
        if isinstance(email_id, bool) or not isinstance(email_id, int):
            return  # an id that cannot exist: ignored, as the port says of unknown ids
        with self._transaction() as cur:
            cur.execute("UPDATE outbox SET sent_at = now() WHERE id = %s AND sent_at IS NULL", (email_id,))

    # -- reads -------------------------------------------------------------------------------------------------
    def get(self, numero: str) -> Stored:
        numero = check_text("numero", numero)
        with self._transaction() as cur:
            row = cur.execute("SELECT data, version FROM dossiers WHERE numero = %s", (numero,)).fetchone()
        if row is None:
            raise DossierNotFound(numero)
        return Stored(from_dict(row[0]), int(row[1]))

    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._transaction() as cur:
            rows = cur.execute(
                "SELECT id, numero, version, template, recipient, subject, body_text, body_html FROM outbox"
                " WHERE sent_at IS NULL ORDER BY id LIMIT %s", (limit,),
            ).fetchall()
        return [OutboxEmail(int(r[0]), r[1], r[2],
                            Email(template=r[3], to=r[4], subject=r[5], text=r[6], html=r[7])) for r in rows]

    def last_numero(self, prefix: str) -> str | None:
        prefix = check_text("prefix", prefix)
        with self._transaction() as cur:
            row = cur.execute("SELECT max(numero) FROM dossiers WHERE left(numero, %s) = %s",
                              (len(prefix), prefix)).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def find_by_provider(self, ans_id: str) -> str | None:
        ans_id = check_text("ans_id", ans_id)
        with self._transaction() as cur:
            row = cur.execute("SELECT numero FROM dossiers WHERE ans_id = %s", (ans_id,)).fetchone()
        return None if row is None else str(row[0])

    def find_command(self, command_id: str) -> AppliedCommand | None:
        command_id = check_text("command_id", command_id)
        with self._transaction() as cur:
            row = cur.execute("SELECT numero, trigger, version FROM commands WHERE command_id = %s",
                              (command_id,)).fetchone()
            if row is None:
                return None
            emails = cur.execute(
                "SELECT template, recipient, subject, body_text, body_html FROM outbox"
                " WHERE numero = %s AND version = %s ORDER BY id", (row[0], row[2]),
            ).fetchall()
        return AppliedCommand(command_id, row[0], row[1], int(row[2]),
                              tuple(Email(template=e[0], to=e[1], subject=e[2], text=e[3], html=e[4]) for e in emails))
