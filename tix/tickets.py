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
    PRIORITIES, STATUSES, Account, Agent, AgentDepartment, Attachment, Contact, Department, Event,
    Message, Ticket, Service,
)
from tix.store import transaction

AGENT_STATUSES = ("in-progress", "on-hold")
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
    return text


def clean_body(body: str, conf: settings.Settings) -> str:
    if body is None or not body.strip():
        raise InvalidInput("message body is empty")
    if "\x00" in body:
        raise InvalidInput("message body contains a NUL character")
    if len(body) > conf.body_max_chars:
        raise InvalidInput(f"message body is longer than {conf.body_max_chars} characters")
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
    try:
        size = file.stat().st_size
        if size > conf.attachment_max_bytes:
            raise InvalidInput(f"attachment {file.name!r} is {size} bytes; the limit is {conf.attachment_max_bytes}")
        data = file.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read attachment {path!r}: {exc.strerror}") from None
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
    contacts = Contact.select().where(
        (Contact.account == ticket.account_id)
        & ((Contact.is_owner == True) | (Contact.ticket_emails == True)  # noqa: E712
           | (Contact.id == ticket.contact_id))
    ).order_by(Contact.is_owner.desc(), Contact.id)
    seen, result = set(), []
    for contact in contacts:
        key = contact.email.lower()
        if key not in seen:
            seen.add(key)
            result.append(mail.Recipient(contact.email, contact.name, contact.lang))
    return result


def agent_recipients(ticket: Ticket, exclude: Principal | None = None) -> list[mail.Recipient]:
    """The assignee if there is one, else the agents of the ticket's department."""
    if ticket.assignee_id:
        agents = Agent.select().where(Agent.id == ticket.assignee_id, Agent.active == True)  # noqa: E712
    else:
        agents = (Agent.select().join(AgentDepartment)
                  .where(AgentDepartment.department == ticket.department_id, Agent.active == True)  # noqa: E712
                  .order_by(Agent.id))
    skip = exclude.email.lower() if exclude and exclude.agent else None
    return [mail.Recipient(a.email, a.name, a.lang) for a in agents if a.email.lower() != skip]


def _mail_values(ticket: Ticket, **extra) -> dict:
    dept = Department.get_by_id(ticket.department_id)
    values = {
        "code": ticket.code, "subject": ticket.subject, "priority": ticket.priority,
        "department": dept.name_en, "status": ticket.status,
        "customer": Account.get_by_id(ticket.account_id).name,
    }
    values.update(extra)
    return values


# -- the event log ----------------------------------------------------------------------------

def _event(ticket: Ticket, actor: str, kind: str, before=None, after=None, at=None) -> Event:
    return Event.create(
        ticket=ticket, at=at or clock.now(), actor=actor, kind=kind,
        before=json.dumps(before, default=str, sort_keys=True) if before is not None else None,
        after=json.dumps(after, default=str, sort_keys=True) if after is not None else None,
    )


def _save_attachments(ticket, message, files: list[NewAttachment]) -> None:
    for item in files:
        Attachment.create(
            ticket=ticket, message=message, filename=item.filename,
            content_type=item.content_type or mimetypes.guess_type(item.filename)[0]
            or "application/octet-stream",
            size=len(item.data), sha256=hashlib.sha256(item.data).hexdigest(), data=item.data,
            created_at=clock.now(),
        )


def _refresh(ticket: Ticket) -> Ticket:
    return Ticket.get_by_id(ticket.id)


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
    for name, value in changes.items():
        setattr(ticket, name, value)


# -- transitions ------------------------------------------------------------------------------

def create(
    principal: Principal, *, department: str, priority: str, subject: str, body: str,
    account: str | None = None, service: str | None = None,
    attachments: list[NewAttachment] | None = None, conf: settings.Settings | None = None,
) -> Ticket:
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
            svc = Service.get_or_none(Service.account == owner_account, Service.name == service.strip())
            if svc is None:
                raise InvalidInput(f"account {owner_account.handle} has no service {service!r}")
        opener = principal.contact
        if opener is None or opener.account_id != owner_account.id:
            # An agent or a reseller files for the customer: the customer's owner is the opener.
            opener = (Contact.select().where(Contact.account == owner_account)
                      .order_by(Contact.is_owner.desc(), Contact.id).first())
            if opener is None:
                raise InvalidInput(f"account {owner_account.handle} has no contacts")
        now = clock.now()
        ticket = _insert_with_fresh_code(
            subject=subject, department=dept, priority=priority, status="open",
            account=owner_account, contact=opener, service=svc, created_at=now, updated_at=now,
            last_customer_activity_at=now if principal.contact else None,
        )
        message = Message.create(
            ticket=ticket, author_agent=principal.agent, author_contact=principal.contact,
            body=body, created_at=now,
        )
        _save_attachments(ticket, message, attachments)
        _event(ticket, principal.actor, "created", after={
            "status": "open", "department": dept.slug, "priority": priority, "subject": subject,
        })
        values = _mail_values(ticket, body=body)
        mail.queue(kind="ticket-created", recipients=customer_recipients(ticket), values=values,
                   ticket=ticket, conf=conf)
        mail.queue(kind="agent-new-ticket", recipients=agent_recipients(ticket, principal),
                   values=values, ticket=ticket, conf=conf)
    return ticket


