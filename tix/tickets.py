"""The ticket lifecycle: every state change goes through this module.

Each public function here is one transaction that changes the ticket, appends its event, and
queues the emails it causes; if any part fails, none of it happens.

    create            -> open
    agent reply       -> answered        (the waiting-on-customer clock starts)
    customer reply    -> customer-reply  (clock and reminder cleared; a closed ticket reopens)
    status (agents)   -> in-progress | on-hold
    close             -> closed          (by agent, customer, or `auto` from tix-jobs)
    reopen            -> open
    internal note     -> no change, never seen by the customer
"""

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from tix import clock, codes, mail, settings
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed, NotFound, ticket_not_found
from tix.models import (
    PRIORITIES,
    STATUSES,
    Account,
    Agent,
    AgentDepartment,
    Attachment,
    Contact,
    Department,
    EscalationFiring,
    Event,
    Message,
    Outbox,
    Service,
    Ticket,
    Watcher,
)
from tix.store import insert_rows, transaction

AGENT_STATUSES = ("in-progress", "on-hold")
# Who the event log names for the ticket assistant's note (tix/checks.py).
ASSISTANT_ACTOR = "system:assistant"
SUBJECT_MAX = 200


@dataclass
class NewAttachment:
    filename: str
    data: bytes
    content_type: str | None = None


# -- validation -------------------------------------------------------------------------------


