"""Who sent a message, as far as tix can prove it, and so what may come of it (tix/inbound.py
acts on the Decision).

Anyone can write any From header. What proves a sender:

    a reply key (tix/replykeys.py) that an email tix sent carried: the message is that email's
        person's, about that email's ticket, whatever its From says (or, for the key of a held
        message, it answers "did you send this?");
    our own MTA's verdict on the From domain (Authentication-Results of an authserv-id in
        TIX_MAIL_TRUSTED_AUTHSERV, DMARC pass or aligned DKIM pass): enough for a contact,
        never for an agent, whose replies go out to customers from the support address.

A message its From alone would have filed (a reply that address may make, a new ticket from a
contact) is held instead (tix/held.py). A proof says who; whether they may write to the ticket
is still the rule below (a contact of its account, or its assigned active agent).
"""

import re
from dataclasses import dataclass, field

import peewee as pw

from tix import codes, mailsettings, replykeys, settings
from tix.auth import Principal
from tix.models import Agent, Contact, Department, HeldMail, Outbox, ReplyKey, Ticket

SUBJECT_CODE = re.compile(r"\[\s*#?([0-9A-Za-z]{4}-?[0-9A-Za-z]{4})\s*\]")


@dataclass
class Decision:
    action: str  # "reply", "create", "confirm", "hold" or "refuse"
    why: str  # one line: what proved it, or why it is held or refused
    ticket: Ticket | None = None
    author: Principal | None = None  # who files it, or (held) who it claims to be from
    department: Department | None = None
    key: ReplyKey | None = None  # the reply key that proved it
    held: HeldMail | None = None  # the held message a confirmation files
    used_keys: list[str] = field(default_factory=list)  # its valid keys: kept in no copy
    named: bool = False  # it names a ticket (which may not exist)


def _active(contact: Contact | None) -> Contact | None:
    """The contact unless deactivated (migration 0012): a deactivated contact proves and files
    nothing."""
    return contact if contact is not None and contact.active else None


def contact_for(address: str) -> Contact | None:
    if not address:
        return None
    return _active(Contact.get_or_none(pw.fn.LOWER(Contact.email) == address))


def may_write(ticket: Ticket, person: Principal) -> Principal | None:
    """The person, if they may write to this ticket by email: a contact who may see it (of its
    account, or its reseller's: a reseller files and follows its clients' tickets), or its
    assigned agent while active."""
    if person.contact is not None:
        return person if person.can_see_account(ticket.account_id) else None
    agent = person.agent
    return person if agent.active and agent.id == ticket.assignee_id else None


def author_for(ticket: Ticket, address: str) -> Principal | None:
    """Who this address is, if they may write to this ticket by email."""
    contact = contact_for(address)
    if contact is not None and Principal(contact=contact).can_see_account(ticket.account_id):
        return Principal(contact=contact)
    if ticket.assignee_id and address:
        agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == address, Agent.active == True)
        if agent is not None and agent.id == ticket.assignee_id:
            return Principal(agent=agent)
    return None


def find_ticket(incoming, conf: settings.Settings) -> tuple[Ticket | None, bool, bool]:
    """(ticket, named, proven): `named` when the message names a ticket at all (a code in the
    subject or a thread id, even of no ticket); `proven` when it answers a Message-ID tix
    generated (knowing it shows the sender received that email: enough to log a bounce, never
    to file anything)."""
    sent_ids = incoming.references + incoming.embedded_ids
    if sent_ids:
        row = (
            Outbox.select(Outbox.ticket)
            .where(Outbox.message_id.in_(sent_ids), Outbox.ticket.is_null(False))
            .first()
        )
        if row is not None:
            return Ticket.get_by_id(row.ticket_id), True, True
    thread = re.compile(rf"<ticket-([0-9A-Za-z-]{{8,9}})@{re.escape(conf.mail_domain)}>", re.I)
    named = []
    for ref in incoming.references:
        match = thread.fullmatch(ref)
        if match:
            named.append(match[1])
    named += SUBJECT_CODE.findall(incoming.subject)
    for typed in named:
        code = codes.normalize(typed)
        if code:
            return Ticket.get_or_none(Ticket.code == code), True, False
    return None, bool(named), False


def department_for(incoming) -> Department | None:
    for dept in Department.select().where(Department.email.is_null(False)).order_by(Department.id):
        if dept.email.strip().lower() in incoming.recipients:
            return dept
    return None


def _key_person(key: ReplyKey) -> Principal | None:
    """The person a key was sent to, while they are one (an agent: while active)."""
    if key.contact_id is not None:
        contact = _active(Contact.get_or_none(Contact.id == key.contact_id))
        return Principal(contact=contact) if contact is not None else None
    agent = Agent.get_or_none(Agent.id == key.agent_id, Agent.active == True)
    return Principal(agent=agent) if agent is not None else None


def decide(incoming, conf: settings.Settings, limits: mailsettings.MailInSettings) -> Decision:
    """What to do with a message that is not automatic (see the module docstring)."""
    found = replykeys.keys_in(incoming.recipients, incoming.references, conf)
    key = replykeys.find(found)
    person = _key_person(key) if key is not None else None
    if person is not None:
        used = [k for k in found if replykeys.key_hash(k) == key.key_hash]
        row = HeldMail.get_by_id(key.held_id) if key.held_id is not None else None
        if row is not None and row.kind == "new":
            why = f"confirmed by email: held message #{row.id}"
            return Decision(
                "confirm",
                why,
                author=person,
                department=row.department,
                key=key,
                held=row,
                used_keys=used,
            )
        ticket = Ticket.get_by_id(row.ticket_id if row is not None else key.ticket_id)
        author = may_write(ticket, person)
        if author is not None:
            action = "reply" if row is None else "confirm"
            why = "its reply key" if row is None else f"confirmed by email: held message #{row.id}"
            return Decision(
                action, why, ticket=ticket, author=author, key=key, held=row, used_keys=used
            )
    # No proof of its own: a key tix did not issue (or whose person may no longer write) proves
    # nothing, and the From header is all there is.
    unproven = "its reply key is not valid" if found else "no reply key"
    ticket, named, _ = find_ticket(incoming, conf)
    sender = incoming.sender
    author = author_for(ticket, sender) if ticket is not None else None
    if author is not None and author.agent is not None:
        why = f"an agent's reply by email needs its reply key ({unproven})"
        return Decision("hold", why, ticket=ticket, author=author, named=True)
    verdict = incoming.parsed.authentication(limits.trusted_authserv, limits.auth_hops)
    if author is not None:
        if verdict.authenticated:
            return Decision("reply", verdict.reason, ticket=ticket, author=author, named=True)
        why = f"{unproven}, and {verdict.reason}"
        return Decision("hold", why, ticket=ticket, author=author, named=True)
    # A ticket named that this sender may not write to reads exactly like one that does not
    # exist: both fall through to the department route, and are refused outside it.
    dept, contact = department_for(incoming), contact_for(sender)
    if dept is not None and contact is not None:
        principal = Principal(contact=contact)
        if verdict.authenticated:
            return Decision("create", verdict.reason, department=dept, author=principal)
        why = f"{unproven}, and {verdict.reason}"
        return Decision("hold", why, department=dept, author=principal)
    if named or ticket is not None:
        why = "may not write to the ticket it names (or there is none)"
    elif dept is not None:
        why = "is not a contact"
    else:
        why = "names no ticket and wrote to no department address"
    return Decision("refuse", why, named=named)