def _insert_with_fresh_code(**fields) -> Ticket:
    for _ in range(20):
        code = codes.new_code()
        if not Ticket.select(Ticket.id).where(Ticket.code == code).exists():
            return Ticket.create(code=code, **fields)
    raise RuntimeError("could not find a free ticket code")  # 40 random bits: not in practice


def reply(
    principal: Principal, ticket: Ticket, body: str, *, internal: bool = False,
    attachments: list[NewAttachment] | None = None, conf: settings.Settings | None = None,
) -> Message:
    conf = conf or settings.load()
    attachments = attachments or []
    body = clean_body(body, conf)
    check_attachments(attachments, conf)
    if internal:
        principal.require_agent("write internal notes")
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
            ticket=ticket, author_agent=principal.agent, author_contact=principal.contact,
            body=body, internal=internal, created_at=now,
        )
        _save_attachments(ticket, message, attachments)
        if changes:
            _apply(ticket, changes)
        else:
            _apply(ticket, {})
        _event(ticket, principal.actor, kind, before={"status": before}, after={"status": after})
        if before == "closed" and after == "open":
            _event(ticket, principal.actor, "reopened", before={"status": "closed"}, after={"status": "open"})
        if kind == "agent-reply":
            mail.queue(kind="agent-reply", recipients=customer_recipients(ticket),
                       values=_mail_values(ticket, body=body, author=principal.name),
                       ticket=ticket, conf=conf)
        elif kind == "customer-reply":
            mail.queue(kind="agent-customer-reply", recipients=agent_recipients(ticket),
                       values=_mail_values(ticket, body=body), ticket=ticket, conf=conf)
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
        _apply(ticket, dict(CLOCK_CLEARED, status="closed", closed_at=now,
                            closed_by=principal.email, close_reason=reason))
        _event(ticket, principal.actor, "closed", before={"status": before},
               after={"status": "closed", "reason": reason})
        mail.queue(kind="closed", recipients=customer_recipients(ticket),
                   values=_mail_values(ticket), ticket=ticket, conf=conf)
    return ticket


def reopen(principal: Principal, ticket: Ticket, body: str | None = None, *,
           conf: settings.Settings | None = None) -> Ticket:
    conf = conf or settings.load()
    if body is not None:
        body = clean_body(body, conf)
    with transaction():
        ticket = _locked(ticket)
        if ticket.status != "closed":
            raise NotAllowed(f"ticket {ticket.code} is {ticket.status}, not closed: nothing to reopen")
        now = clock.now()
        changes = dict(CLOCK_CLEARED, status="open", closed_at=None, closed_by=None, close_reason=None)
        if principal.contact:
            changes["last_customer_activity_at"] = now
        if body:
            Message.create(ticket=ticket, author_agent=principal.agent,
                           author_contact=principal.contact, body=body, created_at=now)
        _apply(ticket, changes)
        _event(ticket, principal.actor, "reopened", before={"status": "closed"}, after={"status": "open"})
        values = _mail_values(ticket, body=body or "")
        if principal.agent:
            mail.queue(kind="reopened", recipients=customer_recipients(ticket), values=values,
                       ticket=ticket, conf=conf)
        else:
            mail.queue(kind="reopened", recipients=agent_recipients(ticket), values=values,
                       ticket=ticket, conf=conf)
    return ticket


def set_status(principal: Principal, ticket: Ticket, status: str, *,
               conf: settings.Settings | None = None) -> Ticket:
    conf = conf or settings.load()
    principal.require_agent("set a ticket's status")
    if status not in AGENT_STATUSES:
        if status in STATUSES:
            raise InvalidInput(
                f"status {status!r} is set by the lifecycle, not by hand: use reply, close or reopen")
        raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(AGENT_STATUSES)}")
    with transaction():
        ticket = _locked(ticket)
        if ticket.status == "closed":
            raise NotAllowed(f"ticket {ticket.code} is closed: reopen it first")
        if ticket.status == status:
            raise NotAllowed(f"ticket {ticket.code} is already {status}")
        before = ticket.status
        _apply(ticket, dict(CLOCK_CLEARED, status=status))
        _event(ticket, principal.actor, "status", before={"status": before}, after={"status": status})
        mail.queue(kind="status-changed", recipients=customer_recipients(ticket),
                   values=_mail_values(ticket), ticket=ticket, conf=conf)
    return ticket


UNCHANGED = object()