def clean_subject(subject: str) -> str:
    text = (subject or "").strip()
    if not text:
        raise InvalidInput("subject is empty")
    if len(text) > SUBJECT_MAX:
        raise InvalidInput(f"subject is longer than {SUBJECT_MAX} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidInput("subject must be one line of text without control characters")
    _check_utf8(text, "subject")
    return text


def _check_utf8(text: str, what: str) -> None:
    # Undecodable bytes in argv reach us as lone surrogates, which no database can store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None


def clean_body(body: str, conf: settings.Settings) -> str:
    if body is None or not body.strip():
        raise InvalidInput("message body is empty")
    if "\x00" in body:
        raise InvalidInput("message body contains a NUL character")
    if len(body) > conf.body_max_chars:
        raise InvalidInput(f"message body is longer than {conf.body_max_chars} characters")
    _check_utf8(body, "message body")
    return body.strip("\n")


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidInput(f"unknown priority {priority!r}: use one of {', '.join(PRIORITIES)}")
    return priority


def department_by_slug(slug: str) -> Department:
    dept = Department.get_or_none(Department.slug == (slug or "").strip().lower())
    if dept is None:
        known = ", ".join(d.slug for d in Department.select().order_by(Department.id))
        raise InvalidInput(f"unknown department {slug!r}: use one of {known}")
    return dept


def check_attachments(files: list[NewAttachment], conf: settings.Settings) -> None:
    for item in files:
        if len(item.data) > conf.attachment_max_bytes:
            raise InvalidInput(
                f"attachment {item.filename!r} is {len(item.data)} bytes; "
                f"the limit is {conf.attachment_max_bytes}"
            )


def read_attachment(path: str, conf: settings.Settings) -> NewAttachment:
    file = Path(path)
    limit = conf.attachment_max_bytes
    try:
        size = file.stat().st_size
        if size > limit:
            raise InvalidInput(f"attachment {file.name!r} is {size} bytes; the limit is {limit}")
        # Read no more than the limit allows: /dev/zero or a growing file reports a small size.
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise InvalidInput(f"attachment {file.name!r} is over the limit of {limit} bytes")
    except OSError as exc:
        raise InvalidInput(f"cannot read attachment {path!r}: {exc.strerror}") from None
    except ValueError:  # a NUL in the path
        raise InvalidInput(f"cannot read attachment {path!r}: not a file name") from None
    return NewAttachment(filename=file.name, data=data)


# -- finding tickets --------------------------------------------------------------------------


def visible_tickets(principal: Principal):
    query = Ticket.select()
    visible = principal.visible_account_ids()
    if visible is not None:
        query = query.where(Ticket.account.in_(list(visible)))
    return query


def get_ticket(principal: Principal, typed_code: str) -> Ticket:
    """The ticket, if this principal may see it; otherwise the same NotFound as a missing one."""
    code = codes.normalize(typed_code)
    if code is None:
        raise ticket_not_found(typed_code or "")
    ticket = visible_tickets(principal).where(Ticket.code == code).first()
    if ticket is None:
        raise ticket_not_found(code)
    return ticket


def account_for(principal: Principal, handle: str | None) -> Account:
    """The account a new ticket belongs to: the contact's own, or one they may act for."""
    if handle is None:
        if principal.contact is None:
            raise InvalidInput("agents must name the customer with --account HANDLE")
        return principal.contact.account
    account = Account.get_or_none(Account.handle == handle.strip().lower())
    if account is None or not principal.can_see_account(account.id):
        raise NotFound(f"no account {handle!r}")
    return account


# -- recipients -------------------------------------------------------------------------------


def customer_recipients(ticket: Ticket) -> list[mail.Recipient]:
    """The account owner, the contact who opened the ticket, and every contact with ticket
    emails on; nobody else, each once."""
    return customer_recipients_of([ticket])[ticket.id]


def customer_recipients_of(batch: list[Ticket]) -> dict[int, list[mail.Recipient]]:
    """customer_recipients of many tickets (a tix-jobs batch) in one query."""
    if not batch:
        return {}
    contacts = (
        Contact.select(
            Contact.id,
            Contact.account,
            Contact.email,
            Contact.name,
            Contact.lang,
            Contact.is_owner,
            Contact.ticket_emails,
        )
        .where(
            Contact.account.in_(sorted({t.account_id for t in batch}))
            & (
                (Contact.is_owner == True)
                | (Contact.ticket_emails == True)
                | Contact.id.in_(sorted({t.contact_id for t in batch}))
            )
        )
        .order_by(Contact.is_owner.desc(), Contact.id)
    )
    by_account: dict[int, list[Contact]] = {}
    for contact in contacts:
        by_account.setdefault(contact.account_id, []).append(contact)
    result = {}
    for ticket in batch:
        seen, recipients = set(), []
        for contact in by_account.get(ticket.account_id, []):
            if not (contact.is_owner or contact.ticket_emails or contact.id == ticket.contact_id):
                continue  # fetched for another ticket of the batch that this contact opened
            key = contact.email.lower()
            if key not in seen:
                seen.add(key)
                recipients.append(mail.Recipient(contact.email, contact.name, contact.lang))
        result[ticket.id] = recipients
    return result


def agent_recipients(ticket: Ticket, exclude: Principal | None = None) -> list[mail.Recipient]:
    """The assignee if there is one, else the agents of the ticket's department."""
    if ticket.assignee_id:
        agents = Agent.select().where(Agent.id == ticket.assignee_id, Agent.active == True)
    else:
        agents = (
            Agent.select()
            .join(AgentDepartment)
            .where(AgentDepartment.department == ticket.department_id, Agent.active == True)
            .order_by(Agent.id)
        )
    skip = exclude.email.lower() if exclude and exclude.agent else None
    result = [mail.Recipient(a.email, a.name, a.lang) for a in agents if a.email.lower() != skip]
    # Watchers follow the ticket whatever its department or assignee (each once).
    seen = {r.email.lower() for r in result}
    return result + [r for r in watcher_recipients(ticket, exclude) if r.email.lower() not in seen]


def watcher_recipients(ticket: Ticket, exclude: Principal | None = None) -> list[mail.Recipient]:
    """Active agents watching the ticket (`tix watch`), except the one acting."""
    agents = (
        Agent.select()
        .join(Watcher, on=(Watcher.agent == Agent.id))
        .where(Watcher.ticket == ticket.id, Agent.active == True)
        .order_by(Agent.id)
    )
    skip = exclude.email.lower() if exclude and exclude.agent else None
    return [mail.Recipient(a.email, a.name, a.lang) for a in agents if a.email.lower() != skip]


def _mail_values(ticket: Ticket, **extra) -> dict:
    return _mail_values_of([ticket], **extra)[ticket.id]


def _mail_values_of(batch: list[Ticket], **extra) -> dict[int, dict]:
    """What the templates say about each ticket of a batch: two queries however many."""
    departments = {
        d.id: d.name_en
        for d in Department.select(Department.id, Department.name_en).where(
            Department.id.in_(sorted({t.department_id for t in batch}))
        )
    }
    accounts = {
        a.id: a.name
        for a in Account.select(Account.id, Account.name).where(
            Account.id.in_(sorted({t.account_id for t in batch}))
        )
    }
    return {
        ticket.id: {
            "code": ticket.code,
            "subject": ticket.subject,
            "priority": ticket.priority,
            "department": departments[ticket.department_id],
            "status": ticket.status,
            "customer": accounts[ticket.account_id],
            **extra,
        }
        for ticket in batch
    }


# -- the event log ----------------------------------------------------------------------------


def _event(ticket: Ticket, actor: str, kind: str, before=None, after=None, at=None) -> Event:
    return Event.create(
        ticket=ticket,
        at=at or clock.now(),
        actor=actor,
        kind=kind,
        before=json.dumps(before, default=str, sort_keys=True) if before is not None else None,
        after=json.dumps(after, default=str, sort_keys=True) if after is not None else None,
    )


def _save_attachments(ticket, message, files: list[NewAttachment]) -> None:
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


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket inside the transaction (row-locked on PostgreSQL) so a decision is
    made on its current state, not on what was read before the transaction began."""
    query = Ticket.select().where(Ticket.id == ticket.id)
    if not isinstance(Ticket._meta.database.obj, pw.SqliteDatabase):
        query = query.for_update()
    return query.get()


# The fields every change that ends a wait on the customer resets.
CLOCK_CLEARED = {"waiting_since": None, "reminded_at": None, "reminder_delivered_at": None}


def _apply(ticket: Ticket, changes: dict) -> None:
    changes = dict(changes, updated_at=clock.now())
    Ticket.update(**changes).where(Ticket.id == ticket.id).execute()
    if "reminded_at" in changes:
        # The wait ended (CLOCK_CLEARED): its reminder, if still queued, would tell the customer
        # a ticket that is no longer waiting "will be closed".
        cancel_pending_reminders([ticket.id])
    for name, value in changes.items():
        setattr(ticket, name, value)


REMINDER_CANCELLED = "cancelled: the ticket stopped waiting on the customer before it was sent"


def cancel_pending_reminders(ticket_ids: list[int]) -> int:
    """Cancel the reminders of these tickets that no run has begun to hand over: queued,
    retrying, or claimed but not started (the claiming run then finds the row no longer its own
    and skips it). One already being handed over may be delivered: it is left alone, and its
    delivery arms nothing (reminder_delivered checks the wait it belongs to)."""
    return (
        Outbox.update(
            status="cancelled", claimed_by=None, lease_until=None, last_error=REMINDER_CANCELLED
        )
        .where(
            Outbox.ticket.in_(ticket_ids),
            Outbox.kind == "reminder",
            Outbox.status.in_(("pending", "failed"))
            | ((Outbox.status == "sending") & Outbox.attempt_started_at.is_null()),
        )
        .execute()
    )


# -- transitions ------------------------------------------------------------------------------


def create(
    principal: Principal,
    *,
    department: str,
    priority: str,
    subject: str,
    body: str,
    account: str | None = None,
    service: str | None = None,
    attachments: list[NewAttachment] | None = None,
    conf: settings.Settings | None = None,
    assistant_note: str | None = None,
) -> Ticket:
    """`assistant_note`: the ticket assistant's findings (tix/checks.py), filed as an internal
    note for the technician in the same transaction as the ticket."""
    conf = conf or settings.load()
    attachments = attachments or []
    subject, body = clean_subject(subject), clean_body(body, conf)
    check_priority(priority)
    check_attachments(attachments, conf)
    with transaction():
        dept = department_by_slug(department)
        owner_account = account_for(principal, account)
        svc = None
        if service:
            svc = Service.get_or_none(
                Service.account == owner_account, Service.name == service.strip().lower()
            )
            if svc is None:
                raise InvalidInput(f"account {owner_account.handle} has no service {service!r}")
        opener = principal.contact
        if opener is None or opener.account_id != owner_account.id:
            # An agent or a reseller files for the customer: the customer's owner is the opener.
            opener = (
                Contact.select()
                .where(Contact.account == owner_account)
                .order_by(Contact.is_owner.desc(), Contact.id)
                .first()
            )
            if opener is None:
                raise InvalidInput(f"account {owner_account.handle} has no contacts")
        now = clock.now()
        ticket = _insert_with_fresh_code(
            subject=subject,
            department=dept,
            priority=priority,
            status="open",
            account=owner_account,
            contact=opener,
            service=svc,
            created_at=now,
            updated_at=now,
            last_customer_activity_at=now if principal.contact else None,
        )
        message = Message.create(
            ticket=ticket,
            author_agent=principal.agent,
            author_contact=principal.contact,
            body=body,
            created_at=now,
        )
        _save_attachments(ticket, message, attachments)
        _event(
            ticket,
            principal.actor,
            "created",
            after={
                "status": "open",
                "department": dept.slug,
                "priority": priority,
                "subject": subject,
            },
        )
        if assistant_note:
            # Stamped after the `created` event, so the history reads in the order it happened.
            _file_assistant_note(ticket, assistant_note, clock.now())
        values = _mail_values(ticket, body=body)
        mail.queue(
            kind="ticket-created",
            recipients=customer_recipients(ticket),
            values=values,
            ticket=ticket,
            conf=conf,
        )
        mail.queue(
            kind="agent-new-ticket",
            recipients=agent_recipients(ticket, principal),
            values=values,
            ticket=ticket,
            conf=conf,
        )
    return ticket


def _file_assistant_note(ticket: Ticket, note: str, now) -> None:
    """The assistant's internal note and its event. On PostgreSQL through a function of
    migration 0009: under row-level security the customer whose command files the ticket may
    neither write nor read back an internal note."""
    db = Ticket._meta.database.obj
    if isinstance(db, pw.PostgresqlDatabase):
        db.execute_sql(
            "SELECT tix_add_assistant_note(%s, %s, %s, %s)", (ticket.id, note, now, ASSISTANT_ACTOR)
        )
        return
    Message.create(ticket=ticket, body=note, internal=True, created_at=now)
    _event(ticket, ASSISTANT_ACTOR, "note", at=now)


def _insert_with_fresh_code(**fields) -> Ticket:
    for _ in range(20):
        code = codes.new_code()
        if not Ticket.select(Ticket.id).where(Ticket.code == code).exists():
            return Ticket.create(code=code, **fields)
    raise RuntimeError("could not find a free ticket code")  # 40 random bits: not in practice


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
    if internal:
        principal.require_agent("write internal notes")
    ticket = merged_target(ticket)
    with transaction():
        ticket = _locked(ticket)
        now = clock.now()
        before = ticket.status
        if internal:
            after, changes, kind = before, {}, "note"
        elif principal.agent:
            if before == "closed":
                raise NotAllowed(f"ticket {ticket.code} is closed: reopen it before replying")
            after, kind = "answered", "agent-reply"
            changes = dict(CLOCK_CLEARED, status=after, waiting_since=now, last_agent_reply_at=now)
        else:
            # A customer's reply to a closed ticket reopens it, like `tix reopen`.
            after, kind = ("open" if before == "closed" else "customer-reply"), "customer-reply"
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
        _save_attachments(ticket, message, attachments)
        # An internal note leaves the ticket untouched, updated_at included: customers see
        # that field, and it must not tell them a note was written.
        if changes:
            _apply(ticket, changes)
        _event(ticket, principal.actor, kind, before={"status": before}, after={"status": after})
        if before == "closed" and after == "open":
            _event(
                ticket,
                principal.actor,
                "reopened",
                before={"status": "closed"},
                after={"status": "open"},
            )
        if kind == "agent-reply":
            mail.queue(
                kind="agent-reply",
                recipients=customer_recipients(ticket),
                values=_mail_values(ticket, body=body, author=principal.name),
                ticket=ticket,
                conf=conf,
            )
            mail.queue(
                kind="agent-watch-reply",
                recipients=watcher_recipients(ticket, principal),
                values=_mail_values(ticket, body=body, author=principal.name),
                ticket=ticket,
                conf=conf,
            )
        elif kind == "customer-reply":
            mail.queue(
                kind="agent-customer-reply",
                recipients=agent_recipients(ticket),
                values=_mail_values(ticket, body=body),
                ticket=ticket,
                conf=conf,
            )
    return message


def close(principal: Principal, ticket: Ticket, *, conf: settings.Settings | None = None) -> Ticket:
    conf = conf or settings.load()
    with transaction():
        ticket = _locked(ticket)
        if ticket.status == "closed":
            raise NotAllowed(f"ticket {ticket.code} is already closed")
        before = ticket.status
        reason = "agent" if principal.agent else "customer"
        now = clock.now()
        _apply(
            ticket,
            dict(
                CLOCK_CLEARED,
                status="closed",
                closed_at=now,
                closed_by=principal.email,
                close_reason=reason,
            ),
        )
        _event(
            ticket,
            principal.actor,
            "closed",
            before={"status": before},
            after={"status": "closed", "reason": reason},
        )
        mail.queue(
            kind="closed",
            recipients=customer_recipients(ticket),
            values=_mail_values(ticket),
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
        ticket = _locked(ticket)
        if ticket.status != "closed":
            raise NotAllowed(
                f"ticket {ticket.code} is {ticket.status}, not closed: nothing to reopen"
            )
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
        _apply(ticket, changes)
        _event(
            ticket,
            principal.actor,
            "reopened",
            before={"status": "closed"},
            after={"status": "open"},
        )
        values = _mail_values(ticket, body=body or "")
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
        ticket = _locked(ticket)
        if ticket.status == "closed":
            raise NotAllowed(f"ticket {ticket.code} is closed: reopen it first")
        if ticket.status == status:
            raise NotAllowed(f"ticket {ticket.code} is already {status}")
        before = ticket.status
        _apply(ticket, dict(CLOCK_CLEARED, status=status))
        _event(
            ticket, principal.actor, "status", before={"status": before}, after={"status": status}
        )
        mail.queue(
            kind="status-changed",
            recipients=customer_recipients(ticket),
            values=_mail_values(ticket),
            ticket=ticket,
            conf=conf,
        )
    return ticket


UNCHANGED = object()


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
        ticket = _locked(ticket)
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
                    pw.fn.LOWER(Agent.email) == agent_email.strip().lower(), Agent.active == True
                )
                if new_assignee is None:
                    raise InvalidInput(f"no active agent {agent_email!r}")
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
        _apply(ticket, changes)
        _event(ticket, principal.actor, "reassigned", before=before, after=after)
        # The new technician hears of it, unless they assigned it to themselves.
        if changes.get("assignee") and changes["assignee"] != principal.agent.id:
            mail.queue(
                kind="agent-assigned",
                recipients=[
                    mail.Recipient(new_assignee.email, new_assignee.name, new_assignee.lang)
                ],
                values=_mail_values(ticket),
                ticket=ticket,
                conf=conf,
            )
    return ticket


# -- email in (tix-jobs mail-in) ---------------------------------------------------------------


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
        return _event(
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


# -- the agents' desk: claim, merge, escalate (issue 7) ----------------------------------------

# Tickets waiting for an agent's answer: what `tix next` claims and escalation rules watch.
AWAITING_AGENT = ("open", "customer-reply")


def merged_target(ticket: Ticket) -> Ticket:
    """The ticket a merged ticket lives on now (itself if it was never merged)."""
    seen = set()
    while ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = Ticket.get_by_id(ticket.merged_into_id)
    return ticket


def claim_next(
    principal: Principal, *, department: str | None = None, conf: settings.Settings | None = None
) -> Ticket | None:
    """Assign to this agent the most urgent unassigned ticket waiting in their departments
    (emergency first, then by how long the customer has waited); None if there is none.

    Two agents claiming at once never get the same ticket: on PostgreSQL the candidate row is
    locked with FOR UPDATE SKIP LOCKED (the other agent skips it and takes the next one); on
    SQLite the transaction takes the write lock first (BEGIN IMMEDIATE), so claims queue."""
    conf = conf or settings.load()
    principal.require_agent("claim tickets")
    agent = principal.agent
    dept_ids = [
        link.department_id
        for link in AgentDepartment.select().where(AgentDepartment.agent == agent.id)
    ]
    if department is not None:
        dept = department_by_slug(department)
        if dept.id not in dept_ids:
            raise NotAllowed(f"you are not an agent of department {dept.slug}")
        dept_ids = [dept.id]
    if not dept_ids:
        raise NotAllowed("you belong to no department: ask an admin to add you to one")
    waited_since = pw.fn.COALESCE(Ticket.last_customer_activity_at, Ticket.created_at)
    with transaction():
        query = (
            Ticket.select()
            .where(
                Ticket.assignee.is_null(),
                Ticket.status.in_(AWAITING_AGENT),
                Ticket.department.in_(dept_ids),
            )
            .order_by(Ticket.priority.desc(), waited_since, Ticket.id)
            .limit(1)
        )
        if not isinstance(Ticket._meta.database.obj, pw.SqliteDatabase):
            query = query.for_update(skip_locked=True)
        ticket = next(iter(query), None)
        if ticket is None:
            return None
        _apply(ticket, {"assignee": agent.id})
        # Logged like a reassignment to oneself (`tix reassign CODE --agent me`), which also
        # means no email: the agent who claims it is the one who would be told.
        _event(
            ticket,
            principal.actor,
            "reassigned",
            before={"assignee": None},
            after={"assignee": agent.email, "claimed": True},
        )
    return ticket


def merge(
    principal: Principal, source: Ticket, target: Ticket, *, conf: settings.Settings | None = None
) -> Ticket:
    """Merge `source` into `target`: its messages and attachments move to `target` (its events
    stay where the append-only log wrote them and are read through `history`), `source` is
    closed pointing at `target`, and the customers of both get one email each."""
    conf = conf or settings.load()
    principal.require_agent("merge tickets")
    if source.id == target.id:
        raise InvalidInput(f"cannot merge {source.code} into itself")
    with transaction():
        # Locked in id order so two opposite merges cannot deadlock.
        locked = {t.id: _locked(t) for t in sorted((source, target), key=lambda t: t.id)}
        source, target = locked[source.id], locked[target.id]
        if source.merged_into_id:
            raise NotAllowed(
                f"ticket {source.code} is already merged into {merged_target(source).code}"
            )
        if target.merged_into_id:
            raise NotAllowed(
                f"ticket {target.code} was merged into "
                f"{merged_target(target).code}: merge into that one"
            )
        if target.status == "closed":
            raise NotAllowed(f"ticket {target.code} is closed: reopen it before merging into it")
        if source.account_id != target.account_id:
            # A merged thread is shown to the target's customer: never another account's.
            raise NotAllowed(
                f"tickets {source.code} and {target.code} belong to different accounts"
            )
        recipients = customer_recipients(target)
        known = {r.email.lower() for r in recipients}
        recipients += [r for r in customer_recipients(source) if r.email.lower() not in known]
        now = clock.now()
        Message.update(ticket=target.id).where(Message.ticket == source.id).execute()
        Attachment.update(ticket=target.id).where(Attachment.ticket == source.id).execute()
        watching = {w.agent_id for w in Watcher.select().where(Watcher.ticket == target.id)}
        for row in Watcher.select().where(Watcher.ticket == source.id):
            if row.agent_id not in watching:
                Watcher.insert(ticket=target.id, agent=row.agent_id, created_at=now).execute()
        Watcher.delete().where(Watcher.ticket == source.id).execute()
        # Tickets merged into `source` before now point straight at `target`.
        Ticket.update(merged_into=target.id).where(Ticket.merged_into == source.id).execute()
        before = source.status
        _apply(
            source,
            dict(
                CLOCK_CLEARED,
                status="closed",
                closed_at=now,
                closed_by=principal.email,
                close_reason="merged",
                merged_into=target.id,
            ),
        )
        target_changes = {}
        latest = max(
            filter(None, [source.last_customer_activity_at, target.last_customer_activity_at]),
            default=None,
        )
        if latest != target.last_customer_activity_at:
            target_changes["last_customer_activity_at"] = latest
        _apply(target, target_changes)
        _event(
            source,
            principal.actor,
            "merged",
            before={"status": before},
            after={"status": "closed", "reason": "merged", "into": target.code},
        )
        _event(target, principal.actor, "merged-in", after={"from": source.code})
        mail.queue(
            kind="merged",
            recipients=recipients,
            values=_mail_values(target, merged_code=source.code),
            ticket=target,
            conf=conf,
        )
    return target


def waiting_period_start(ticket: Ticket):
    """When the current wait for an agent began: the customer's last message, else creation."""
    return ticket.last_customer_activity_at or ticket.created_at


def escalate(
    ticket: Ticket,
    *,
    rule: str,
    period_start,
    still_applies,
    priority: str | None = None,
    assignee: Agent | None = None,
    notify: Agent | None = None,
    conf: settings.Settings | None = None,
) -> dict | None:
    """Fire escalation `rule` on a ticket, once per waiting period: raise its priority (never
    lower it), reassign it, notify someone. `still_applies(ticket)` re-checks the rule on the
    locked, current row, so a reply that landed since the selection wins. Returns the changes,
    or None if the rule had already fired for this period or no longer applies."""
    conf = conf or settings.load()
    with transaction():
        ticket = _locked(ticket)
        if waiting_period_start(ticket) != period_start or not still_applies(ticket):
            return None
        fired = EscalationFiring.select().where(
            EscalationFiring.rule == rule,
            EscalationFiring.ticket == ticket.id,
            EscalationFiring.period_start == period_start,
        )
        if fired.exists():
            return None
        now = clock.now()
        EscalationFiring.create(
            rule=rule, ticket=ticket.id, period_start=period_start, fired_at=now
        )
        before, after, changes = {}, {"rule": rule}, {}
        if priority and PRIORITIES.index(priority) > PRIORITIES.index(ticket.priority):
            before["priority"], after["priority"] = ticket.priority, priority
            changes["priority"] = priority
        if assignee is not None and assignee.id != ticket.assignee_id:
            old = Agent.get_by_id(ticket.assignee_id).email if ticket.assignee_id else None
            before["assignee"], after["assignee"] = old, assignee.email
            changes["assignee"] = assignee.id
        if notify is not None:
            after["notified"] = notify.email
        _apply(ticket, changes)
        _event(ticket, "job:escalate", "escalated", before=before, after=after)
        values = _mail_values(ticket, rule=rule)
        if "assignee" in changes:
            mail.queue(
                kind="agent-assigned",
                recipients=[mail.Recipient(assignee.email, assignee.name, assignee.lang)],
                values=values,
                ticket=ticket,
                conf=conf,
            )
        if notify is not None:
            mail.queue(
                kind="agent-escalated",
                recipients=[mail.Recipient(notify.email, notify.name, notify.lang)],
                values=values,
                ticket=ticket,
                conf=conf,
            )
    return after


# -- reading ----------------------------------------------------------------------------------


def thread(principal: Principal, ticket: Ticket) -> list[Message]:
    """The ticket's messages in order; customers never receive internal notes."""
    query = (
        Message.select(Message, Agent, Contact)
        .join(Agent, pw.JOIN.LEFT_OUTER, on=(Message.author_agent == Agent.id))
        .switch(Message)
        .join(Contact, pw.JOIN.LEFT_OUTER, on=(Message.author_contact == Contact.id))
        .where(Message.ticket == ticket.id)
        .order_by(Message.created_at, Message.id)
    )
    if not principal.agent:
        query = query.where(Message.internal == False)
    return list(query)


def attachments_of(principal: Principal, ticket: Ticket) -> list[Attachment]:
    query = (
        Attachment.select(
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
            Attachment.created_at,
            Attachment.message,
        )
        .join(Message, pw.JOIN.LEFT_OUTER, on=(Attachment.message == Message.id))
        .where(Attachment.ticket == ticket.id)
        .order_by(Attachment.id)
    )
    if not principal.agent:
        query = query.where((Message.internal == False) | (Message.id.is_null()))
    return list(query)


def get_attachment(principal: Principal, ticket: Ticket, attachment_id: int) -> Attachment:
    for item in attachments_of(principal, ticket):
        if item.id == attachment_id:
            return Attachment.get_by_id(attachment_id)
    raise NotFound(f"ticket {ticket.code} has no attachment {attachment_id}")


def history(principal: Principal, ticket: Ticket) -> list[Event]:
    # Events are append-only, so a merge leaves them on the merged ticket: read them from there.
    merged = Ticket.select(Ticket.id).where(Ticket.merged_into == ticket.id)
    query = (
        Event.select()
        .where((Event.ticket == ticket.id) | Event.ticket.in_(merged))
        .order_by(Event.at, Event.id)
    )
    if not principal.agent:
        query = query.where(Event.kind != "note")
    return list(query)


def list_tickets(
    principal: Principal,
    *,
    statuses: list[str] | None = None,
    department: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    account: str | None = None,
    since=None,
    include_closed: bool = False,
    limit: int | None = None,
    matching=None,
) -> list[Ticket]:
    """Tickets this principal may see, with filters. Agents get the queue order (priority, then
    age); customers their history, newest first. `matching` is an extra condition on Ticket
    (`tix search` passes its full-text match)."""
    query = (
        visible_tickets(principal)
        .select(Ticket, Department, Account, Agent)
        .join(Department, on=(Ticket.department == Department.id))
        .switch(Ticket)
        .join(Account, on=(Ticket.account == Account.id))
        .switch(Ticket)
        .join(Agent, pw.JOIN.LEFT_OUTER, on=(Ticket.assignee == Agent.id))
    )
    if statuses:
        for status in statuses:
            if status not in STATUSES:
                raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
        query = query.where(Ticket.status.in_(statuses))
    elif not include_closed:
        query = query.where(Ticket.status != "closed")
    if department:
        query = query.where(Ticket.department == department_by_slug(department).id)
    if priority:
        query = query.where(Ticket.priority == check_priority(priority))
    if assignee:
        who = assignee.strip().lower()
        if who == "me":
            principal.require_agent("filter by --assignee me")
            query = query.where(Ticket.assignee == principal.agent.id)
        elif who == "none":
            query = query.where(Ticket.assignee.is_null())
        else:
            query = query.where(pw.fn.LOWER(Agent.email) == who)
    if account:
        query = query.where(Ticket.account == account_for(principal, account).id)
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    if matching is not None:
        query = query.where(matching)
    if principal.agent:
        query = query.order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
    else:
        query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        # Beyond a 64-bit integer neither database takes it; it means "all" anyway.
        query = query.limit(min(limit, 2**63 - 1))
    return list(query)


# -- job transitions --------------------------------------------------------------------------
#
# What `tix-jobs` does to tickets. Candidates are read in bounded batches by id (TIX_BATCH_SIZE)
# and each batch is one transaction. Each ticket's transition is still a compare-and-set: the
# batch's UPDATE repeats, in the WHERE, every condition the ticket was selected on, so a ticket a
# reply (or another run) got to first matches nothing, and gets no event and no email; the rest
# of the batch goes ahead. Cutoffs are computed here, in UTC.

JOBS_ACTOR = "system:tix-jobs"


def wait_text(delay) -> str:
    """A delay as the reminder states it ('24 h', '90 min'): reads the same in English and
    Spanish, so one value serves every recipient's template."""
    seconds = int(delay.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


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


def reminder_due(conf: settings.Settings, now):
    """The rule, in one place for the select and the compare-and-set: answered, waiting on the
    customer for at least remind_after, not yet reminded."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null()
        & (Ticket.waiting_since <= now - conf.remind_after)
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
        _job_mail(
            done, "reminder", conf, now, reminder_of=now, close_after=wait_text(conf.close_after)
        )
    return done


def _update_still_due(batch: list[Ticket], still_due, **changes) -> list[Ticket]:
    """The compare-and-set of a batch: one UPDATE whose WHERE repeats, for each ticket, every
    condition it was selected on (against the ticket as it is now), returning the rows it
    changed. A ticket that a reply or another run changed meanwhile no longer matches."""
    if not batch:
        return []
    target = Ticket.id.in_([t.id for t in batch]) & still_due
    if not isinstance(Ticket._meta.database.obj, pw.SqliteDatabase):
        # Row locks in id order, like every multi-ticket change: two runs never deadlock. (On
        # SQLite the transaction already holds the write lock.)
        locked = Ticket.select(Ticket.id).where(target).order_by(Ticket.id).for_update()
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
    values = _mail_values_of(done, **extra)
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
    _event(
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


def close_due(conf: settings.Settings, now):
    """Still answered, reminded, and the reminder delivered at least close_after ago."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null(False)
        & Ticket.reminder_delivered_at.is_null(False)
        & (Ticket.reminder_delivered_at <= now - conf.close_after)
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
