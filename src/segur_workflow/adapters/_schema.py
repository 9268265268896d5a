"""The tables of the SQL adapters: the statements (given the types that differ between databases), the
worklist columns and their indexes, the columns a later version added, the order writes lock the tables in."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from ..model import Dossier
from ..states import Status

__all__ = [
    "JOURNAL_COLUMNS",
    "JOURNAL_INSERT",
    "LOCK_ORDER",
    "SUMMARY_COLUMNS",
    "SUMMARY_INDEXES",
    "added_columns",
    "schema",
    "schema_objects",
    "summary_values",
]

#: The journal's columns, in the order :meth:`._journal.Journal.check` reads them (journal format 3).
JOURNAL_COLUMNS = "position, version, entries, emails, etat, cle, precedent, entries_total, emails_total, sceau"
#: A journal row written (values: :meth:`._journal.Written.row`).
JOURNAL_INSERT = (f"INSERT INTO journal (numero, {JOURNAL_COLUMNS}) VALUES ({', '.join('?' * 11)})")

#: The worklist columns of ``dossiers`` beside ``numero``, ``ans_id``, ``status`` and ``version``
#: (``DossierSummary``) and their types (``{moment}``: the database's date type): written with the
#: snapshot row, read by ``search`` without the journal.
_SUMMARY_TYPES = {
    "siret": "TEXT NOT NULL DEFAULT ''",
    "raison_sociale": "TEXT NOT NULL DEFAULT ''",
    "gestionnaire": "TEXT",
    "date_depot": "{moment}",
    "date_changement_statut": "{moment}",
}

SUMMARY_COLUMNS = tuple(_SUMMARY_TYPES)

#: The indexes of the worklists: one per filter, each ending with ``numero`` (keyset order: a page is read
#: in order and stops at its limit, never sorted). ``ans_id`` has its unique constraint's. The gestionnaire's
#: own page of one status, and ``workload`` (the default assignment policy's count at every deposit), are
#: served by ``(gestionnaire, status, …)``; tests/test_desk_query_plans.py reads the plans.
SUMMARY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS dossier_by_status ON dossiers (status, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_gestionnaire ON dossiers (gestionnaire, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_gestionnaire_status ON dossiers (gestionnaire, status, numero)",
    "CREATE INDEX IF NOT EXISTS dossier_by_siret ON dossiers (siret, numero)",
)

_SUMMARY_SELECT = ("SELECT numero, status, ans_id, siret, raison_sociale, gestionnaire, date_depot,"
                   " date_changement_statut, version FROM dossiers")

#: The columns of ``dossiers`` derived from the sealed dossier that ``search`` reads (and filters on) instead
#: of it, in the order of :meth:`._verify.Verifying._derived`: ``fill_summaries`` re-derives them.
_DERIVED = ("status", "ans_id", *SUMMARY_COLUMNS)

#: The non-final statuses, for ``workload`` (a view of the definition).
_OPEN = tuple(s.value for s in Status if not s.final)

def _summary_column(column: str, moment: str) -> str:
    return f"{column} {_SUMMARY_TYPES[column].format(moment=moment)}"

def summary_values(dossier: Dossier, moment: Callable[[datetime], object]) -> tuple[object, ...]:
    """The values of :data:`SUMMARY_COLUMNS` for ``dossier``, dates written by ``moment``."""
    f = dossier.fournisseur
    return (f.siret, f.raison_sociale, dossier.gestionnaire, moment(dossier.date_depot),
            moment(dossier.date_changement_statut))

def _summary_columns(moment: str) -> str:
    return ",\n        ".join(_summary_column(c, moment) for c in SUMMARY_COLUMNS)

def schema(*, data: str, outbox_id: str, moment: str) -> tuple[str, ...]:
    """The ``CREATE … IF NOT EXISTS`` statements, given the column types that differ between databases.

    ``data`` holds the serialised dossier, ``outbox_id`` is the key of the outbox and event tables
    (growing, never reused), ``moment`` the type of a point in time. The constraint names are those
    :meth:`SQLRepository._refused` maps to domain errors.

    ``outbox`` (e-mails) and ``events`` (integration events) share the delivery columns: ``attempts``
    (claims so far), ``claimed_by`` / ``lease_until`` (who holds it, until when), ``not_before`` (the
    next try after a failure), ``last_error``, ``sent_at`` (delivered), ``dead_at`` (given up).
    """
    delivery = f"""attempts    INTEGER NOT NULL DEFAULT 0,
        claimed_by  TEXT,
        lease_until {moment},
        not_before  {moment},
        last_error  TEXT,
        sent_at     {moment},
        dead_at     {moment}"""
    return (
        f"""CREATE TABLE IF NOT EXISTS dossiers (
        numero  TEXT NOT NULL CONSTRAINT dossier_numero_unique PRIMARY KEY,
        ans_id  TEXT NOT NULL CONSTRAINT dossier_fournisseur_unique UNIQUE,
        status  TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        length  INTEGER NOT NULL CHECK (length >= 1),
        head    TEXT NOT NULL,
        data    {data} NOT NULL,
        {_summary_columns(moment)}
    )""",
        f"""CREATE TABLE IF NOT EXISTS journal (
        numero   TEXT NOT NULL REFERENCES dossiers (numero),
        position INTEGER NOT NULL CHECK (position >= 1),
        version  INTEGER NOT NULL CHECK (version >= 1),
        entries  {data} NOT NULL,
        emails   {data} NOT NULL,
        etat     TEXT NOT NULL,
        cle      TEXT,
        precedent     TEXT NOT NULL,
        entries_total INTEGER NOT NULL CHECK (entries_total >= 0),
        emails_total  INTEGER NOT NULL CHECK (emails_total >= 0),
        sceau    TEXT NOT NULL,
        CONSTRAINT journal_position_unique PRIMARY KEY (numero, position)
    )""",
        f"""CREATE TABLE IF NOT EXISTS outbox (
        id        {outbox_id},
        numero    TEXT NOT NULL REFERENCES dossiers (numero),
        version   INTEGER NOT NULL,
        template  TEXT NOT NULL,
        recipient TEXT NOT NULL,
        subject   TEXT NOT NULL,
        body_text TEXT NOT NULL,
        body_html TEXT NOT NULL,
        {delivery}
    )""",
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (id) WHERE sent_at IS NULL AND dead_at IS NULL",
        "CREATE INDEX IF NOT EXISTS outbox_dead ON outbox (id) WHERE dead_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS outbox_by_version ON outbox (numero, version)",
        f"""CREATE TABLE IF NOT EXISTS events (
        id        {outbox_id},
        event_id  TEXT NOT NULL CONSTRAINT event_unique UNIQUE,
        numero    TEXT NOT NULL REFERENCES dossiers (numero),
        version   INTEGER NOT NULL,
        type      TEXT NOT NULL,
        payload   TEXT NOT NULL,
        {delivery}
    )""",
        "CREATE INDEX IF NOT EXISTS events_due ON events (id) WHERE sent_at IS NULL AND dead_at IS NULL",
        "CREATE INDEX IF NOT EXISTS events_dead ON events (id) WHERE dead_at IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS events_by_version ON events (numero, version)",
        """CREATE TABLE IF NOT EXISTS commands (
        command_id TEXT NOT NULL CONSTRAINT commande_unique PRIMARY KEY,
        numero     TEXT NOT NULL REFERENCES dossiers (numero),
        trigger    TEXT NOT NULL,
        version    INTEGER NOT NULL,
        actor_role TEXT NOT NULL,
        actor_id   TEXT NOT NULL,
        subject    TEXT NOT NULL,
        digest     TEXT NOT NULL
    )""",
        # One row per number prefix: incremented in the transaction that inserts the dossier.
        """CREATE TABLE IF NOT EXISTS numbering (
        prefix TEXT NOT NULL PRIMARY KEY,
        last   INTEGER NOT NULL CHECK (last >= 0)
    )""",
        *SUMMARY_INDEXES,
    )

#: The order in which a write transaction takes its tables (``create``: the counter row, then the new
#: dossier row; every write: the dossier row, its journal row, events, e-mails, the command record).
#: Whatever else locks several of them (schema changes) takes them in this order too: no lock cycle.
LOCK_ORDER = ("numbering", "dossiers", "journal", "events", "outbox", "commands")

_CREATED = re.compile(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)")

def schema_objects(statements: Sequence[str]) -> tuple[str, ...]:
    """The tables and indexes ``statements`` (from :func:`schema`) create, by name."""
    return tuple(m.group(1) for statement in statements if (m := _CREATED.match(statement)))

def added_columns(*, moment: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Columns this version added to tables an older one created: ``ALTER TABLE … ADD COLUMN`` material."""
    return {
        "outbox": (("attempts", "INTEGER NOT NULL DEFAULT 0"), ("claimed_by", "TEXT"), ("lease_until", moment),
                   ("not_before", moment), ("last_error", "TEXT"), ("dead_at", moment)),
        "commands": (("actor_role", "TEXT NOT NULL DEFAULT ''"), ("actor_id", "TEXT NOT NULL DEFAULT ''"),
                     ("subject", "TEXT NOT NULL DEFAULT ''"), ("digest", "TEXT NOT NULL DEFAULT ''")),
        # the worklist columns (issue 16), filled by the explicit migration
        "dossiers": tuple((c, _SUMMARY_TYPES[c].format(moment=moment)) for c in SUMMARY_COLUMNS),
    }
