"""The account check's marks on a ticket: a diagnosis kept as a run of results, and a fix
applied with consent, each with its event (and the fix with an internal note)."""

from tix import clock
from tix.auth import Principal
from tix.models import Message, Ticket
from tix.store import is_postgres, transaction
from tix.tickets.record import record_event

FIX_ACTOR = "system:assistant"


def save_diagnosis(ticket: Ticket, found, at) -> str | None:
    """Keep a diagnosis' results with the ticket (the caller holds the transaction)."""
    if found is None or not found.results:
        return None
    from tix.diagnosis import store

    return store.save(ticket.id, found.results, at)


def record_diagnosis(principal: Principal, ticket: Ticket, found, *, at=None) -> None:
    """A later diagnosis (`tix diagnose`): its results and a `diagnosed` event, one transaction."""
    at = at or clock.now()
    with transaction():
        run_id = save_diagnosis(ticket, found, at)
        record_event(
            ticket,
            principal.actor,
            "diagnosed",
            after={"run": run_id, **found.summary},
            at=at,
        )


def log_fix(principal: Principal, ticket: Ticket, kind: str, target: str, done: str) -> None:
    """A fix the account check applied: its event and an internal note for the technician."""
    with transaction():
        if principal.contact is not None and is_postgres():
            # A customer writes no internal note under row-level security: the database writes
            # this one, and only for a fix the ticket's latest diagnosis offered.
            Ticket._meta.database.obj.execute_sql(
                "SELECT tix_log_fix(%s, %s, %s)", (ticket.id, kind, target)
            )
            return
        now = clock.now()
        Message.create(
            ticket=ticket,
            body=f"Account check: fix {kind} applied on {target} at the request of "
            f"{principal.email}: {done}",
            internal=True,
            created_at=now,
        )
        record_event(
            ticket, FIX_ACTOR, "fix-applied", after={"fix": kind, "target": target}, at=now
        )
