"""What `tix-jobs` does to tickets. Candidates are read in bounded batches by id (TIX_BATCH_SIZE)
and each batch is one transaction. Each ticket's transition is still a compare-and-set: the
batch's UPDATE repeats, in the WHERE, every condition the ticket was selected on, so a ticket a
reply (or another run) got to first matches nothing, and gets no event and no email; the rest
of the batch goes ahead. Cutoffs are computed here, in UTC."""

import json

from tix import clock, mail, settings
from tix.models import (
    Ticket,
)
from tix.outbox import cancel_pending_reminders
from tix.store import for_update, insert_rows, is_postgres, transaction
from tix.tickets.recipients import customer_recipients_of, mail_values_of
from tix.tickets.record import record_event
from tix.tickets.rules import CLOCK_CLEARED, JOBS_ACTOR, close_due, reminder_due


def due_for_reminder(
    conf: settings.Settings, now, *, after_id: int = 0, limit: int | None = None
) -> list[Ticket]:
    """Tickets waiting on the customer for at least remind_after and not yet reminded (their
    id and code: remind_batch reads the rest as it changes them)."""
    return list(
        Ticket.select(Ticket.id, Ticket.code)
        .where(reminder_due(conf, now), Ticket.id > after_id)
        .order_by(Ticket.id)
        .limit(limit or conf.batch_size)
    )


def remind(ticket: Ticket, *, conf: settings.Settings, now=None) -> bool:
    """Remind one ticket (see remind_batch); False (nothing written) if it changed since it
    was selected or another run reminded it first."""
    return bool(remind_batch([ticket], conf=conf, now=now))


def remind_batch(batch: list[Ticket], *, conf: settings.Settings, now=None) -> list[Ticket]:
    """Mark reminded, in one transaction, every ticket of the batch that is still due, and
    queue one reminder per recipient of each. Returns the tickets reminded."""
    now = now or clock.now()
    still_due = reminder_due(conf, now)
    with transaction():
        done = _update_still_due(
            batch, still_due, reminded_at=now, reminder_delivered_at=None, updated_at=now
        )
        _job_events(done, "reminded", after={"reminded_at": now}, at=now)
        # reminder_of ties each email to this wait: a late delivery never arms a newer one.
        _job_mail(done, "reminder", conf, now, reminder_of=now, close_after=conf.close_after)
    return done


def _update_still_due(batch: list[Ticket], still_due, **changes) -> list[Ticket]:
    """The compare-and-set of a batch: one UPDATE whose WHERE repeats, for each ticket, every
    condition it was selected on (against the ticket as it is now), returning the rows it
    changed. A ticket that a reply or another run changed meanwhile no longer matches."""
    if not batch:
        return []
    target = Ticket.id.in_([t.id for t in batch]) & still_due
    if is_postgres():
        # Row locks in id order, like every multi-ticket change: two runs never deadlock. (On
        # SQLite the transaction already holds the write lock.)
        locked = for_update(Ticket.select(Ticket.id).where(target).order_by(Ticket.id))
        target = Ticket.id.in_(locked)
    changed = Ticket.update(**changes).where(target).returning(*JOB_FIELDS).execute()
    return sorted(changed, key=lambda t: t.id)


# What the jobs read of a ticket they changed: enough for its event and its emails.
JOB_FIELDS = (
    Ticket.id,
    Ticket.code,
    Ticket.subject,
    Ticket.priority,
    Ticket.status,
    Ticket.department,
    Ticket.account,
    Ticket.contact,
)


def _job_events(done: list[Ticket], kind: str, *, at, before=None, after=None) -> None:
    before = json.dumps(before, default=str, sort_keys=True) if before is not None else None
    after = json.dumps(after, default=str, sort_keys=True) if after is not None else None
    insert_rows(
        "events",
        ("ticket_id", "at", "actor", "kind", "before", "after"),
        [(t.id, at, JOBS_ACTOR, kind, before, after) for t in done],
    )


def _job_mail(
    done: list[Ticket], kind: str, conf: settings.Settings, now, *, reminder_of=None, **extra
) -> None:
    """The customers' emails of a batch: recipients and template values fetched for the whole
    batch, each template read once, rows inserted a few hundred at a time."""
    if not done:
        return
    recipients = customer_recipients_of(done)
    values = mail_values_of(done, **extra)
    templates, rows = {}, []
    for ticket in done:
        rows += mail.outbox_rows(
            kind=kind,
            recipients=recipients[ticket.id],
            values=values[ticket.id],
            ticket_id=ticket.id,
            conf=conf,
            now=now,
            reminder_of=reminder_of,
            templates=templates,
        )
    mail.insert_outbox_rows(rows)
    mail.insert_reply_keys(rows)  # each email's reply key, in bulk too


def reminder_delivered(ticket_id: int, reminder_of, at) -> bool:
    """Called by the dispatcher inside the transaction that marks a reminder email sent: starts
    the auto-close countdown, but only if the ticket still waits on that very reminder."""
    changed = (
        Ticket.update(reminder_delivered_at=at)
        .where(
            Ticket.id == ticket_id,
            Ticket.status == "answered",
            Ticket.reminded_at == reminder_of,
            Ticket.reminder_delivered_at.is_null(),
        )
        .execute()
    )
    if changed != 1:
        return False
    record_event(
        Ticket.get_by_id(ticket_id),
        JOBS_ACTOR,
        "reminder-delivered",
        after={"reminder_delivered_at": at},
        at=at,
    )
    return True


def due_for_autoclose(
    conf: settings.Settings, now, *, after_id: int = 0, limit: int | None = None
) -> list[Ticket]:
    """Tickets (id and code) still waiting on the customer whose reminder was delivered (not
    merely queued) at least close_after ago."""
    return list(
        Ticket.select(Ticket.id, Ticket.code)
        .where(close_due(conf, now), Ticket.id > after_id)
        .order_by(Ticket.id)
        .limit(limit or conf.batch_size)
    )


def autoclose(ticket: Ticket, *, conf: settings.Settings, now=None) -> bool:
    """Close one ticket (see autoclose_batch); False (nothing written) if it changed since it
    was selected or another run closed it first."""
    return bool(autoclose_batch([ticket], conf=conf, now=now))


def autoclose_batch(batch: list[Ticket], *, conf: settings.Settings, now=None) -> list[Ticket]:
    """Close with reason `auto`, in one transaction, every ticket of the batch that is still
    due, and queue the closing notices. Returns the tickets closed."""
    now = now or clock.now()
    still_due = close_due(conf, now)
    with transaction():
        done = _update_still_due(
            batch,
            still_due,
            **CLOCK_CLEARED,
            status="closed",
            closed_at=now,
            closed_by="tix-jobs",
            close_reason="auto",
            updated_at=now,
        )
        if done:
            # A reminder to a second recipient may still be retrying: it is stale now.
            cancel_pending_reminders([t.id for t in done])
        _job_events(
            done,
            "closed",
            before={"status": "answered"},
            after={"status": "closed", "reason": "auto"},
            at=now,
        )
        _job_mail(done, "auto-closed", conf, now)
    return done
