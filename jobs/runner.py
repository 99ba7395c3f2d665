"""What one `tix-jobs` command does, in bounded batches. The rules themselves (who is due, the
compare-and-set transitions) live in tix/tickets/; this module only walks the batches."""

from dataclasses import dataclass, field

from tix.jobs import dispatch

from tix import clock, outbox, settings, tickets


@dataclass
class Summary:
    reminded: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    mail: dispatch.NotifyResult = field(default_factory=dispatch.NotifyResult)
    would_send: list[str] = field(default_factory=list)
    # Lines of the escalate step; None when no escalation rules are configured.
    escalated: list[str] | None = None

    def line(self, dry_run: bool = False) -> str:
        escalated = "" if self.escalated is None else f", escalate {len(self.escalated)}"
        if dry_run:
            return (
                f"dry run: would remind {len(self.reminded)}, close {len(self.closed)}"
                f"{escalated}, send {len(self.would_send)}"
            )
        m = self.mail
        escalated = escalated.replace("escalate", "escalated")
        return (
            f"reminded {len(self.reminded)}, closed {len(self.closed)}{escalated}, sent {m.sent}, "
            f"retrying {m.retrying}, dead {m.dead}, uncertain {m.uncertain}"
        )


def _walk(due, transition, conf: settings.Settings, dry_run: bool) -> list[str]:
    """Apply `transition` to the due tickets, one batch (TIX_BATCH_SIZE) per transaction; the
    codes done. Only a batch is in memory at a time."""
    now = clock.now()
    done, after_id = [], 0
    while True:
        batch = due(conf, now, after_id=after_id)
        if not batch:
            return done
        changed = batch if dry_run else transition(batch, conf=conf)
        done += [ticket.code for ticket in changed]
        after_id = batch[-1].id


def remind(conf: settings.Settings, summary: Summary, dry_run: bool = False) -> None:
    summary.reminded += _walk(tickets.due_for_reminder, tickets.remind_batch, conf, dry_run)


def autoclose(conf: settings.Settings, summary: Summary, dry_run: bool = False) -> None:
    summary.closed += _walk(tickets.due_for_autoclose, tickets.autoclose_batch, conf, dry_run)


def describe(firing, dry_run: bool) -> str:
    if dry_run:
        return f"would escalate {firing.code} ({firing.rule}: {firing.changes['would']})"
    changes = firing.changes
    parts = []
    if "priority" in changes:
        parts.append(f"priority {changes['priority']}")
    if "assignee" in changes:
        parts.append(f"assigned to {changes['assignee']}")
    if "notified" in changes:
        parts.append(f"notified {changes['notified']}")
    return f"escalated {firing.code} ({firing.rule}: {', '.join(parts) or 'no change needed'})"


def escalate(conf: settings.Settings, summary: Summary, dry_run: bool = False) -> None:
    """The `tix-jobs run` step: fills summary.escalated with one line per firing."""
    from tix import escalation

    rules = escalation.load_rules()
    if not rules:
        return  # no rules file: nothing to say in the summary line either
    summary.escalated = [
        describe(f, dry_run) for f in escalation.run(dry_run=dry_run, rules=rules, conf=conf)
    ]


def notify(conf: settings.Settings, summary: Summary, dry_run: bool = False) -> None:
    if dry_run:
        summary.would_send += [
            f"{row.kind} to {row.recipient} {row.message_id}" for row in outbox.due(clock.now())
        ]
        return
    from tix.jobs import mail_requests

    mail_requests.render(conf)  # customers' emails, written before they are sent
    summary.mail = dispatch.notify(conf)
