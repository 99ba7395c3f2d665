"""Rows that need a person or a change of plan: listing, requeueing, cancelling."""

import peewee as pw

from tix import clock
from tix.errors import InvalidInput, NotAllowed, NotFound
from tix.models import Outbox, Ticket
from tix.outbox.states import ATTENTION, ATTENTION_ROWS, LIST_STATUSES, RETRYABLE
from tix.store import transaction


def listing(status: str | None = None, limit: int | None = None) -> list[Outbox]:
    """Rows newest first (each with `ticket_code`); service.shapes.outbox_row shows one."""
    if status is not None and status not in LIST_STATUSES:
        raise InvalidInput(
            f"unknown outbox status {status!r}: use one of {', '.join(LIST_STATUSES)}"
        )
    query = (
        Outbox.select(Outbox, Ticket.code.alias("ticket_code"))
        .join(Ticket, pw.JOIN.LEFT_OUTER, on=(Outbox.ticket == Ticket.id))
        .order_by(Outbox.id.desc())
        .objects()
    )
    if status in ATTENTION:
        # Written out as in the partial index outbox_attention, so SQLite can use it.
        query = query.where(pw.SQL("t1.status IN ('failed', 'dead', 'uncertain', 'cancelled')"))
    if status:
        query = query.where(Outbox.status == status)
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        query = query.limit(limit)
    return list(query)


def _requeue(where) -> int:
    now = clock.now()
    return (
        Outbox.update(
            status="pending",
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            claimed_by=None,
            attempt_started_at=None,
        )
        .where(where)
        .execute()
    )


def retry(row_id: int) -> Outbox:
    """Queue a failed, dead or uncertain message again, from a fresh attempt count."""
    with transaction():
        row = Outbox.get_or_none(Outbox.id == row_id)
        if row is None:
            raise NotFound(f"no outbox message {row_id}")
        if row.status not in RETRYABLE:
            raise NotAllowed(
                f"outbox message {row_id} is {row.status}: only "
                f"{', '.join(RETRYABLE)} messages can be retried"
            )
        # The status is repeated in the WHERE so a run finishing the row meanwhile wins.
        if _requeue((Outbox.id == row_id) & (Outbox.status == row.status)) != 1:
            raise NotAllowed(f"outbox message {row_id} changed meanwhile: look again")
    return Outbox.get_by_id(row_id)


def retry_all_dead() -> int:
    with transaction():
        return _requeue(ATTENTION_ROWS & (Outbox.status == "dead"))


def retry_all_uncertain() -> int:
    """Requeue every uncertain message: for after a person checked that none of them arrived
    (the mail server's log), e.g. after a crash left one per connection."""
    with transaction():
        return _requeue(ATTENTION_ROWS & (Outbox.status == "uncertain"))


REMINDER_CANCELLED = "cancelled: the ticket stopped waiting on the customer before it was sent"


def cancel_pending_reminders(ticket_ids: list[int]) -> int:
    """Cancel the reminders of these tickets that no run has begun to hand over: queued,
    retrying, or claimed but not started (the claiming run then finds the row no longer its own
    and skips it). One already being handed over may be delivered: it is left alone, and its
    delivery arms nothing (reminder_delivered checks the wait it belongs to)."""
    cancel = Outbox.update(
        status="cancelled", claimed_by=None, lease_until=None, last_error=REMINDER_CANCELLED
    )
    mine = (Outbox.ticket.in_(ticket_ids), Outbox.kind == "reminder")
    # Two statements, each on its partial index (the status written out as in the index, so
    # SQLite can use it): queued or retrying ones by ticket (outbox_ticket_unsent), claimed
    # ones among the few rows runs hold (outbox_leases).
    queued = cancel.where(*mine, pw.SQL("outbox.status IN ('pending', 'failed')")).execute()
    claimed = cancel.where(
        *mine, pw.SQL("outbox.status = 'sending'"), Outbox.attempt_started_at.is_null()
    ).execute()
    return queued + claimed
