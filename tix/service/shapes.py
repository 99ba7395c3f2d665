"""Every JSON shape tix answers with, built in this one place from the store's rows.

Each shape is a list of keys and a function that fills exactly those keys. docs/cli.md lists
the same keys per command, and tests/test_json_keys.py holds the two to each other, so the
keys a script reads are a promise kept by construction."""

import json

from tix.clock import iso

TICKET = (
    "code",
    "subject",
    "status",
    "priority",
    "department",
    "department_name",
    "account",
    "assignee",
    "created_at",
    "updated_at",
    "waiting_since",
    "closed_at",
    "close_reason",
)
TICKET_DETAIL = (*TICKET, "contact", "service", "messages", "attachments", "diagnosis")
TICKET_CREATED = (*TICKET, "findings", "diagnosis")
# The account check of a ticket (null when it was not checked).
DIAGNOSIS = ("checks", "summary", "results", "fixes")
MESSAGE = ("author", "body", "internal", "created_at")
ATTACHMENT = ("id", "filename", "content_type", "size", "created_at")
EVENT = ("at", "actor", "kind", "before", "after")
WHOAMI = ("email", "name", "role", "account")
MIGRATION = ("version", "name", "applied_at")
TEMPLATE = ("name", "lang", "updated_at", "updated_by", "body")
DEPARTMENT = ("slug", "name", "name_es", "email")
OUTBOX = (
    "id",
    "status",
    "kind",
    "recipient",
    "ticket",
    "attempts",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "last_error",
    "subject",
    "message_id",
)
SLA = ("department", "priority", "first_response", "next_response", "resolution")
HELD = ("id", "received_at", "sender", "kind", "ticket", "department", "subject", "reason", "asked")


def _checked(keys: tuple, values: dict) -> dict:
    # A shape and its key list cannot drift apart: a missing or extra key is a bug here, not
    # a surprise in someone's script.
    if tuple(values) != keys:
        raise AssertionError(f"shape keys {tuple(values)} != {keys}")
    return values


def ticket(row, *, lang: str = "en") -> dict:
    dept = row.department
    return _checked(
        TICKET,
        {
            "code": row.code,
            "subject": row.subject,
            "status": row.status,
            "priority": row.priority,
            "department": dept.slug,
            "department_name": dept.display_name(lang),
            "account": row.account.handle,
            "assignee": row.assignee.email if row.assignee_id else None,
            "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at),
            "waiting_since": iso(row.waiting_since),
            "closed_at": iso(row.closed_at),
            "close_reason": row.close_reason,
        },
    )


def ticket_detail(
    row, *, lang: str, messages, attachments, diagnosis, events=None, held=None
) -> dict:
    """`tix show`: the ticket with its thread; `held` for agents only, `events` only with
    --history."""
    values = dict(
        ticket(row, lang=lang),
        contact=row.contact.email,
        service=row.service.name if row.service_id else None,
        messages=[message(m) for m in messages],
        attachments=[attachment(a) for a in attachments],
        diagnosis=_diagnosis(diagnosis),
    )
    keys = TICKET_DETAIL
    if held is not None:
        keys, values["held"] = (*keys, "held"), [held_mail(h) for h in held]
    if events is None:
        return _checked(keys, values)
    return _checked((*keys, "events"), dict(values, events=[event(e) for e in events]))


def held_mail(row) -> dict:
    """A message mail-in holds (row from tix.held.waiting, with ticket_code and
    department_slug): `tix show` for agents, `tix-jobs mail-in --held`."""
    return _checked(
        HELD,
        {
            "id": row.id,
            "received_at": iso(row.received_at),
            "sender": row.sender,
            "kind": row.kind,
            "ticket": row.ticket_code,
            "department": row.department_slug,
            "subject": row.subject,
            "reason": row.reason,
            "asked": bool(row.notified),
        },
    )


def ticket_created(row, *, lang: str, findings: list[str], diagnosis) -> dict:
    return _checked(
        TICKET_CREATED,
        dict(ticket(row, lang=lang), findings=list(findings), diagnosis=_diagnosis(diagnosis)),
    )


def _diagnosis(view: dict | None) -> dict | None:
    return None if view is None else _checked(DIAGNOSIS, view)


def message(row) -> dict:
    return _checked(
        MESSAGE,
        {
            "author": row.author_email,
            "body": row.body,
            "internal": bool(row.internal),
            "created_at": iso(row.created_at),
        },
    )


def event(row) -> dict:
    return _checked(
        EVENT,
        {
            "at": iso(row.at),
            "actor": row.actor,
            "kind": row.kind,
            "before": json.loads(row.before) if row.before else None,
            "after": json.loads(row.after) if row.after else None,
        },
    )


def attachment(row) -> dict:
    return _checked(
        ATTACHMENT,
        {
            "id": row.id,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "created_at": iso(row.created_at),
        },
    )


def whoami(principal) -> dict:
    return _checked(
        WHOAMI,
        {
            "email": principal.email,
            "name": principal.name,
            "role": principal.role,
            "account": principal.contact.account.handle if principal.contact else None,
        },
    )


def migration(version: int, name: str, applied_at) -> dict:
    return _checked(
        MIGRATION,
        {
            "version": version,
            "name": name,
            "applied_at": iso(applied_at) if applied_at else "pending",
        },
    )


def template(row) -> dict:
    return _checked(
        TEMPLATE,
        {
            "name": row.name,
            "lang": row.lang,
            "updated_at": iso(row.updated_at),
            "updated_by": row.updated_by,
            "body": row.body,
        },
    )


def department(row) -> dict:
    return _checked(
        DEPARTMENT,
        {"slug": row.slug, "name": row.name_en, "name_es": row.name_es, "email": row.email},
    )


def outbox_row(row) -> dict:
    """`tix-jobs outbox`: one queued email (row from tix.outbox.listing, with ticket_code)."""
    return _checked(
        OUTBOX,
        {
            "id": row.id,
            "status": row.status,
            "kind": row.kind,
            "recipient": row.recipient,
            "ticket": row.ticket_code,
            "attempts": row.attempts,
            "created_at": iso(row.created_at),
            "next_attempt_at": iso(row.next_attempt_at),
            "sent_at": iso(row.sent_at),
            "last_error": row.last_error,
            "subject": row.subject,
            "message_id": row.message_id,
        },
    )
