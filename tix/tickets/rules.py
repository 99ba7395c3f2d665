"""The rules of the lifecycle that are not transitions: what input is valid, which statuses
exist for whom, and when a ticket is due for a reminder, a close or an escalation."""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw

from tix.errors import InvalidInput, NotAllowed, quoted
from tix.models import (
    PRIORITIES,
    Ticket,
)

if TYPE_CHECKING:  # settings are passed in: a listing never builds them
    from tix import settings

AGENT_STATUSES = ("in-progress", "on-hold")


# Who the event log names for the ticket assistant's note (tix/checks.py).
ASSISTANT_ACTOR = "system:assistant"


SUBJECT_MAX = 200


@dataclass
class NewAttachment:
    filename: str
    data: bytes
    content_type: str | None = None


def clean_subject(subject: str) -> str:
    text = (subject or "").strip()
    if not text:
        raise InvalidInput.said("subject-empty")
    if len(text) > SUBJECT_MAX:
        raise InvalidInput.said("subject-long", limit=SUBJECT_MAX)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidInput.said("subject-line")
    _check_utf8(text, "subject")
    return text


def _check_utf8(text: str, what: str) -> None:
    # Undecodable bytes in argv reach us as lone surrogates, which no database can store.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None


def clean_body(body: str, conf: "settings.Settings") -> str:
    if body is None or not body.strip():
        raise InvalidInput.said("body-empty")
    if "\x00" in body:
        raise InvalidInput.said("body-nul")
    if len(body) > conf.body_max_chars:
        raise InvalidInput.said("body-long", limit=conf.body_max_chars)
    _check_utf8(body, "message body")
    return body.strip("\n")


def check_priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise InvalidInput.said(
            "unknown-priority", priority=quoted(priority), known=", ".join(PRIORITIES)
        )
    return priority


def check_attachments(files: list[NewAttachment], conf: "settings.Settings") -> None:
    for item in files:
        if len(item.data) > conf.attachment_max_bytes:
            raise InvalidInput(
                f"attachment {item.filename!r} is {len(item.data)} bytes; "
                f"the limit is {conf.attachment_max_bytes}"
            )


def read_attachment(path: str, conf: "settings.Settings") -> NewAttachment:
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


def check_reply(principal, ticket: Ticket, *, internal: bool) -> None:
    """Whether this principal may reply to (or note on) the ticket in its state: asked before
    anyone types (tix reply opens no editor for a reply that would be refused) and again on the
    locked row when the reply is written."""
    if internal and not principal.agent:
        raise NotAllowed.said("internal-agents")
    if not internal and principal.agent and ticket.status == "closed":
        raise NotAllowed.said("reply-closed", code=ticket.code)


# The fields every change that ends a wait on the customer resets.
CLOCK_CLEARED = {"waiting_since": None, "reminded_at": None, "reminder_delivered_at": None}


UNCHANGED = object()


# Tickets waiting for an agent's answer: what `tix next` claims and escalation rules watch.
AWAITING_AGENT = ("open", "customer-reply")


def waiting_period_start(ticket: Ticket):
    """When the current wait for an agent began: the customer's last message, else creation."""
    return ticket.last_customer_activity_at or ticket.created_at


def waiting_period_start_sql():
    """waiting_period_start as a column expression, for queries that sort or match on it."""
    return pw.fn.COALESCE(Ticket.last_customer_activity_at, Ticket.created_at)


JOBS_ACTOR = "system:tix-jobs"


def wait_text(delay, lang: str = "en") -> str:
    """A delay as the reminder states it ('24 hours', '90 minutos'). The reminder itself is
    queued with the timedelta, and each recipient's email says it in their language."""
    from tix import mail_words

    return mail_words.duration(delay, lang)


def reminder_due(conf: "settings.Settings", now):
    """The rule, in one place for the select and the compare-and-set: answered, waiting on the
    customer for at least remind_after, not yet reminded."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null()
        & (Ticket.waiting_since <= now - conf.remind_after)
    )


def close_due(conf: "settings.Settings", now):
    """Still answered, reminded, and the reminder delivered at least close_after ago."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null(False)
        & Ticket.reminder_delivered_at.is_null(False)
        & (Ticket.reminder_delivered_at <= now - conf.close_after)
    )
