"""Held messages: what mail-in kept without filing it, because nothing but its From header said
who sent it (tix/mailtrust.py).

Each is kept whole (raw), listed for agents (`tix show CODE`, `tix-jobs mail-in --held`) and
applied by nobody. The person it claims to be from gets one "did you send this?" email (template
mail-held) carrying a reply key of this held message; their answer files it as them, once
(tix/inbound.py). One never answered stays held.
"""

from datetime import UTC

import peewee as pw

from tix import clock, mail
from tix.auth import Principal
from tix.models import Department, HeldMail, Ticket
from tix.tickets import agent_recipient, contact_recipient, mail_values

WHAT = {
    "en": ("a reply to ticket {code} ({subject})", "a new ticket for {department}"),
    "es": ("una respuesta al ticket {code} ({subject})", "un ticket nuevo para {department}"),
}
# What listings read: every column but the raw message.
LISTED = (
    HeldMail.id,
    HeldMail.received_at,
    HeldMail.sender,
    HeldMail.kind,
    HeldMail.ticket,
    HeldMail.department,
    HeldMail.subject,
    HeldMail.reason,
    HeldMail.notified,
)


class AlreadyFiled(Exception):
    """Raised inside the filing transaction to roll it back: another answer filed it first."""


def store(incoming, decision, *, notified: bool) -> HeldMail:
    person = decision.author
    return HeldMail.create(
        message_id=incoming.message_id,
        sender=incoming.sender,
        received_at=clock.now(),
        kind="reply" if decision.ticket is not None else "new",
        ticket=decision.ticket,
        department=decision.department,
        contact=person.contact,
        agent=person.agent,
        subject=mail.header_safe(incoming.subject) or "(no subject)",
        reason=decision.why,
        raw=incoming.raw,
        notified=notified,
    )


def queue_notice(held: HeldMail, person: Principal, conf) -> None:
    """The one "did you send this?" email, in the person's language, with its reply key."""
    if person.contact is not None:
        recipient = contact_recipient(person.contact)
    else:
        recipient = agent_recipient(person.agent)
    lang = recipient.lang if recipient.lang in WHAT else "en"
    ticket = Ticket.get_by_id(held.ticket_id) if held.ticket_id else None
    if ticket is not None:
        values = mail_values(ticket)
        what = WHAT[lang][0].format(code=ticket.code, subject=mail.header_safe(ticket.subject))
    else:
        dept = Department.get_by_id(held.department_id)
        values = {}
        what = WHAT[lang][1].format(department=dept.display_name(lang))
    values.update(
        original_subject=held.subject,
        received=clock.iso(held.received_at, UTC),
        what=what,
    )
    mail.queue(
        kind="mail-held",
        recipients=[recipient],
        values=values,
        ticket=ticket,
        conf=conf,
        held_id=held.id,
    )


def mark_filed(held: HeldMail, ticket_id: int) -> None:
    """Within the transaction that files it: once only (AlreadyFiled otherwise)."""
    now = clock.now()
    filed = (
        HeldMail.update(filed_at=now, filed_ticket=ticket_id)
        .where(HeldMail.id == held.id, HeldMail.filed_at.is_null())
        .execute()
    )
    if filed != 1:
        raise AlreadyFiled()


def waiting(ticket: Ticket | None = None) -> list[HeldMail]:
    """Held messages not filed, oldest first (each with `ticket_code` and `department_slug`):
    of one ticket, or all of them. service.shapes.held shows one."""
    query = (
        HeldMail.select(
            *LISTED, Ticket.code.alias("ticket_code"), Department.slug.alias("department_slug")
        )
        .join(Ticket, pw.JOIN.LEFT_OUTER, on=(HeldMail.ticket == Ticket.id))
        .switch(HeldMail)
        .join(Department, pw.JOIN.LEFT_OUTER, on=(HeldMail.department == Department.id))
        .where(HeldMail.filed_at.is_null())
        .order_by(HeldMail.id)
        .objects()
    )
    if ticket is not None:
        query = query.where(HeldMail.ticket == ticket.id)
    return list(query)
