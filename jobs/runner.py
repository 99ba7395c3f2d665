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


def _ignore(done: int) -> None:
    pass


def _walk(due, transition, conf: settings.Settings, dry_run: bool, tick) -> list[str]:
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
        tick(len(done))
        after_id = batch[-1].id


# Each step: (what its progress line counts, how many there are to do when known in advance).
UNITS = {"remind": "reminded", "autoclose": "closed", "escalate": "escalated", "notify": "emails"}


def remind(conf: settings.Settings, summary: Summary, dry_run: bool = False, tick=_ignore):
    summary.reminded += _walk(tickets.due_for_reminder, tickets.remind_batch, conf, dry_run, tick)


def autoclose(conf: settings.Settings, summary: Summary, dry_run: bool = False, tick=_ignore):
    summary.closed += _walk(tickets.due_for_autoclose, tickets.autoclose_batch, conf, dry_run, tick)


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


def escalate(conf: settings.Settings, summary: Summary, dry_run: bool = False, tick=_ignore):
    """The `tix-jobs run` step: fills summary.escalated with one line per firing."""
    from tix import escalation

    rules = escalation.load_rules()
    if not rules:
        return  # no rules file: nothing to say in the summary line either
    summary.escalated = [
        describe(f, dry_run) for f in escalation.run(dry_run=dry_run, rules=rules, conf=conf)
    ]
    tick(len(summary.escalated))


def notify(conf: settings.Settings, summary: Summary, dry_run: bool = False, tick=_ignore):
    if dry_run:
        summary.would_send += [
            f"{row.kind} to {row.recipient} {row.message_id}" for row in outbox.due(clock.now())
        ]
        tick(len(summary.would_send))
        return
    from tix.jobs import mail_requests

    mail_requests.render(conf)  # customers' emails, written before they are sent
    summary.mail = dispatch.notify(conf, progress=lambda mail: tick(mail.sent + mail.failed))


def step_total(step: str, dry_run: bool) -> int | None:
    """How many a step has to do, where that is cheap to know first (for the progress bar)."""
    return dispatch.due_count() if step == "notify" and not dry_run else None


def step_line(step: str, summary: Summary, dry_run: bool, seconds: float) -> str:
    """`-v`: what one step did, and how long it took."""
    counts = {
        "remind": ("remind", "reminded", len(summary.reminded)),
        "autoclose": ("close", "closed", len(summary.closed)),
        "escalate": ("escalate", "escalated", len(summary.escalated or [])),
        "notify": ("send", "sent", len(summary.would_send)),
    }
    verb, done, count = counts[step]
    if dry_run:
        text = f"would {verb} {count}"
    elif step == "notify":
        m = summary.mail
        text = f"sent {m.sent}, retrying {m.retrying}, dead {m.dead}, uncertain {m.uncertain}"
    else:
        text = f"{done} {count}"
    return f"{step}: {text} ({seconds:.1f}s)"
