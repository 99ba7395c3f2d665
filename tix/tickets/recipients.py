"""Who is emailed about a ticket, and what the templates say about it."""

import peewee as pw

from tix import mail
from tix.auth import Principal
from tix.models import (
    Account,
    Agent,
    AgentDepartment,
    Contact,
    Department,
    Message,
    Ticket,
    Watcher,
)


def contact_recipient(contact: Contact) -> mail.Recipient:
    return mail.Recipient(contact.email, contact.name, contact.lang, contact_id=contact.id)


def agent_recipient(agent: Agent) -> mail.Recipient:
    return mail.Recipient(agent.email, agent.name, agent.lang, agent_id=agent.id)


def customer_recipients(ticket: Ticket) -> list[mail.Recipient]:
    """A reseller who filed the ticket for its client, the account owner, the contact who
    opened the ticket, and every contact with ticket emails on; nobody else, each once, and
    nobody deactivated."""
    return customer_recipients_of([ticket])[ticket.id]


def customer_recipients_of(batch: list[Ticket]) -> dict[int, list[mail.Recipient]]:
    """customer_recipients of many tickets (a tix-jobs batch) in two queries."""
    if not batch:
        return {}
    filers = _filers_of(batch)
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
            (Contact.active == True)
            & (
                (
                    Contact.account.in_(sorted({t.account_id for t in batch}))
                    & ((Contact.is_owner == True) | (Contact.ticket_emails == True))
                )
                | Contact.id.in_(sorted({t.contact_id for t in batch} | set(filers.values())))
            )
        )
        .order_by(Contact.is_owner.desc(), Contact.id)
    )
    by_account: dict[int, list[Contact]] = {}
    by_id: dict[int, Contact] = {}
    for contact in contacts:
        by_account.setdefault(contact.account_id, []).append(contact)
        by_id[contact.id] = contact
    result = {}
    for ticket in batch:
        seen, recipients = set(), []
        filer = by_id.get(filers.get(ticket.id))
        # A reseller who filed a client's ticket belongs to another account: named first.
        outside = [filer] if filer is not None and filer.account_id != ticket.account_id else []
        for contact in outside + by_account.get(ticket.account_id, []):
            wanted = contact.is_owner or contact.ticket_emails or contact.id == ticket.contact_id
            if not (wanted or contact is filer):
                continue  # fetched for another ticket of the batch that this contact opened
            key = contact.email.lower()
            if key not in seen:
                seen.add(key)
                recipients.append(contact_recipient(contact))
        result[ticket.id] = recipients
    return result


def _filers_of(batch: list[Ticket]) -> dict[int, int]:
    """ticket id -> the contact who wrote its first message (who filed it), where one did."""
    first = (
        Message.select(pw.fn.MIN(Message.id))
        .where(Message.ticket.in_(sorted({t.id for t in batch})))
        .group_by(Message.ticket)
    )
    rows = Message.select(Message.ticket, Message.author_contact).where(
        Message.id.in_(first), Message.author_contact.is_null(False)
    )
    return {row.ticket_id: row.author_contact_id for row in rows}


def agent_recipients(ticket: Ticket, exclude: Principal | None = None) -> list[mail.Recipient]:
    """The assignee if there is one (and active), else the agents of the ticket's department."""
    agents = []
    if ticket.assignee_id:
        agents = list(Agent.select().where(Agent.id == ticket.assignee_id, Agent.active == True))
    if not agents:
        agents = (
            Agent.select()
            .join(AgentDepartment)
            .where(AgentDepartment.department == ticket.department_id, Agent.active == True)
            .order_by(Agent.id)
        )
    skip = exclude.email.lower() if exclude and exclude.agent else None
    result = [agent_recipient(a) for a in agents if a.email.lower() != skip]
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
    return [agent_recipient(a) for a in agents if a.email.lower() != skip]


def mail_values(ticket: Ticket, **extra) -> dict:
    return mail_values_of([ticket], **extra)[ticket.id]


def mail_values_of(batch: list[Ticket], **extra) -> dict[int, dict]:
    """What the templates say about each ticket of a batch: two queries however many."""
    departments = {
        d.id: d
        for d in Department.select(Department.id, Department.name_en, Department.name_es).where(
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
            "department": departments[ticket.department_id].name_en,
            "department_es": departments[ticket.department_id].name_es,
            "status": ticket.status,
            "customer": accounts[ticket.account_id],
            **extra,
        }
        for ticket in batch
    }
