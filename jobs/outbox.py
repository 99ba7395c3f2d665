"""The outbox as a work queue: claiming rows, recording each delivery, listing and requeueing.

A row's life: `pending` -> `sending` (claimed by one run, under a lease) -> `sent`; or
`failed` (a temporary failure: retried after an exponential backoff), `dead` (refused, or too
many attempts) or `uncertain` (the server may have it: never resent without `retry`).

Exactly-once rests on three writes per message, each a compare-and-set on `claimed_by`:
the claim (FOR UPDATE SKIP LOCKED on PostgreSQL, the write lock of an immediate transaction on
SQLite), `start` just before the message is handed over, and the outcome. A run that dies
leaves its rows leased; once the lease expires the rows it never started are claimed again and
the one it was handing over becomes `uncertain`.
"""

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

import peewee as pw

from tix import clock, tickets
from tix.errors import InvalidInput, NotAllowed, NotFound
from tix.models import Outbox, Ticket
from tix.store import dialect, transaction

CLAIMABLE = ("pending", "failed")
RETRYABLE = ("failed", "dead", "uncertain")
LIST_STATUSES = ("pending", "sending", "sent", "failed", "dead", "uncertain")
BACKOFF_FIRST = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=24)
ERROR_MAX = 500

# Who holds a claim: unique per process run, readable in `tix-jobs outbox`.
WORKER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to: sent, retry (temporary), dead, or uncertain."""

    status: str
    error: str | None = None


SENT = Outcome("sent")


def backoff(attempts: int) -> timedelta:
    """15 min after the first failure, doubling, at most a day: 8 attempts span about 32 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def _db():
    return Outbox._meta.database.obj


def expire_leases(now) -> tuple[int, int]:
    """Rows whose run stopped (killed, crashed, stalled past its lease): the ones it never began
    to hand over are claimable again; the one it was handing over may have been delivered, so it
    becomes `uncertain` rather than risk a second copy. Returns (released, uncertain)."""
    expired = (Outbox.status == "sending") & (Outbox.lease_until < now)
    with transaction():
        uncertain = (Outbox.update(
            status="uncertain", attempts=Outbox.attempts + 1, lease_until=None,
            last_error="the run delivering it stopped before the server's answer was recorded; "
                       "it may have been delivered (use `tix-jobs outbox retry` to resend)")
            .where(expired & Outbox.attempt_started_at.is_null(False)).execute())
        released = (Outbox.update(status=pw.Case(None, [(Outbox.attempts > 0, "failed")], "pending"),
                                  claimed_by=None, lease_until=None)
                    .where(expired & Outbox.attempt_started_at.is_null()).execute())
    return released, uncertain


def due(now, limit: int | None = None) -> list[Outbox]:
    """Rows a run would send now (what --dry-run lists)."""
    query = (Outbox.select().where(
        (Outbox.status.in_(CLAIMABLE) & (Outbox.next_attempt_at <= now))
        | ((Outbox.status == "sending") & (Outbox.lease_until < now)
           & Outbox.attempt_started_at.is_null()))
        .order_by(Outbox.next_attempt_at, Outbox.id))
    return list(query.limit(limit) if limit else query)


def claim(now, limit: int, lease: timedelta) -> list[Outbox]:
    """Take up to `limit` due rows for this run; no other run can hold the same rows."""
    until = now + lease
    with transaction():
        if dialect(_db()) == "postgresql":
            cursor = _db().execute_sql(
                "UPDATE outbox SET status = 'sending', claimed_by = %s, lease_until = %s,"
                " attempt_started_at = NULL"
                " WHERE id IN (SELECT id FROM outbox"
                "  WHERE status IN ('pending', 'failed') AND next_attempt_at <= %s"
                "  ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING id", (WORKER, until, now, limit))
            ids = [row[0] for row in cursor.fetchall()]
        else:
            # Inside BEGIN IMMEDIATE this run holds SQLite's write lock: select-then-update is atomic.
            ids = [row.id for row in Outbox.select(Outbox.id)
                   .where(Outbox.status.in_(CLAIMABLE), Outbox.next_attempt_at <= now)
                   .order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)]
            if ids:
                (Outbox.update(status="sending", claimed_by=WORKER, lease_until=until,
                               attempt_started_at=None)
                 .where(Outbox.id.in_(ids)).execute())
        if not ids:
            return []
        return list(Outbox.select().where(Outbox.id.in_(ids)).order_by(Outbox.next_attempt_at, Outbox.id))