def reassign(principal: Principal, ticket: Ticket, *, department: str | None = None,
             agent_email=UNCHANGED, priority: str | None = None,
             conf: settings.Settings | None = None) -> Ticket:
    conf = conf or settings.load()
    principal.require_agent("reassign tickets or change their priority")
    if department is None and agent_email is UNCHANGED and priority is None:
        raise InvalidInput("nothing to change: give --department, --agent or --priority")
    if priority is not None:
        check_priority(priority)
    with transaction():
        ticket = _locked(ticket)
        before, after = {}, {}
        if department is not None:
            dept = department_by_slug(department)
            if dept.id != ticket.department_id:
                before["department"] = Department.get_by_id(ticket.department_id).slug
                after["department"] = dept.slug
                ticket.department = dept
        new_assignee = None
        if agent_email is not UNCHANGED:
            if agent_email is None:
                assignee_id = None
            else:
                new_assignee = Agent.get_or_none(
                    pw.fn.LOWER(Agent.email) == agent_email.strip().lower(), Agent.active == True)  # noqa: E712
                if new_assignee is None:
                    raise InvalidInput(f"no active agent {agent_email!r}")
                assignee_id = new_assignee.id
            if assignee_id != ticket.assignee_id:
                old = Agent.get_by_id(ticket.assignee_id).email if ticket.assignee_id else None
                before["assignee"], after["assignee"] = old, new_assignee.email if new_assignee else None
                ticket.assignee = assignee_id
        if priority is not None and priority != ticket.priority:
            before["priority"], after["priority"] = ticket.priority, priority
        if not after:
            raise NotAllowed(f"ticket {ticket.code} already has those values")
        changes = {}
        if "department" in after:
            changes["department"] = ticket.department_id
        if "assignee" in after:
            changes["assignee"] = ticket.assignee_id
        if "priority" in after:
            changes["priority"] = priority
        _apply(ticket, changes)
        _event(ticket, principal.actor, "reassigned", before=before, after=after)
        if new_assignee is not None and new_assignee.id != (principal.agent.id if principal.agent else None):
            mail.queue(kind="agent-assigned", recipients=[mail.Recipient(new_assignee.email, new_assignee.name, new_assignee.lang)],
                       values=_mail_values(ticket), ticket=ticket, conf=conf)
    return ticket


# -- reading ----------------------------------------------------------------------------------

def thread(principal: Principal, ticket: Ticket) -> list[Message]:
    """The ticket's messages in order; customers never receive internal notes."""
    query = (Message.select(Message, Agent, Contact)
             .join(Agent, pw.JOIN.LEFT_OUTER, on=(Message.author_agent == Agent.id))
             .switch(Message)
             .join(Contact, pw.JOIN.LEFT_OUTER, on=(Message.author_contact == Contact.id))
             .where(Message.ticket == ticket.id)
             .order_by(Message.created_at, Message.id))
    if not principal.agent:
        query = query.where(Message.internal == False)  # noqa: E712
    return list(query)


def attachments_of(principal: Principal, ticket: Ticket) -> list[Attachment]:
    query = (Attachment.select(Attachment.id, Attachment.filename, Attachment.content_type,
                               Attachment.size, Attachment.created_at, Attachment.message)
             .join(Message, pw.JOIN.LEFT_OUTER, on=(Attachment.message == Message.id))
             .where(Attachment.ticket == ticket.id).order_by(Attachment.id))
    if not principal.agent:
        query = query.where((Message.internal == False) | (Message.id.is_null()))  # noqa: E712
    return list(query)


def get_attachment(principal: Principal, ticket: Ticket, attachment_id: int) -> Attachment:
    for item in attachments_of(principal, ticket):
        if item.id == attachment_id:
            return Attachment.get_by_id(attachment_id)
    raise NotFound(f"ticket {ticket.code} has no attachment {attachment_id}")


def history(principal: Principal, ticket: Ticket) -> list[Event]:
    query = Event.select().where(Event.ticket == ticket.id).order_by(Event.at, Event.id)
    if not principal.agent:
        query = query.where(Event.kind != "note")
    return list(query)


def list_tickets(
    principal: Principal, *, statuses: list[str] | None = None, department: str | None = None,
    priority: str | None = None, assignee: str | None = None, account: str | None = None,
    since=None, include_closed: bool = False, limit: int | None = None,
) -> list[Ticket]:
    """Tickets this principal may see, with filters. Agents get the queue order (priority, then
    age); customers their history, newest first."""
    query = (visible_tickets(principal)
             .select(Ticket, Department, Account, Agent)
             .join(Department, on=(Ticket.department == Department.id)).switch(Ticket)
             .join(Account, on=(Ticket.account == Account.id)).switch(Ticket)
             .join(Agent, pw.JOIN.LEFT_OUTER, on=(Ticket.assignee == Agent.id)))
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
    if principal.agent:
        query = query.order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
    else:
        query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if limit is not None:
        if limit < 1:
            raise InvalidInput("--limit must be at least 1")
        query = query.limit(limit)
    return list(query)
