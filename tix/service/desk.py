"""The agents' desk as the doors call it: claim the next ticket, canned replies, merge, watch,
SLA targets and statistics. Plain data out (service.shapes)."""

from tix import desk, tickets
from tix.auth import Principal
from tix.errors import NotFound
from tix.service import shapes


def next_ticket(principal: Principal, *, department: str | None = None) -> dict:
    """Claim the most urgent unassigned ticket in the agent's departments (NotFound if none)."""
    claimed = tickets.claim_next(principal, department=department)
    if claimed is None:
        raise NotFound("no unassigned ticket is waiting in your departments")
    return shapes.ticket(tickets.get_ticket(principal, claimed.code), lang=principal.lang)


def add_template(principal: Principal, name: str, lang: str, body: str) -> dict:
    return shapes.template(desk.add_template(principal, name, lang, body))


def template(principal: Principal, name: str, lang: str) -> dict:
    return shapes.template(desk.get_template(principal, name, lang))


def edit_template(principal: Principal, name: str, lang: str, body: str) -> dict:
    return shapes.template(desk.edit_template(principal, name, lang, body))


def templates(principal: Principal, lang: str | None = None) -> list[dict]:
    return [shapes.template(row) for row in desk.list_templates(principal, lang)]


def merge(principal: Principal, code: str, into_code: str) -> dict:
    source = tickets.get_ticket(principal, code)
    target = tickets.merge(principal, source, tickets.get_ticket(principal, into_code))
    return {"code": source.code, "into": target.code}


def watch(principal: Principal, code: str) -> dict:
    ticket = tickets.get_ticket(principal, code)
    desk.watch(principal, ticket)
    return {"code": ticket.code, "watching": True}


def unwatch(principal: Principal, code: str) -> dict:
    ticket = tickets.get_ticket(principal, code)
    desk.unwatch(principal, ticket)
    return {"code": ticket.code, "watching": False}


def sla(principal: Principal) -> tuple[list[dict], str]:
    """The targets in force per department and priority (seconds), and the business hours."""
    from tix import sla as targets_module
    from tix.models import Department

    principal.require_agent("read the SLA targets")
    targets = targets_module.load()
    slugs = [d.slug for d in Department.select(Department.slug).order_by(Department.id)]
    targets_module.check_departments(targets, set(slugs))
    return targets_module.table(targets, slugs), targets.calendar.describe()


def stats(principal: Principal, **filters) -> dict:
    """The desk's figures (tix.stats.compute) for agents."""
    from tix import stats as figures

    principal.require_agent("read the desk's statistics")
    return figures.compute(**filters)
