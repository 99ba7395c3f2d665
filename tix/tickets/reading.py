"""Finding and reading tickets, always through what the principal may see: a ticket that is
not yours reads exactly like one that does not exist."""

import peewee as pw

from tix import codes
from tix.auth import Principal
from tix.errors import InvalidInput, NotFound, quoted, ticket_not_found
from tix.models import (
    STATUSES,
    Account,
    Agent,
    Attachment,
    Contact,
    Department,
    Event,
    Message,
    Ticket,
)
from tix.tickets.rules import check_priority


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
        raise NotFound.said("no-account", handle=quoted(handle))
    return account


def department_by_slug(slug: str) -> Department:
    dept = Department.get_or_none(Department.slug == (slug or "").strip().lower())
    if dept is None:
        known = ", ".join(d.slug for d in Department.select().order_by(Department.id))
        raise InvalidInput.said("unknown-department", slug=quoted(slug), known=known)
    return dept


def merged_target(ticket: Ticket) -> Ticket:
    """The ticket a merged ticket lives on now (itself if it was never merged)."""
    seen = set()
    while ticket.merged_into_id and ticket.id not in seen:
        seen.add(ticket.id)
        ticket = Ticket.get_by_id(ticket.merged_into_id)
    return ticket


def thread(principal: Principal, ticket: Ticket) -> list:
    """The ticket's messages in order (author_email, body, internal, created_at); customers
    never receive internal notes. Plain rows, not models: `tix show` and the server read only
    these four, and building 20 models cost a third of a show."""
    query = (
        Message.select(
            Message.id,
            pw.fn.COALESCE(Agent.email, Contact.email, "system").alias("author_email"),
            Message.body,
            Message.internal,
            Message.created_at,
        )
        .join(Agent, pw.JOIN.LEFT_OUTER, on=(Message.author_agent == Agent.id))
        .switch(Message)
        .join(Contact, pw.JOIN.LEFT_OUTER, on=(Message.author_contact == Contact.id))
        .where(Message.ticket == ticket.id)
        .order_by(Message.created_at, Message.id)
    )
    if not principal.agent:
        query = query.where(Message.internal == False)
    return list(query.namedtuples())


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
                raise InvalidInput.said(
                    "unknown-status", status=quoted(status), known=", ".join(STATUSES)
                )
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
            if not Agent.select(Agent.id).where(pw.fn.LOWER(Agent.email) == who).exists():
                raise NotFound.said("no-agent", email=quoted(assignee))
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


def department_slugs() -> list[str]:
    return [d.slug for d in Department.select(Department.slug).order_by(Department.id)]


def open_codes(principal: Principal, prefix: str, limit: int) -> list[str]:
    """Codes of the tickets this principal sees that are not closed and start with `prefix`
    (as typed: lower case, with or without the dash)."""
    wanted = (prefix or "").strip().upper()
    query = (
        visible_tickets(principal)
        .select(Ticket.code)
        .where(Ticket.status != "closed")
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
    )
    if wanted:
        dashed = wanted if len(wanted) <= 4 or "-" in wanted else f"{wanted[:4]}-{wanted[4:]}"
        query = query.where(Ticket.code.startswith(dashed))
    return [t.code for t in query.limit(limit)]