def start(row: Outbox, now, lease: timedelta) -> bool:
    """Record that this run is about to hand the message over, and renew the lease on the rest
    of its batch. False if the row is no longer this run's (its lease expired and another run
    took it): then it must not be sent."""
    with transaction():
        mine = (Outbox.update(attempt_started_at=now)
                .where(Outbox.id == row.id, Outbox.claimed_by == WORKER, Outbox.status == "sending")
                .execute())
        (Outbox.update(lease_until=now + lease)
         .where(Outbox.claimed_by == WORKER, Outbox.status == "sending").execute())
    return mine == 1


def record(row: Outbox, outcome: Outcome, now, max_attempts: int) -> str | None:
    """Store the outcome of one attempt; returns the row's new status (None if the row was no
    longer this run's). A delivered reminder arms its ticket's auto-close in the same
    transaction."""
    attempts = row.attempts + 1
    changes = {"attempts": Outbox.attempts + 1, "lease_until": None, "attempt_started_at": None,
               "last_error": (outcome.error or "")[:ERROR_MAX] or None}
    status = outcome.status
    if status == "retry":
        if attempts >= max_attempts:
            status = "dead"
            changes["last_error"] = f"gave up after {attempts} attempts: {outcome.error}"[:ERROR_MAX]
        else:
            status = "failed"
            changes["next_attempt_at"] = now + backoff(attempts)
    if status == "sent":
        changes["sent_at"] = now
    with transaction():
        # `uncertain` included: if this run stalled past its lease, another marked the row
        # uncertain; the server has now answered, so the truth can still be recorded.
        updated = (Outbox.update(status=status, **changes)
                   .where(Outbox.id == row.id, Outbox.claimed_by == WORKER,
                          Outbox.status.in_(("sending", "uncertain")))
                   .execute())
        if updated != 1:
            return None
        if status == "sent" and row.reminder_of is not None and row.ticket_id is not None:
            tickets.reminder_delivered(row.ticket_id, row.reminder_of, now)
    return status


def release_unstarted() -> int:
    """Give back rows this run claimed but will not try (it is stopping on an error)."""
    with transaction():
        return (Outbox.update(status=pw.Case(None, [(Outbox.attempts > 0, "failed")], "pending"),
                              claimed_by=None, lease_until=None)
                .where(Outbox.claimed_by == WORKER, Outbox.status == "sending",
                       Outbox.attempt_started_at.is_null())
                .execute())


# -- the `tix-jobs outbox` commands -----------------------------------------------------------

def listing(status: str | None = None, limit: int | None = None) -> list[dict]:
    if status is not None and status not in LIST_STATUSES:
        raise InvalidInput(f"unknown outbox status {status!r}: use one of {', '.join(LIST_STATUSES)}")
    query = (Outbox.select(Outbox, Ticket.code.alias("ticket_code"))
             .join(Ticket, pw.JOIN.LEFT_OUTER, on=(Outbox.ticket == Ticket.id))
             .order_by(Outbox.id.desc()).objects())
    if status:
        query = query.where(Outbox.status == status)
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        query = query.limit(limit)
    return [{
        "id": row.id, "status": row.status, "kind": row.kind, "recipient": row.recipient,
        "ticket": row.ticket_code, "attempts": row.attempts,
        "created_at": clock.iso(row.created_at), "next_attempt_at": clock.iso(row.next_attempt_at),
        "sent_at": clock.iso(row.sent_at), "last_error": row.last_error, "subject": row.subject,
        "message_id": row.message_id,
    } for row in query]


def _requeue(where) -> int:
    now = clock.now()
    return (Outbox.update(status="pending", attempts=0, next_attempt_at=now, lease_until=None,
                          claimed_by=None, attempt_started_at=None)
            .where(where).execute())


def retry(row_id: int) -> Outbox:
    """Queue a failed, dead or uncertain message again, from a fresh attempt count."""
    with transaction():
        row = Outbox.get_or_none(Outbox.id == row_id)
        if row is None:
            raise NotFound(f"no outbox message {row_id}")
        if row.status not in RETRYABLE:
            raise NotAllowed(f"outbox message {row_id} is {row.status}: only "
                             f"{', '.join(RETRYABLE)} messages can be retried")
        # The status is repeated in the WHERE so a run finishing the row meanwhile wins.
        if _requeue((Outbox.id == row_id) & (Outbox.status == row.status)) != 1:
            raise NotAllowed(f"outbox message {row_id} changed meanwhile: look again")
    return Outbox.get_by_id(row_id)


def retry_all_dead() -> int:
    with transaction():
        return _requeue(Outbox.status == "dead")

