"""Filing a new ticket: validated once into a NewTicket, then one transaction."""

from dataclasses import dataclass, replace

from tix import clock, mail, settings
from tix.auth import Principal
from tix.errors import InvalidInput, quoted
from tix.models import (
    Account,
    Contact,
    Department,
    Message,
    Service,
    Ticket,
)
from tix.store import is_postgres, transaction
from tix.tickets.checked import save_diagnosis
from tix.tickets.reading import account_for, department_by_slug
from tix.tickets.recipients import agent_recipients, customer_recipients, mail_values
from tix.tickets.record import insert_with_fresh_code, record_event, save_attachments
from tix.tickets.rules import (
    ASSISTANT_ACTOR,
    NewAttachment,
    check_attachments,
    check_priority,
    clean_body,
    clean_subject,
)


@dataclass(frozen=True)
class NewTicket:
    """A ticket about to be filed, validated and resolved once: the ticket assistant reads it,
    the diagnosis reads it, and `create` files exactly this. Build it with `prepare`."""

    subject: str
    body: str
    priority: str
    department: Department
    account: Account
    opener: Contact  # who the ticket is from: the filer, or the account's owner
    service: Service | None
    services: tuple  # every service of the account (the assistant matches the text to them)
    attachments: tuple[NewAttachment, ...] = ()

    def with_body(self, body: str, conf: settings.Settings | None = None) -> "NewTicket":
        """The same draft with an edited body (the assistant's "edit"), checked again."""
        return replace(self, body=clean_body(body, conf or settings.load()))


def prepare(
    principal: Principal,
    *,
    department: str,
    priority: str,
    subject: str,
    body: str | None,
    account: str | None = None,
    service: str | None = None,
    attachments: list[NewAttachment] | None = None,
    conf: settings.Settings | None = None,
) -> NewTicket:
    """Every check a new ticket passes, in the order a user would fix them; raises the error
    of the first that fails. Reads only: nothing is written until `create`. `body` None: the
    body is still to be written (in an editor): everything else is checked first, and the
    draft gets its body with `with_body`."""
    conf = conf or settings.load()
    subject = clean_subject(subject)
    body = clean_body(body, conf) if body is not None else ""
    check_priority(priority)
    attachments = tuple(attachments or ())
    check_attachments(list(attachments), conf)
    dept = department_by_slug(department)
    owner_account = account_for(principal, account)
    services = tuple(
        Service.select().where(Service.account == owner_account.id).order_by(Service.name)
    )
    svc = None
    if service:
        wanted = service.strip().lower()
        svc = next((s for s in services if s.name == wanted), None)
        if svc is None:
            raise InvalidInput.said(
                "no-service", account=owner_account.handle, service=quoted(service)
            )
    opener = principal.contact
    if opener is None or opener.account_id != owner_account.id:
        # An agent or a reseller files for the customer: the customer's owner is the opener
        # (the ticket's contact is always one of its account's). A reseller stays the author of
        # the first message, and is emailed about the ticket (recipients.customer_recipients).
        opener = (
            Contact.select()
            .where(Contact.account == owner_account, Contact.active == True)
            .order_by(Contact.is_owner.desc(), Contact.id)
            .first()
        )
        if opener is None:
            raise InvalidInput(f"account {owner_account.handle} has no contacts")
    return NewTicket(
        subject=subject,
        body=body,
        priority=priority,
        department=dept,
        account=owner_account,
        opener=opener,
        service=svc,
        services=services,
        attachments=attachments,
    )


def create(
    principal: Principal,
    new: NewTicket,
    *,
    conf: settings.Settings | None = None,
    assistant_note: str | None = None,
    diagnosis=None,
) -> Ticket:
    """File `new` (from `prepare`) in one transaction: the ticket, its first message and
    attachments, its event and its emails. `assistant_note`: the ticket assistant's findings
    (tix/checks.py), filed as an internal note for the technician in the same transaction;
    `diagnosis`: the account check's results (tix.diagnosis), kept with the ticket likewise."""
    conf = conf or settings.load()
    if not new.body:
        raise InvalidInput.said("body-empty")  # a draft whose body was never written
    dept, owner_account, svc, opener = new.department, new.account, new.service, new.opener
    subject, body, priority, attachments = new.subject, new.body, new.priority, new.attachments
    with transaction():
        now = clock.now()
        ticket = insert_with_fresh_code(
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
        save_attachments(ticket, message, attachments)
        record_event(
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
        save_diagnosis(ticket, diagnosis, now)
        if assistant_note:
            # Stamped after the `created` event, so the history reads in the order it happened.
            _file_assistant_note(ticket, assistant_note, clock.now())
        values = mail_values(ticket, body=body)
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
    if is_postgres():
        Ticket._meta.database.obj.execute_sql(
            "SELECT tix_add_assistant_note(%s, %s, %s, %s)", (ticket.id, note, now, ASSISTANT_ACTOR)
        )
        return
    Message.create(ticket=ticket, body=note, internal=True, created_at=now)
    record_event(ticket, ASSISTANT_ACTOR, "note", at=now)
