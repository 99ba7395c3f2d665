"""The agents' desk and escalation: claim the next ticket, merge, escalate."""

from tix import clock, mail, settings
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed
from tix.models import (
    PRIORITIES,
    Agent,
    AgentDepartment,
    Attachment,
    EscalationFiring,
    Message,
    Ticket,
    Watcher,
)
from tix.store import for_update, transaction
from tix.tickets.reading import department_by_slug, merged_target
from tix.tickets.recipients import agent_recipient, customer_recipients, mail_values
from tix.tickets.record import apply_changes, locked_ticket, record_event
from tix.tickets.rules import (
    AWAITING_AGENT,
    CLOCK_CLEARED,
    waiting_period_start,
    waiting_period_start_sql,
)


def claim_next(
    principal: Principal, *, department: str | None = None, conf: settings.Settings | None = None
) -> Ticket | None:
    """Assign to this agent the most urgent unassigned ticket waiting in their departments
    (emergency first, then by how long the customer has waited); None if there is none.

    Two agents claiming at once never get the same ticket: on PostgreSQL the candidate row is
    locked with FOR UPDATE SKIP LOCKED (the other agent skips it and takes the next one); on
    SQLite the transaction takes the write lock first (BEGIN IMMEDIATE), so claims queue."""
    conf = conf or settings.load()
    principal.require_agent("claim tickets")
    agent = principal.agent
    dept_ids = [
        link.department_id
        for link in AgentDepartment.select().where(AgentDepartment.agent == agent.id)
    ]
    if department is not None:
        dept = department_by_slug(department)
        if dept.id not in dept_ids:
            raise NotAllowed(f"you are not an agent of department {dept.slug}")
        dept_ids = [dept.id]
    if not dept_ids:
        raise NotAllowed("you belong to no department: ask an admin to add you to one")
    with transaction():
        query = (
            Ticket.select()
            .where(
                Ticket.assignee.is_null(),
                Ticket.status.in_(AWAITING_AGENT),
                Ticket.department.in_(dept_ids),
            )
            .order_by(Ticket.priority.desc(), waiting_period_start_sql(), Ticket.id)
            .limit(1)
        )
        ticket = next(iter(for_update(query, skip_locked=True)), None)
        if ticket is None:
            return None
        apply_changes(ticket, {"assignee": agent.id})
        # Logged like a reassignment to oneself (`tix reassign CODE --agent me`), which also
        # means no email: the agent who claims it is the one who would be told.
        record_event(
            ticket,
            principal.actor,
            "reassigned",
            before={"assignee": None},
            after={"assignee": agent.email, "claimed": True},
        )
    return ticket


