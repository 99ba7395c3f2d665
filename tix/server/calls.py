"""What each API route does: the service function it calls and how its arguments come from
the request. One table (ROUTES), read by the router, the OpenAPI document and the tests."""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from tix.errors import InvalidInput


@dataclass(frozen=True)
class Call:
    """What a route hands its function: path parameters, query string, JSON body."""

    path: dict
    query: object  # starlette's QueryParams (getlist, get)
    body: dict

    def text(self, name: str, default=None, *, required: bool = False):
        value = self.body.get(name, default)
        if value is None and required:
            raise InvalidInput(f"{name} is required")
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be text")
        return value

    def flag(self, name: str) -> bool:
        value = self.body.get(name, False)
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false")
        return value

    def query_int(self, name: str) -> int | None:
        raw = self.query.get(name)
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number") from None

    def query_time(self, name: str):
        raw = self.query.get(name)
        if raw is None:
            return None
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be an ISO 8601 date and time (UTC)") from None

    def attachments(self) -> list:
        from tix import settings
        from tix.tickets import NewAttachment, check_attachments

        items = self.body.get("attachments") or []
        if not isinstance(items, list):
            raise InvalidInput("attachments must be a list")
        files = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("filename"), str):
                raise InvalidInput("each attachment needs a filename and base64 data")
            try:
                data = base64.b64decode(item.get("data") or "", validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise InvalidInput(f"attachment {item['filename']!r} is not base64") from None
            files.append(NewAttachment(filename=item["filename"], data=data))
        check_attachments(files, settings.load())
        return files


def _draft_fields(call: Call, *, body_required: bool = True) -> dict:
    return {
        "department": call.text("department", required=True),
        "priority": call.text("priority", "medium"),
        "subject": call.text("subject", required=True),
        "body": call.text("body", required=body_required),
        "account": call.text("account"),
        "service": call.text("service"),
        "attachments": call.attachments(),
    }


def review_as_data(review) -> dict:
    return {
        "lang": review.lang,
        "findings": [{"check": f.check, "text": f.text} for f in review.findings],
        "problems": list(review.problems),
    }


def list_filters(call: Call) -> dict:
    return {
        "statuses": call.query.getlist("status"),
        "department": call.query.get("department"),
        "priority": call.query.get("priority"),
        "assignee": call.query.get("assignee"),
        "account": call.query.get("account"),
        "since": call.query_time("since"),
        "include_closed": call.query.get("all") in ("1", "true"),
        "limit": call.query_int("limit"),
        "search": call.query.get("q"),
    }


# -- the handlers: (desk, call) -> plain data ------------------------------------------------


def whoami(desk, call):
    return dict(desk.whoami(), lang=desk.lang)


def list_tickets(desk, call):
    return desk.list_tickets(**list_filters(call))


def review_draft(desk, call):
    """Check a draft as `tix create` would, without filing it: the refusal, or the findings.
    Without a body (still to be written in the client's editor) everything else is checked,
    and there is nothing to review yet."""
    new = desk.prepare_ticket(**_draft_fields(call, body_required=False))
    if not new.body:
        return {"lang": desk.lang, "findings": [], "problems": []}
    return review_as_data(desk.review_ticket(new))


def file_ticket(desk, call):
    new = desk.prepare_ticket(**_draft_fields(call))
    return desk.file_ticket(new, desk.review_ticket(new))


def show_ticket(desk, call):
    return desk.show_ticket(call.path["code"], history=call.query.get("history") in ("1", "true"))


def plan_reply(desk, call):
    plan = desk.plan_reply(
        call.path["code"],
        internal=call.flag("internal"),
        template=call.text("template"),
        message_given=call.flag("message_given"),
    )
    return {"code": plan.code, "internal": plan.internal, "template_body": plan.template_body}


def reply(desk, call):
    from tix.service.tickets import ReplyPlan

    plan = desk.plan_reply(
        call.path["code"], internal=call.flag("internal"), template=call.text("template")
    )
    body = plan.template_body if plan.template_body is not None else call.text("body", "")
    plan = ReplyPlan(code=plan.code, internal=plan.internal, template_body=None)
    return desk.reply(plan, body, attachments=call.attachments())


def close(desk, call):
    return desk.close(call.path["code"])


def reopen(desk, call):
    return desk.reopen(call.path["code"], call.text("body"))


def set_status(desk, call):
    return desk.set_status(call.path["code"], call.text("status", required=True))


def reassign(desk, call):
    return desk.reassign(
        call.path["code"],
        department=call.text("department"),
        agent=call.text("agent"),
        priority=call.text("priority"),
    )


def merge(desk, call):
    return desk.merge(call.path["code"], call.text("into", required=True))


def watch(desk, call):
    return desk.watch(call.path["code"])


def unwatch(desk, call):
    return desk.unwatch(call.path["code"])


def attachment(desk, call):
    try:
        attachment_id = int(call.path["attachment_id"])
    except ValueError:
        raise InvalidInput("the attachment id is a whole number") from None
    return desk.attachment(call.path["code"], attachment_id)


def apply_fix(desk, call):
    try:
        number = int(call.path["number"])
    except ValueError:
        raise InvalidInput("the fix number is a whole number") from None
    return desk.apply_fix(call.path["code"], number)


def rediagnose(desk, call):
    return desk.rediagnose(call.path["code"])


def next_ticket(desk, call):
    return desk.next_ticket(department=call.text("department"))


def templates(desk, call):
    return desk.templates(call.query.get("lang"))


def template(desk, call):
    return desk.template(call.path["name"], call.query.get("lang") or "en")


def add_template(desk, call):
    return desk.add_template(
        call.text("name", required=True), call.text("lang", "en"), call.text("body", required=True)
    )


def edit_template(desk, call):
    return desk.edit_template(
        call.path["name"], call.text("lang", "en"), call.text("body", required=True)
    )


def sla(desk, call):
    rows, hours = desk.sla()
    return {"targets": rows, "business_hours": hours}


def stats(desk, call):
    return desk.stats(
        since=call.query_time("since"),
        department=call.query.get("department"),
        priority=call.query.get("priority"),
        by=call.query.get("by") or "hour",
    )


# (method, path under /api/v1, handler, summary): the API, in one place.
ROUTES = [
    ("GET", "/whoami", whoami, "who the token belongs to"),
    ("GET", "/tickets", list_tickets, "list tickets (filters as `tix list`; q= searches)"),
    ("POST", "/tickets/drafts", review_draft, "check a new ticket without filing it"),
    ("POST", "/tickets", file_ticket, "file a new ticket"),
    ("GET", "/tickets/{code}", show_ticket, "a ticket with its thread (history=1: events)"),
    ("POST", "/tickets/{code}/reply-plan", plan_reply, "check a reply before writing it"),
    ("POST", "/tickets/{code}/replies", reply, "reply, or add an internal note"),
    ("POST", "/tickets/{code}/close", close, "close a ticket"),
    ("POST", "/tickets/{code}/reopen", reopen, "reopen a closed ticket"),
    ("POST", "/tickets/{code}/status", set_status, "set in-progress or on-hold"),
    ("POST", "/tickets/{code}/reassign", reassign, "department, technician, priority"),
    ("POST", "/tickets/{code}/merge", merge, "merge into another ticket"),
    ("PUT", "/tickets/{code}/watch", watch, "follow a ticket"),
    ("DELETE", "/tickets/{code}/watch", unwatch, "stop following a ticket"),
    (
        "GET",
        "/tickets/{code}/attachments/{attachment_id}",
        attachment,
        "an attachment's bytes",
    ),
    ("POST", "/tickets/{code}/fixes/{number}", apply_fix, "apply a fix the account check offered"),
    ("POST", "/tickets/{code}/diagnose", rediagnose, "run the account check again (agents)"),
    ("POST", "/next", next_ticket, "claim the most urgent unassigned ticket"),
    ("GET", "/templates", templates, "canned replies"),
    ("POST", "/templates", add_template, "add a canned reply"),
    ("GET", "/templates/{name}", template, "one canned reply"),
    ("PUT", "/templates/{name}", edit_template, "change a canned reply"),
    ("GET", "/sla", sla, "SLA targets and business hours"),
    ("GET", "/stats", stats, "the desk's figures"),
]
