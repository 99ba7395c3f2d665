"""Escalation rules and `tix-jobs escalate`.

Rules live in a TOML file, `$TIX_ESCALATION_RULES` or `<config>/escalation.toml`:

    [[rule]]
    name = "emergency-waiting"          # unique; how the firing is remembered
    department = ["hosting", "email"]   # optional: any of these (default: every department)
    priority = "emergency"              # optional: any of these (default: every priority)
    status = ["open", "customer-reply"] # optional (default: the two statuses awaiting an agent)
    waiting = "15m"                     # time since the customer's last message (or creation)
    raise_priority = "emergency"        # actions, at least one: raise to at least this priority,
    reassign = "lead@example.com"       #   assign to this agent,
    notify = "boss@example.com"         #   email this agent.

A rule fires once per ticket per waiting period: the period starts with the customer's last
message, so it fires again only after the customer writes again. The firing itself (a row in
escalation_firings, unique per rule, ticket and period) is written in the same transaction as
the ticket's changes, its event and its emails, by `tix.tickets.escalate`.
"""

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import peewee as pw

from tix import clock, settings, tickets
from tix.errors import InvalidInput
from tix.models import PRIORITIES, STATUSES, Agent, Department, EscalationFiring, Ticket
from tix.paths import config_dir

KEYS = {
    "name",
    "department",
    "priority",
    "status",
    "waiting",
    "raise_priority",
    "reassign",
    "notify",
}


@dataclass(frozen=True)
class Rule:
    name: str
    waiting: timedelta
    departments: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    statuses: tuple[str, ...] = tickets.AWAITING_AGENT
    raise_priority: str | None = None
    reassign: str | None = None
    notify: str | None = None

    def applies(self, ticket: Ticket, now, department_slug: str) -> bool:
        return (
            ticket.status in self.statuses
            and (not self.departments or department_slug in self.departments)
            and (not self.priorities or ticket.priority in self.priorities)
            and now - tickets.waiting_period_start(ticket) >= self.waiting
        )

    def actions(self) -> str:
        parts = []
        if self.raise_priority:
            parts.append(f"raise to {self.raise_priority}")
        if self.reassign:
            parts.append(f"reassign to {self.reassign}")
        if self.notify:
            parts.append(f"notify {self.notify}")
        return ", ".join(parts)


def rules_path() -> Path:
    return Path(os.environ.get("TIX_ESCALATION_RULES") or config_dir() / "escalation.toml")


def _names(value, what: str, allowed=None) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidInput(f"{what} must be a name or a list of names")
    items = tuple(i.strip().lower() for i in items)
    for item in items:
        if allowed is not None and item not in allowed:
            raise InvalidInput(f"{what}: unknown {item!r}: use one of {', '.join(allowed)}")
    return items


def parse_rules(text: str, where: str = "rules") -> list[Rule]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{where}: not valid TOML: {exc}") from None
    unknown_top = set(data) - {"rule"}
    if unknown_top:
        raise InvalidInput(
            f"{where}: unknown section(s) {', '.join(sorted(unknown_top))}: use [[rule]]"
        )
    rules, seen = [], set()
    for number, raw in enumerate(data.get("rule", []), 1):
        label = f"{where}: rule {number}"
        extra = set(raw) - KEYS
        if extra:
            raise InvalidInput(f"{label}: unknown key(s) {', '.join(sorted(extra))}")
        name = str(raw.get("name", "")).strip()
        if not name:
            raise InvalidInput(f"{label}: needs a name")
        if name in seen:
            raise InvalidInput(f"{label}: the name {name!r} is used twice")
        seen.add(name)
        if "waiting" not in raw:
            raise InvalidInput(
                f'{label} ({name}): needs waiting = "30m" (time since the customer\'s last message)'
            )
        rule = Rule(
            name=name,
            waiting=settings.parse_duration(str(raw["waiting"]), f"{label} ({name}) waiting"),
            departments=_names(raw.get("department", []), f"{label} department"),
            priorities=_names(raw.get("priority", []), f"{label} priority", PRIORITIES),
            statuses=_names(
                raw.get("status", list(tickets.AWAITING_AGENT)),
                f"{label} status",
                [s for s in STATUSES if s != "closed"],
            ),
            raise_priority=_names(raw["raise_priority"], f"{label} raise_priority", PRIORITIES)[0]
            if raw.get("raise_priority")
            else None,
            reassign=str(raw["reassign"]).strip().lower() if raw.get("reassign") else None,
            notify=str(raw["notify"]).strip().lower() if raw.get("notify") else None,
        )
        if not (rule.raise_priority or rule.reassign or rule.notify):
            raise InvalidInput(
                f"{label} ({name}): give at least one of raise_priority, reassign, notify"
            )
        rules.append(rule)
    return rules


