"""The writes every transition shares: the event log, attachments, the locked re-read and the
change itself."""

import hashlib
import json
import mimetypes

from tix import clock, codes
from tix.models import (
    Attachment,
    Event,
    Ticket,
)
from tix.outbox import cancel_pending_reminders
from tix.store import for_update
from tix.tickets.rules import NewAttachment


def record_event(ticket: Ticket, actor: str, kind: str, before=None, after=None, at=None) -> Event:
    return Event.create(
        ticket=ticket,
        at=at or clock.now(),
        actor=actor,
        kind=kind,
        before=json.dumps(before, default=str, sort_keys=True) if before is not None else None,
        after=json.dumps(after, default=str, sort_keys=True) if after is not None else None,
    )


def save_attachments(ticket, message, files: list[NewAttachment]) -> None:
    for item in files:
        Attachment.create(
            ticket=ticket,
            message=message,
            filename=item.filename,
            content_type=item.content_type
            or mimetypes.guess_type(item.filename)[0]
            or "application/octet-stream",
            size=len(item.data),
            sha256=hashlib.sha256(item.data).hexdigest(),
            data=item.data,
            created_at=clock.now(),
        )


def locked_ticket(ticket: Ticket) -> Ticket:
    """Re-read the ticket inside the transaction (row-locked on PostgreSQL) so a decision is
    made on its current state, not on what was read before the transaction began."""
    return for_update(Ticket.select().where(Ticket.id == ticket.id)).get()


def apply_changes(ticket: Ticket, changes: dict) -> None:
    changes = dict(changes, updated_at=clock.now())
    Ticket.update(**changes).where(Ticket.id == ticket.id).execute()
    if "reminded_at" in changes:
        # The wait ended (CLOCK_CLEARED): its reminder, if still queued, would tell the customer
        # a ticket that is no longer waiting "will be closed".
        cancel_pending_reminders([ticket.id])
    for name, value in changes.items():
        setattr(ticket, name, value)


def insert_with_fresh_code(**fields) -> Ticket:
    for _ in range(20):
        code = codes.new_code()
        if not Ticket.select(Ticket.id).where(Ticket.code == code).exists():
            return Ticket.create(code=code, **fields)
    raise RuntimeError("could not find a free ticket code")  # 40 random bits: not in practice
