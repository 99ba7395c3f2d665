"""The rules of the lifecycle that are not transitions: what input is valid, which statuses
exist for whom, and when a ticket is due for a reminder, a close or an escalation."""

from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from tix import settings
from tix.errors import InvalidInput
from tix.models import (
    PRIORITIES,
    Ticket,
)

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


def wait_text(delay) -> str:
    """A delay as the reminder states it ('24 h', '90 min'): reads the same in English and
    Spanish, so one value serves every recipient's template."""
    seconds = int(delay.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def reminder_due(conf: settings.Settings, now):
    """The rule, in one place for the select and the compare-and-set: answered, waiting on the
    customer for at least remind_after, not yet reminded."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null()
        & (Ticket.waiting_since <= now - conf.remind_after)
    )


def close_due(conf: settings.Settings, now):
    """Still answered, reminded, and the reminder delivered at least close_after ago."""
    return (
        (Ticket.status == "answered")
        & Ticket.reminded_at.is_null(False)
        & Ticket.reminder_delivered_at.is_null(False)
        & (Ticket.reminder_delivered_at <= now - conf.close_after)
    )
