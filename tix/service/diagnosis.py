"""The account check as the doors call it: a diagnosis of the services a new ticket is about,
kept with the ticket; what the customer and the technician see of it; fixes applied only with
consent; `tix diagnose CODE` for agents. The probes themselves are tix.diagnosis's."""

from tix import clock, tickets
from tix.auth import Principal
from tix.errors import InvalidInput, NotFound

# Departments whose tickets are not about a service: nothing to check, nothing to wait for.
NOTHING_TO_CHECK = {"billing", "sales", "administration"}


def _services(rows) -> list:
    from tix.diagnosis import ServiceInfo

    return [ServiceInfo(s.name, s.kind, s.server_ip, s.mail_host) for s in rows]


def enabled() -> bool:
    """TIX_DIAGNOSIS=off turns the account check off (a desk with no network to check from)."""
    import os

    value = (os.environ.get("TIX_DIAGNOSIS") or "on").strip().lower()
    if value not in ("on", "off"):
        raise InvalidInput(f"TIX_DIAGNOSIS must be on or off, not {value!r}")
    return value == "on"


def run_for(new) -> object | None:
    """The diagnosis of a draft (tickets.NewTicket), within TIX_DIAGNOSIS_BUDGET; None when
    its department or account has nothing to check (then it costs nothing)."""
    if new.department.slug in NOTHING_TO_CHECK or not new.services or not enabled():
        return None
    from tix.diagnosis import Request, diagnose

    request = Request(
        services=_services(new.services),
        text=f"{new.subject}\n{new.body}",
        service_name=new.service.name if new.service else None,
    )
    return diagnose(request)


def note_lines(found) -> list[str]:
    """What the technician's internal note says of a diagnosis made when the ticket was filed."""
    return found.agent_lines() if found is not None else []


def view(principal: Principal, ticket) -> dict | None:
    """The `diagnosis` key of a ticket: every stored result for agents; for customers only the
    problems that are not private, without facts. None when the ticket was never checked."""
    from tix.diagnosis import store

    rows = store.load(ticket.id, customer=not principal.agent)
    if not rows:
        return None
    latest = rows[-1]["run_id"]
    current = [r for r in rows if r["run_id"] == latest]
    summary = {}
    for row in current:
        summary[row["status"]] = summary.get(row["status"], 0) + 1
    if not principal.agent:
        rows = [r for r in rows if r["status"] in ("fail", "warn")]
    fixes = [
        {"fix": n, "kind": r["fix"]["kind"], "text": _text(r["fix"], principal.lang)}
        for n, r in enumerate(_fix_rows(ticket))
    ]
    return {
        "checks": len(current),
        "summary": summary,
        "results": [_public(r) for r in rows],
        "fixes": fixes,
    }


def _public(row: dict) -> dict:
    from tix.clock import iso

    return dict(row, at=iso(row["at"]))


def _text(data: dict, lang: str) -> str:
    return data.get("text_es" if lang == "es" else "text_en") or data.get("text_en", "")


def _fix_rows(ticket) -> list[dict]:
    """The fixes the latest diagnosis offered, in order (every row, private ones included:
    the offer's text says only what a customer may read)."""
    from tix.diagnosis import store

    rows = store.load(ticket.id)
    if not rows:
        return []
    latest = rows[-1]["run_id"]
    return [r for r in rows if r["run_id"] == latest and r["fix"]]


def apply_fix(principal: Principal, code: str, number: int) -> dict:
    """Apply fix `number` of the ticket's latest diagnosis, which its customer (or an agent)
    consented to; log it on the ticket. The fix is the one the diagnosis found: nothing in it
    comes from the person asking."""
    from tix.diagnosis import Fix
    from tix.diagnosis import apply_fix as run_fix

    ticket = tickets.get_ticket(principal, code)
    offered = _fix_rows(ticket)
    if not 0 <= number < len(offered):
        raise NotFound(f"ticket {ticket.code} has no fix {number}")
    fix = Fix.from_dict(offered[number]["fix"])
    done = run_fix(fix)
    tickets.log_fix(principal, ticket, fix.kind, fix.target, done)
    return {"code": ticket.code, "fix": number, "kind": fix.kind, "done": done}


def rediagnose(principal: Principal, code: str) -> dict:
    """`tix diagnose CODE` (agents): check the ticket's services again; the results are kept
    as a run of their own, with its event."""
    from tix.diagnosis import Request, diagnose
    from tix.models import Message, Service

    principal.require_agent("re-run the account check")
    ticket = tickets.get_ticket(principal, code)
    services = list(Service.select().where(Service.account == ticket.account_id))
    if not services:
        raise InvalidInput(f"account {ticket.account.handle} has no services to check")
    first = Message.select().where(Message.ticket == ticket.id).order_by(Message.id).first()
    request = Request(
        services=_services(services),
        text=f"{ticket.subject}\n{first.body if first else ''}",
        service_name=ticket.service.name if ticket.service_id else None,
    )
    found = diagnose(request)
    tickets.record_diagnosis(principal, ticket, found, at=clock.now())
    return view(principal, tickets.get_ticket(principal, code))
