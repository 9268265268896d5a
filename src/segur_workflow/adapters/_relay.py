"""The relay part of the SQL repositories: pending e-mails, claims under a lease (one ``UPDATE …
RETURNING``), delivered / failed / dead letters, requeue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .._integration import event_from_json
from ..errors import InvalidInput
from ..ports import (
    Claim,
    DeadLetter,
    EntryKind,
    OutboxEmail,
)
from . import (
    SQL_INT_MAX,
    SQL_INT_MIN,
    check_claim,
    check_claim_value,
    check_kinds,
    check_limit,
    check_now,
    check_text,
)
from ._base import SQLBase, _email, method_errors

__all__ = ["Relay"]

#: The rows a claim may take: not settled, not held under a live lease, not waiting for a retry.
_DUE = ("sent_at IS NULL AND dead_at IS NULL AND (claimed_by IS NULL OR lease_until <= ?)"
        " AND (not_before IS NULL OR not_before <= ?)")

#: What a claim returns, per table (``id, numero, version, attempts`` first).
_CLAIMED = {
    "events": "id, numero, version, attempts, payload",
    "outbox": "id, numero, version, attempts, template, recipient, subject, body_text, body_html",
}

_TABLES: dict[EntryKind, str] = {"event": "events", "email": "outbox"}


class Relay(SQLBase):
    """The outbox and event relay of :mod:`segur_workflow.delivery`: claims under a lease, settled once."""

    @method_errors
    def mark_sent(self, email_id: int) -> None:
        if isinstance(email_id, bool) or not isinstance(email_id, int) or not SQL_INT_MIN <= email_id <= SQL_INT_MAX:
            return  # an id that cannot exist: ignored, as the port says of unknown ids
        with self._transaction() as cur:
            # A claimed entry is its holder's to settle (Dispatcher.mark_delivered).
            cur.execute(self._sql("UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL"
                                  " AND claimed_by IS NULL"), (self._moment(datetime.now(UTC)), email_id))

    @method_errors
    def pending_emails(self, limit: int = 100) -> list[OutboxEmail]:
        limit = check_limit(limit)
        with self._reading() as cur:
            rows = cur.execute(
                self._sql("SELECT id, numero, version, template, recipient, subject, body_text, body_html FROM outbox"
                          " WHERE sent_at IS NULL AND dead_at IS NULL ORDER BY id LIMIT ?"), (limit,),
            ).fetchall()
        return [OutboxEmail(int(r[0]), r[1], r[2], _email(*r[3:])) for r in rows]

    # -- the relay (segur_workflow.delivery) ------------------------------------------------------------------------
    @method_errors
    def claim(self, worker_id: str, *, now: datetime, lease: timedelta, limit: int = 100,
              kinds: Sequence[EntryKind] = ("event", "email")) -> list[Claim]:
        worker_id, now, lease, limit = check_claim(worker_id, now, lease, limit)
        until = now + lease
        claims: list[Claim] = []
        for kind in check_kinds(kinds):
            table = _TABLES[kind]
            if len(claims) >= limit:
                break
            moment = self._moment(now)
            # One statement picks and takes the rows: two dispatchers can never both claim one entry.
            with self._transaction() as cur:
                rows = cur.execute(
                    self._sql(f"UPDATE {table} SET claimed_by = ?, lease_until = ?, attempts = attempts + 1"
                              f" WHERE id IN (SELECT id FROM {table} WHERE {_DUE} ORDER BY id LIMIT ?{self.CLAIM_LOCK})"
                              f" RETURNING {_CLAIMED[table]}"),
                    (worker_id, self._moment(until), moment, moment, limit - len(claims)),
                ).fetchall()
            for r in sorted(rows, key=lambda r: int(r[0])):
                common = {"kind": kind, "id": int(r[0]), "numero": r[1], "version": int(r[2]),
                          "worker_id": worker_id, "attempt": int(r[3]), "lease_until": until}
                if kind == "event":
                    claims.append(Claim(**common, event=event_from_json(r[4])))
                else:
                    claims.append(Claim(**common, email=_email(*r[4:])))
        return claims

    def _settle(self, claim: Claim, assignments: str, values: tuple[object, ...]) -> bool:
        claim = check_claim_value(claim)
        with self._transaction() as cur:
            done = cur.execute(
                self._sql(f"UPDATE {_TABLES[claim.kind]} SET {assignments}, claimed_by = NULL, lease_until = NULL"
                          " WHERE id = ? AND claimed_by = ? AND attempts = ? AND sent_at IS NULL AND dead_at IS NULL"
                          " RETURNING id"),
                (*values, claim.id, claim.worker_id, claim.attempt),
            )
            # RETURNING rather than rowcount: a pipelined write (PostgreSQL) knows its result only when read
            return done.fetchone() is not None

    @method_errors
    def mark_delivered(self, claim: Claim, *, now: datetime) -> bool:
        return self._settle(claim, "sent_at = ?", (self._moment(check_now(now)),))

    @method_errors
    def mark_failed(self, claim: Claim, *, now: datetime, error: str, retry_at: datetime | None) -> bool:
        now = check_now(now)
        error = check_text("error", error)[:2000]
        if retry_at is None:
            return self._settle(claim, "dead_at = ?, last_error = ?", (self._moment(now), error))
        return self._settle(claim, "not_before = ?, last_error = ?", (self._moment(check_now(retry_at)), error))

    @method_errors
    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        limit = check_limit(limit)
        letters: list[DeadLetter] = []
        with self._snapshot() as cur:
            sources: tuple[tuple[EntryKind, str, str], ...] = (
                ("event", "events", "type || ' ' || event_id"), ("email", "outbox", "recipient || ' : ' || subject"))
            for kind, table, summary in sources:
                rows = cur.execute(
                    self._sql(f"SELECT id, numero, version, attempts, last_error, dead_at, {summary} FROM {table}"
                              " WHERE dead_at IS NOT NULL ORDER BY id LIMIT ?"), (limit,),
                ).fetchall()
                letters += [DeadLetter(kind, int(r[0]), r[1], int(r[2]), int(r[3]), r[4] or "",
                                       self._from_moment(r[5]), r[6]) for r in rows]
        return sorted(letters, key=lambda d: (d.dead_at, d.kind, d.id))[:limit]

    @method_errors
    def requeue(self, kind: EntryKind, entry_id: int) -> bool:
        table = _TABLES.get(kind)
        if table is None:
            raise InvalidInput("kind", "« email » ou « event »", kind)
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not SQL_INT_MIN <= entry_id <= SQL_INT_MAX:
            raise InvalidInput("entry_id", "un identifiant entier d'entrée", entry_id)
        with self._transaction() as cur:
            done = cur.execute(
                self._sql(f"UPDATE {table} SET dead_at = NULL, attempts = 0, not_before = NULL, claimed_by = NULL,"
                          " lease_until = NULL WHERE id = ? AND dead_at IS NOT NULL RETURNING id"), (entry_id,),
            )
            return done.fetchone() is not None
