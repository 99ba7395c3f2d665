"""The desk's ticket operations as the doors call them: a principal and plain arguments in,
plain data (service.shapes) out. No door touches a model, a query or a rule; each rule lives in
tix.tickets and is called from here."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tix import tickets
from tix.auth import Principal
from tix.errors import InvalidInput
from tix.service import shapes

if TYPE_CHECKING:  # reading commands never load the ticket assistant or the writers
    from tix import checks
    from tix.tickets import NewAttachment, NewTicket


def prepare_ticket(
    principal: Principal,
    *,
    department: str,
    priority: str,
    subject: str,
    body: str | None,
    account: str | None = None,
    service: str | None = None,
    attachments: "list[NewAttachment] | None" = None,
) -> "NewTicket":
    """A new ticket validated and resolved once (every refusal comes from here), ready for the
    ticket assistant (`review_ticket`) and for `file_ticket`. `body` None: to be written next
    (in an editor), everything else checked first; give it with `new.with_body(text)`."""
    return tickets.prepare(
        principal,
        department=department,
        priority=priority,
        subject=subject,
        body=body,
        account=account,
        service=service,
        attachments=attachments,
    )


def review_ticket(principal: Principal, new: "NewTicket") -> "checks.Review":
    """The ticket assistant's findings on a draft, before anything is filed."""
    from tix import checks

    return checks.review(principal, new)


def file_ticket(
    principal: Principal, new: "NewTicket", review: "checks.Review | None" = None
) -> dict:
    """File the draft after the account check of its services (within its time budget): the
    assistant's findings and the check's summary go into an internal note for the technician,
    the check's results are kept with the ticket, all in the transaction that files it."""
    from tix.service import diagnosis

    review = review if review is not None else review_ticket(principal, new)
    found = diagnosis.run_for(new)
    note = "\n".join(filter(None, [review.note(), *diagnosis.note_lines(found)])) or None
    ticket = tickets.create(principal, new, assistant_note=note, diagnosis=found)
    ticket = tickets.get_ticket(principal, ticket.code)
    return shapes.ticket_created(
        ticket,
        lang=principal.lang,
        findings=[f.text for f in review.findings],
        # Nothing was checked: nothing is stored to read back (nor the check's modules to load).
        diagnosis=diagnosis.view(principal, ticket) if found is not None else None,
    )


def list_page(
    principal: Principal, *, limit: int | None, search: str | None = None, **filters
) -> tuple[list[dict], bool]:
    """`tix list` / `tix search` a page at a time: (at most `limit` tickets, whether there are
    more). `limit` 0 or None: all of them."""
    rows = list_tickets(principal, search=search, limit=limit + 1 if limit else None, **filters)
    if limit and len(rows) > limit:
        return rows[:limit], True
    return rows, False


def list_tickets(principal: Principal, *, search: str | None = None, **filters) -> list[dict]:
    """`tix list` (and `tix search` with `search`): the filters of tickets.list_tickets."""
    if search is not None:
        from tix import desk

        filters["matching"] = desk.search_condition(principal, search)
    rows = tickets.list_tickets(principal, **filters)
    return [shapes.ticket(t, lang=principal.lang) for t in rows]


def show_ticket(principal: Principal, code: str, *, history: bool = False) -> dict:
    from tix.service import diagnosis

    ticket = tickets.get_ticket(principal, code)
    held_mail = None
    if principal.is_agent:  # what mail-in keeps unfiled is for agents only
        from tix import held

        held_mail = held.waiting(ticket)
    return shapes.ticket_detail(
        ticket,
        lang=principal.lang,
        messages=tickets.thread(principal, ticket),
        attachments=tickets.attachments_of(principal, ticket),
        diagnosis=diagnosis.view(principal, ticket),
        events=tickets.history(principal, ticket) if history else None,
        held=held_mail,
    )


@dataclass(frozen=True)
class ReplyPlan:
    """What a reply will be, settled before its text is asked for: a refusal comes before
    anyone types (a customer's internal note, a template with -m)."""

    code: str
    internal: bool
    template_body: str | None  # the filled-in canned reply, when --template was given


def plan_reply(
    principal: Principal,
    code: str,
    *,
    internal: bool = False,
    template: str | None = None,
    message_given: bool = False,
) -> ReplyPlan:
    ticket = tickets.get_ticket(principal, code)
    # Refused now, before anyone types: a customer's note, an agent's reply to a closed ticket.
    tickets.check_reply(principal, tickets.merged_target(ticket), internal=internal)
    body = None
    if template is not None:
        from tix import desk

        if message_given:
            raise InvalidInput("give either -m or --template, not both")
        body = desk.template_reply(principal, ticket, template)
    return ReplyPlan(code=ticket.code, internal=internal, template_body=body)


def reply(
    principal: Principal,
    plan: ReplyPlan,
    body: str,
    *,
    attachments: "list[NewAttachment] | None" = None,
) -> dict:
    """Reply (or note) as planned; returns {code, status, internal} of the ticket the reply
    landed on (a merged ticket's target)."""
    ticket = tickets.get_ticket(principal, plan.code)
    tickets.reply(principal, ticket, body, internal=plan.internal, attachments=attachments)
    ticket = tickets.merged_target(tickets.get_ticket(principal, plan.code))
    return {"code": ticket.code, "status": ticket.status, "internal": plan.internal}


def close(principal: Principal, code: str) -> dict:
    ticket = tickets.close(principal, tickets.get_ticket(principal, code))
    return {"code": ticket.code, "status": ticket.status}


def reopen(principal: Principal, code: str, body: str | None = None) -> dict:
    ticket = tickets.reopen(principal, tickets.get_ticket(principal, code), body)
    return {"code": ticket.code, "status": ticket.status}


def set_status(principal: Principal, code: str, status: str) -> dict:
    ticket = tickets.set_status(principal, tickets.get_ticket(principal, code), status)
    return {"code": ticket.code, "status": ticket.status}


def reassign(
    principal: Principal,
    code: str,
    *,
    department: str | None = None,
    agent: str | None = None,
    priority: str | None = None,
) -> dict:
    """`agent`: an email, `none` to unassign, or None to leave the assignee alone."""
    ticket = tickets.get_ticket(principal, code)
    agent_value = (
        tickets.UNCHANGED if agent is None else (None if agent.lower() == "none" else agent)
    )
    tickets.reassign(
        principal, ticket, department=department, agent_email=agent_value, priority=priority
    )
    return shapes.ticket(tickets.get_ticket(principal, code), lang=principal.lang)


def attachment(principal: Principal, code: str, attachment_id: int) -> dict:
    """{filename, content_type, data} of an attachment this principal may see."""
    item = tickets.get_attachment(principal, tickets.get_ticket(principal, code), attachment_id)
    return {"filename": item.filename, "content_type": item.content_type, "data": bytes(item.data)}


def read_attachment(path: str) -> "NewAttachment":
    """A file to attach, refused (too big, unreadable) before anything else is asked."""
    from tix import settings

    return tickets.read_attachment(path, settings.load())


def department_slugs(principal: Principal) -> list[str]:
    """The departments' slugs, in the desk's order (what `-d` takes)."""
    return tickets.department_slugs()


def open_codes(principal: Principal, prefix: str = "", limit: int = 200) -> list[str]:
    """Codes of tickets not closed that start with `prefix`, for an agent's shell completion
    (customers: none), most urgent first."""
    if not principal.agent:
        return []
    return tickets.open_codes(principal, prefix, limit)