def merge(
    principal: Principal, source: Ticket, target: Ticket, *, conf: settings.Settings | None = None
) -> Ticket:
    """Merge `source` into `target`: its messages and attachments move to `target` (its events
    stay where the append-only log wrote them and are read through `history`), `source` is
    closed pointing at `target`, and the customers of both get one email each."""
    conf = conf or settings.load()
    principal.require_agent("merge tickets")
    if source.id == target.id:
        raise InvalidInput(f"cannot merge {source.code} into itself")
    with transaction():
        # Locked in id order so two opposite merges cannot deadlock.
        locked = {t.id: locked_ticket(t) for t in sorted((source, target), key=lambda t: t.id)}
        source, target = locked[source.id], locked[target.id]
        if source.merged_into_id:
            raise NotAllowed(
                f"ticket {source.code} is already merged into {merged_target(source).code}"
            )
        if target.merged_into_id:
            raise NotAllowed(
                f"ticket {target.code} was merged into "
                f"{merged_target(target).code}: merge into that one"
            )
        if target.status == "closed":
            raise NotAllowed(f"ticket {target.code} is closed: reopen it before merging into it")
        if source.account_id != target.account_id:
            # A merged thread is shown to the target's customer: never another account's.
            raise NotAllowed(
                f"tickets {source.code} and {target.code} belong to different accounts"
            )
        recipients = customer_recipients(target)
        known = {r.email.lower() for r in recipients}
        recipients += [r for r in customer_recipients(source) if r.email.lower() not in known]
        now = clock.now()
        Message.update(ticket=target.id).where(Message.ticket == source.id).execute()
        Attachment.update(ticket=target.id).where(Attachment.ticket == source.id).execute()
        watching = {w.agent_id for w in Watcher.select().where(Watcher.ticket == target.id)}
        for row in Watcher.select().where(Watcher.ticket == source.id):
            if row.agent_id not in watching:
                Watcher.insert(ticket=target.id, agent=row.agent_id, created_at=now).execute()
        Watcher.delete().where(Watcher.ticket == source.id).execute()
        # Tickets merged into `source` before now point straight at `target`.
        Ticket.update(merged_into=target.id).where(Ticket.merged_into == source.id).execute()
        before = source.status
        apply_changes(
            source,
            dict(
                CLOCK_CLEARED,
                status="closed",
                closed_at=now,
                closed_by=principal.email,
                close_reason="merged",
                merged_into=target.id,
            ),
        )
        target_changes = {}
        latest = max(
            filter(None, [source.last_customer_activity_at, target.last_customer_activity_at]),
            default=None,
        )
        if latest != target.last_customer_activity_at:
            target_changes["last_customer_activity_at"] = latest
        apply_changes(target, target_changes)
        record_event(
            source,
            principal.actor,
            "merged",
            before={"status": before},
            after={"status": "closed", "reason": "merged", "into": target.code},
        )
        record_event(target, principal.actor, "merged-in", after={"from": source.code})
        mail.queue(
            kind="merged",
            recipients=recipients,
            values=mail_values(target, merged_code=source.code),
            ticket=target,
            conf=conf,
        )
    return target


def escalate(
    ticket: Ticket,
    *,
    rule: str,
    period_start,
    still_applies,
    priority: str | None = None,
    assignee: Agent | None = None,
    notify: Agent | None = None,
    conf: settings.Settings | None = None,
) -> dict | None:
    """Fire escalation `rule` on a ticket, once per waiting period: raise its priority (never
    lower it), reassign it, notify someone. `still_applies(ticket)` re-checks the rule on the
    locked, current row, so a reply that landed since the selection wins. Returns the changes,
    or None if the rule had already fired for this period or no longer applies."""
    conf = conf or settings.load()
    with transaction():
        ticket = locked_ticket(ticket)
        if waiting_period_start(ticket) != period_start or not still_applies(ticket):
            return None
        fired = EscalationFiring.select().where(
            EscalationFiring.rule == rule,
            EscalationFiring.ticket == ticket.id,
            EscalationFiring.period_start == period_start,
        )
        if fired.exists():
            return None
        now = clock.now()
        EscalationFiring.create(
            rule=rule, ticket=ticket.id, period_start=period_start, fired_at=now
        )
        before, after, changes = {}, {"rule": rule}, {}
        if priority and PRIORITIES.index(priority) > PRIORITIES.index(ticket.priority):
            before["priority"], after["priority"] = ticket.priority, priority
            changes["priority"] = priority
        if assignee is not None and assignee.id != ticket.assignee_id:
            old = Agent.get_by_id(ticket.assignee_id).email if ticket.assignee_id else None
            before["assignee"], after["assignee"] = old, assignee.email
            changes["assignee"] = assignee.id
        if notify is not None:
            after["notified"] = notify.email
        apply_changes(ticket, changes)
        record_event(ticket, "job:escalate", "escalated", before=before, after=after)
        values = mail_values(ticket, rule=rule)
        if "assignee" in changes:
            mail.queue(
                kind="agent-assigned",
                recipients=[agent_recipient(assignee)],
                values=values,
                ticket=ticket,
                conf=conf,
            )
        if notify is not None:
            mail.queue(
                kind="agent-escalated",
                recipients=[agent_recipient(notify)],
                values=values,
                ticket=ticket,
                conf=conf,
            )
    return after
