"""The changes people make to a ticket: reply, note, close, reopen, status, reassign."""

import peewee as pw

from tix import clock, mail, settings
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed, NotFound, quoted
from tix.models import (
    STATUSES,
    Agent,
    Department,
    Event,
    Message,
    Ticket,
)
from tix.store import transaction
from tix.tickets.reading import department_by_slug, merged_target
from tix.tickets.recipients import (
    agent_recipient,
    agent_recipients,
    customer_recipients,
    mail_values,
    watcher_recipients,
)
from tix.tickets.record import apply_changes, locked_ticket, record_event, save_attachments
from tix.tickets.rules import (
    AGENT_STATUSES,
    CLOCK_CLEARED,
    UNCHANGED,
    NewAttachment,
    check_attachments,
    check_priority,
    check_reply,
    clean_body,
)


def reply(
    principal: Principal,
    ticket: Ticket,
    body: str,
    *,
    internal: bool = False,
    attachments: list[NewAttachment] | None = None,
    conf: settings.Settings | None = None,
) -> Message:
    conf = conf or settings.load()
    attachments = attachments or []
    body = clean_body(body, conf)
    check_attachments(attachments, conf)
    ticket = merged_target(ticket)
    check_reply(principal, ticket, internal=internal)
    with transaction():
        ticket = locked_ticket(ticket)
        check_reply(principal, ticket, internal=internal)
        now = clock.now()
        before = ticket.status
        if internal:
            after, changes, kind = before, {}, "note"
        elif principal.agent:
            after, kind = "answered", "agent-reply"
            changes = dict(CLOCK_CLEARED, status=after, waiting_since=now, last_agent_reply_at=now)
        else:
            # A customer's reply to a closed ticket reopens it, like `tix reopen`: one change,
            # logged as one `reopened` event.
            after = "open" if before == "closed" else "customer-reply"
            kind = "reopened" if before == "closed" else "customer-reply"
            changes = dict(CLOCK_CLEARED, status=after, last_customer_activity_at=now)
            if before == "closed":
                changes.update(closed_at=None, closed_by=None, close_reason=None)
        message = Message.create(
            ticket=ticket,
            author_agent=principal.agent,
            author_contact=principal.contact,
            body=body,
            internal=internal,
            created_at=now,
        )
        save_attachments(ticket, message, attachments)
        # An internal note leaves the ticket untouched, updated_at included: customers see
        # that field, and it must not tell them a note was written.
        if changes:
            apply_changes(ticket, changes)
        record_event(
            ticket, principal.actor, kind, before={"status": before}, after={"status": after}
        )
        # The email says which files came with the message (they stay in the ticket).
        files = [mail.header_safe(item.filename, 120) for item in attachments]
        if kind == "agent-reply":
            values = mail_values(ticket, body=body, author=principal.name, attachments=files)
            mail.queue(
                kind="agent-reply",
                recipients=customer_recipients(ticket),
                values=values,
                ticket=ticket,
                conf=conf,
            )
            mail.queue(
                kind="agent-watch-reply",
                recipients=watcher_recipients(ticket, principal),
                values=values,
                ticket=ticket,
                conf=conf,
            )
        elif kind in ("customer-reply", "reopened"):
            # A reply that reopens tells the agents so, like `tix reopen` (with the message).
            mail.queue(
                kind="reopened" if kind == "reopened" else "agent-customer-reply",
                recipients=agent_recipients(ticket),
                values=mail_values(ticket, body=body, attachments=files),
                ticket=ticket,
                conf=conf,
            )
    return message


def close(principal: Principal, ticket: Ticket, *, conf: settings.Settings | None = None) -> Ticket:
    conf = conf or settings.load()
    with transaction():
        ticket = locked_ticket(ticket)
        if ticket.status == "closed":
            raise NotAllowed.said("already-closed", code=ticket.code)
        before = ticket.status
        reason = "agent" if principal.agent else "customer"
        now = clock.now()
        apply_changes(
            ticket,
            dict(
                CLOCK_CLEARED,
                status="closed",
                closed_at=now,
                closed_by=principal.email,
                close_reason=reason,
            ),
        )
        record_event(
            ticket,
            principal.actor,
            "closed",
            before={"status": before},
            after={"status": "closed", "reason": reason},
        )
        mail.queue(
            kind="closed",
            recipients=customer_recipients(ticket),
            values=mail_values(ticket),
            ticket=ticket,
            conf=conf,
        )
    return ticket


