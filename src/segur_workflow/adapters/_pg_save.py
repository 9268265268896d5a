"""PostgreSQL's save as one statement: data-modifying CTEs for the snapshot's conditional UPDATE, the journal
row, the events, the e-mails and the command record (docs/persistence.md, "A PostgreSQL save is one statement").

Text and parameters only (no driver here): :class:`.postgres.PostgresRepository` sends it.
"""

from __future__ import annotations

from typing import Any

from .._email import Email
from .._integration import event_to_json
from ..engine import Event
from ..model import Dossier
from ..ports import CommandRecord
from . import command_record
from ._journal import Chain, Written
from ._schema import JOURNAL_COLUMNS

__all__ = ["save_statement"]

#: The parts of :func:`save_statement`. ``u`` is the snapshot's conditional UPDATE (the version and the head
#: checked by the database, every worklist column rewritten: PostgreSQL leaves an unchanged indexed value
#: alone); every INSERT selects from ``u``, so nothing is written when it matched nothing.
_SAVE_UPDATE = (
    "WITH u AS (UPDATE dossiers SET data = %s, status = %s, ans_id = %s, version = %s, length = %s, head = %s,"
    " siret = %s, raison_sociale = %s, gestionnaire = %s, date_changement_statut = %s"
    " WHERE numero = %s AND version = %s AND head = %s RETURNING numero, head)"
)
# The journal row's seal is the head the UPDATE wrote.
_SAVE_JOURNAL = (f", j AS (INSERT INTO journal (numero, {JOURNAL_COLUMNS})"
                 f" SELECT u.numero, {', '.join(['%s'] * 9)}, u.head FROM u)")
# Events and e-mails as arrays, so that the statement's text does not depend on how many there are (psycopg
# prepares a statement it sees again); inserted in their order (ids are the delivery order).
_SAVE_EVENTS = (", e AS (INSERT INTO events (event_id, numero, version, type, payload)"
                " SELECT v.event_id, u.numero, %s, v.type, v.payload FROM u,"
                " unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS v(event_id, type, payload, n)"
                " ORDER BY v.n)")
_SAVE_OUTBOX = (", o AS (INSERT INTO outbox (numero, version, template, recipient, subject, body_text, body_html)"
                " SELECT u.numero, %s, v.template, v.recipient, v.subject, v.body_text, v.body_html FROM u,"
                " unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
                " WITH ORDINALITY AS v(template, recipient, subject, body_text, body_html, n) ORDER BY v.n)")
_SAVE_COMMAND = (", c AS (INSERT INTO commands (command_id, numero, trigger, version, actor_role, actor_id, subject,"
                 " digest) SELECT %s, u.numero, %s, %s, %s, %s, %s, %s FROM u)")
_SAVE_MATCHED = " SELECT count(*) FROM u"


def save_statement(dossier: Dossier, w: Written, base: Chain, *, expected_version: int, emails: tuple[Email, ...],
                    events: tuple[Event, ...], command: CommandRecord | None) -> tuple[str, tuple[Any, ...]]:
    """A save as one statement (data-modifying CTEs) and its parameters; it returns how many rows ``u`` matched.

    One statement in autocommit is one round trip and one commit, and all or nothing like any
    statement. The sub-statements are listed in ``LOCK_ORDER``; PostgreSQL does not promise to run them in
    that order (they share one snapshot), but the only rows they lock are the dossier's and the new ones,
    and a lock cycle would be a deadlock the server breaks: a ``ConcurrencyConflict`` the service retries.
    """
    f = dossier.fournisseur
    text = [_SAVE_UPDATE, _SAVE_JOURNAL]
    params: list[Any] = [w.data, dossier.status.value, f.ans_id, w.version, w.position, w.sceau, f.siret,
                         f.raison_sociale, dossier.gestionnaire, dossier.date_changement_statut,
                         dossier.numero, expected_version, base.head, *w.row(dossier.numero)[1:-1]]
    if events:
        text.append(_SAVE_EVENTS)
        params += (w.version, [e.event_id for e in events], [type(e).__name__ for e in events],
                   [event_to_json(e) for e in events])
    if emails:
        text.append(_SAVE_OUTBOX)
        params += (w.version, [e.template for e in emails], [e.to for e in emails], [e.subject for e in emails],
                   [e.text for e in emails], [e.html for e in emails])
    record = command_record(dossier, command)
    if record is not None:
        text.append(_SAVE_COMMAND)
        params += (record.command_id, record.trigger, w.version, record.actor_role, record.actor_id,
                   record.subject, record.digest)
    text.append(_SAVE_MATCHED)
    return "".join(text), tuple(params)
