"""Every JSON shape tix answers with, built in this one place from the store's rows.

Each shape is a list of keys and a function that fills exactly those keys. docs/cli.md lists
the same keys per command, and tests/test_json_keys.py holds the two to each other, so the
keys a script reads are a promise kept by construction."""

import json
import re
from datetime import datetime

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
AGENT = ("email", "name", "lang", "admin", "active", "departments", "created_at")
ACCOUNT = ("handle", "name", "lang", "is_reseller", "reseller", "owner", "created_at")
ACCOUNT_DETAIL = (*ACCOUNT, "clients", "contacts", "services")
CONTACT = (
    "email",
    "name",
    "account",
    "is_owner",
    "ticket_emails",
    "login",
    "lang",
    "active",
    "created_at",
)
SERVICE = ("account", "name", "kind", "created_at")
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


# A time an event recorded (`reminded_at`...), as the log stores it: naive UTC, with a space.
_STORED_TIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,6})?")


def _event_values(text: str | None) -> dict | None:
    """An event's before/after, its times shown like every other time: ISO 8601 in the user's
    zone with its offset."""
    if not text:
        return None
    values = json.loads(text)
    for key, value in values.items():
        if key.endswith("_at") and isinstance(value, str) and _STORED_TIME.fullmatch(value):
            values[key] = iso(datetime.fromisoformat(value))
    return values


def event(row) -> dict:
    return _checked(
        EVENT,
        {
            "at": iso(row.at),
            "actor": row.actor,
            "kind": row.kind,
            "before": _event_values(row.before),
            "after": _event_values(row.after),
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


def agent(row, departments: list[str]) -> dict:
    return _checked(
        AGENT,
        {
            "email": row.email,
            "name": row.name,
            "lang": row.lang,
            "admin": bool(row.is_admin),
            "active": bool(row.active),
            "departments": list(departments),
            "created_at": iso(row.created_at),
        },
    )


def account(row, *, reseller: str | None, owner: str | None) -> dict:
    return _checked(
        ACCOUNT,
        {
            "handle": row.handle,
            "name": row.name,
            "lang": row.lang,
            "is_reseller": bool(row.is_reseller),
            "reseller": reseller,
            "owner": owner,
            "created_at": iso(row.created_at),
        },
    )


def account_detail(row, *, reseller, owner, clients, contacts, services) -> dict:
    """`tix admin account show`: the account with its clients' handles, contacts and services."""
    values = dict(
        account(row, reseller=reseller, owner=owner),
        clients=[c.handle for c in clients],
        contacts=[contact(c, account_handle=row.handle) for c in contacts],
        services=[service(s, account_handle=row.handle) for s in services],
    )
    return _checked(ACCOUNT_DETAIL, values)


def contact(row, *, account_handle: str | None = None) -> dict:
    return _checked(
        CONTACT,
        {
            "email": row.email,
            "name": row.name,
            "account": account_handle or row.account.handle,
            "is_owner": bool(row.is_owner),
            "ticket_emails": bool(row.ticket_emails),
            "login": bool(row.can_login),
            "lang": row.lang,
            "active": bool(row.active),
            "created_at": iso(row.created_at),
        },
    )


def service(row, *, account_handle: str | None = None) -> dict:
    return _checked(
        SERVICE,
        {
            "account": account_handle or row.account.handle,
            "name": row.name,
            "kind": row.kind,
            "created_at": iso(row.created_at),
        },
    )