def reopen(
    principal: Principal,
    ticket: Ticket,
    body: str | None = None,
    *,
    conf: settings.Settings | None = None,
) -> Ticket:
    conf = conf or settings.load()
    if body is not None:
        body = clean_body(body, conf)
    with transaction():
        ticket = locked_ticket(ticket)
        if ticket.status != "closed":
            raise NotAllowed.said("not-closed", code=ticket.code, status=ticket.status)
        if ticket.merged_into_id:
            raise NotAllowed(
                f"ticket {ticket.code} was merged into "
                f"{merged_target(ticket).code}: reopen or reply there"
            )
        now = clock.now()
        changes = dict(
            CLOCK_CLEARED, status="open", closed_at=None, closed_by=None, close_reason=None
        )
        if principal.contact:
            changes["last_customer_activity_at"] = now
        if body:
            Message.create(
                ticket=ticket,
                author_agent=principal.agent,
                author_contact=principal.contact,
                body=body,
                created_at=now,
            )
        apply_changes(ticket, changes)
        record_event(
            ticket,
            principal.actor,
            "reopened",
            before={"status": "closed"},
            after={"status": "open"},
        )
        values = mail_values(ticket, body=body or "")
        if principal.agent:
            mail.queue(
                kind="reopened",
                recipients=customer_recipients(ticket),
                values=values,
                ticket=ticket,
                conf=conf,
            )
        else:
            mail.queue(
                kind="reopened",
                recipients=agent_recipients(ticket),
                values=values,
                ticket=ticket,
                conf=conf,
            )
    return ticket


def set_status(
    principal: Principal, ticket: Ticket, status: str, *, conf: settings.Settings | None = None
) -> Ticket:
    conf = conf or settings.load()
    principal.require_agent("set a ticket's status")
    if status not in AGENT_STATUSES:
        if status in STATUSES:
            raise InvalidInput(
                f"status {status!r} is set by the lifecycle, not by hand: use reply, close or reopen"
            )
        raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(AGENT_STATUSES)}")
    with transaction():
        ticket = locked_ticket(ticket)
        if ticket.status == "closed":
            raise NotAllowed(f"ticket {ticket.code} is closed: reopen it first")
        if ticket.status == status:
            raise NotAllowed(f"ticket {ticket.code} is already {status}")
        before = ticket.status
        apply_changes(ticket, dict(CLOCK_CLEARED, status=status))
        record_event(
            ticket, principal.actor, "status", before={"status": before}, after={"status": status}
        )
        mail.queue(
            kind="status-changed",
            recipients=customer_recipients(ticket),
            values=mail_values(ticket),
            ticket=ticket,
            conf=conf,
        )
    return ticket


def reassign(
    principal: Principal,
    ticket: Ticket,
    *,
    department: str | None = None,
    agent_email=UNCHANGED,
    priority: str | None = None,
    conf: settings.Settings | None = None,
) -> Ticket:
    conf = conf or settings.load()
    principal.require_agent("reassign tickets or change their priority")
    if department is None and agent_email is UNCHANGED and priority is None:
        raise InvalidInput("nothing to change: give --department, --agent or --priority")
    if priority is not None:
        check_priority(priority)
    with transaction():
        ticket = locked_ticket(ticket)
        # before/after are the event's record (slugs, emails); changes are the column values.
        before, after, changes = {}, {}, {}
        if department is not None:
            dept = department_by_slug(department)
            if dept.id != ticket.department_id:
                before["department"] = Department.get_by_id(ticket.department_id).slug
                after["department"], changes["department"] = dept.slug, dept.id
        new_assignee = None
        if agent_email is not UNCHANGED:
            if agent_email is not None:
                new_assignee = Agent.get_or_none(
                    pw.fn.LOWER(Agent.email) == agent_email.strip().lower()
                )
                if new_assignee is None:  # unknown, like any other name: exit 3
                    raise NotFound.said("no-agent", email=quoted(agent_email))
                if not new_assignee.active:
                    raise NotAllowed(f"agent {new_assignee.email} is deactivated")
            new_id = new_assignee.id if new_assignee else None
            if new_id != ticket.assignee_id:
                before["assignee"] = (
                    Agent.get_by_id(ticket.assignee_id).email if ticket.assignee_id else None
                )
                after["assignee"] = new_assignee.email if new_assignee else None
                changes["assignee"] = new_id
        if priority is not None and priority != ticket.priority:
            before["priority"], after["priority"] = ticket.priority, priority
            changes["priority"] = priority
        if not changes:
            raise NotAllowed(f"ticket {ticket.code} already has those values")
        apply_changes(ticket, changes)
        record_event(ticket, principal.actor, "reassigned", before=before, after=after)
        # The new technician hears of it, unless they assigned it to themselves.
        if changes.get("assignee") and changes["assignee"] != principal.agent.id:
            mail.queue(
                kind="agent-assigned",
                recipients=[agent_recipient(new_assignee)],
                values=mail_values(ticket),
                ticket=ticket,
                conf=conf,
            )
    return ticket


def log_auto_reply(
    ticket: Ticket,
    *,
    actor: str,
    sender: str,
    subject: str,
    reason: str,
    message_id: str | None = None,
) -> Event:
    """An out-of-office answer, a bounce or other automatic mail about a ticket: logged, and
    nothing else. It is not customer activity, so no status, clock or reminder changes, and
    it is never answered (answering robots is how mail loops start)."""
    with transaction():
        return record_event(
            ticket,
            actor,
            "auto-reply",
            after={
                "from": sender,
                "subject": mail.header_safe(subject),
                "reason": reason,
                "message_id": message_id,
            },
        )