def load_rules(path: Path | None = None) -> list[Rule]:
    """The rules file's rules ([] when the default file does not exist), checked against the
    store: unknown departments or agents are refused before anything is changed. A file named
    explicitly (TIX_ESCALATION_RULES) that does not exist is an error: a typo in cron's
    environment must not silently turn escalation off."""
    explicit = path is not None or bool(os.environ.get("TIX_ESCALATION_RULES"))
    path = path or rules_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise InvalidInput(
                f"TIX_ESCALATION_RULES: no such file {str(path)!r} (unset it to use "
                f"{config_dir() / 'escalation.toml'})"
            ) from None
        return []
    except OSError as exc:
        raise InvalidInput(f"cannot read escalation rules {path}: {exc.strerror}") from None
    rules = parse_rules(text, str(path))
    known = {d.slug for d in Department.select(Department.slug)}
    for rule in rules:
        for slug in rule.departments:
            if slug not in known:
                raise InvalidInput(f"{path}: rule {rule.name}: unknown department {slug!r}")
        for email in filter(None, (rule.reassign, rule.notify)):
            _agent(email, f"{path}: rule {rule.name}")
    return rules


def _agent(email: str, label: str) -> Agent:
    agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == email, Agent.active == True)
    if agent is None:
        raise InvalidInput(f"{label}: no active agent {email!r}")
    return agent


@dataclass
class Firing:
    rule: str
    code: str
    changes: dict


def candidates(rule: Rule, now, limit: int):
    """Tickets the rule applies to that it has not fired on in their current waiting period."""
    waited_since = tickets.waiting_period_start_sql()
    already = EscalationFiring.select(EscalationFiring.id).where(
        EscalationFiring.rule == rule.name,
        EscalationFiring.ticket == Ticket.id,
        EscalationFiring.period_start == waited_since,
    )
    query = (
        Ticket.select(Ticket, Department)
        .join(Department, on=(Ticket.department == Department.id))
        .where(
            Ticket.status.in_(rule.statuses),
            waited_since <= now - rule.waiting,
            ~pw.fn.EXISTS(already),
        )
        .order_by(Ticket.id)
        .limit(limit)
    )
    if rule.departments:
        query = query.where(Department.slug.in_(list(rule.departments)))
    if rule.priorities:
        query = query.where(Ticket.priority.in_(list(rule.priorities)))
    return list(query)


def run(
    *, dry_run: bool = False, rules: list[Rule] | None = None, conf: settings.Settings | None = None
) -> list[Firing]:
    """Apply every rule; returns what fired (or, with dry_run, what would fire)."""
    conf = conf or settings.load()
    rules = load_rules() if rules is None else rules
    fired = []
    for rule in rules:
        assignee = _agent(rule.reassign, rule.name) if rule.reassign else None
        notify = _agent(rule.notify, rule.name) if rule.notify else None
        skipped: set[int] = set()
        while True:
            now = clock.now()
            batch = [
                t
                for t in candidates(rule, now, conf.batch_size + len(skipped))
                if t.id not in skipped
            ]
            if not batch:
                break
            for ticket in batch:
                period = tickets.waiting_period_start(ticket)
                if dry_run:
                    fired.append(Firing(rule.name, ticket.code, {"would": rule.actions()}))
                    skipped.add(ticket.id)
                    continue
                changes = tickets.escalate(
                    ticket,
                    rule=rule.name,
                    period_start=period,
                    still_applies=lambda t, rule=rule: rule.applies(
                        t, clock.now(), Department.get_by_id(t.department_id).slug
                    ),
                    priority=rule.raise_priority,
                    assignee=assignee,
                    notify=notify,
                    conf=conf,
                )
                if changes is None:
                    skipped.add(ticket.id)  # changed under us: a later run looks again
                else:
                    fired.append(Firing(rule.name, ticket.code, changes))
    return fired
