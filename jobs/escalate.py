"""`tix-jobs escalate` (issue 7): apply the escalation rules (tix/escalation.py) once.

Also a step of `tix-jobs run` (jobs/runner.py calls `step`), before `notify` so the emails an
escalation queues leave in the same run.
"""

import click


def _options(func):
    # The same three options as every tix-jobs command (jobs/cli.py's job_options), declared
    # here so this module imports without jobs/cli.py (which imports it).
    func = click.option(
        "--no-lock",
        is_flag=True,
        help="skip the run-level lock (it is an optimisation; firings stay once)",
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="list each ticket escalated")(func)
    func = click.option("--dry-run", is_flag=True, help="print what would be done; change nothing")(
        func
    )
    return func


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


def step(conf, summary, dry_run: bool = False) -> None:
    """The `tix-jobs run` step: fills summary.escalated with one line per firing."""
    from tix import escalation

    rules = escalation.load_rules()
    if not rules:
        return  # no rules file: nothing to say in the summary line either
    summary.escalated = [
        describe(f, dry_run) for f in escalation.run(dry_run=dry_run, rules=rules, conf=conf)
    ]


@click.command()
@_options
@click.pass_context
def escalate(ctx, dry_run, verbose, no_lock):
    """Apply the escalation rules ($TIX_ESCALATION_RULES, else <config>/escalation.toml): raise
    priority, reassign, notify; each rule fires once per ticket per waiting period."""
    from tix.jobs.cli import _no_lock, load_settings, open_store
    from tix.jobs.lock import run_lock

    from tix import escalation

    conf = load_settings(mail=False, dry_run=dry_run)
    db = open_store(ctx)
    rules = escalation.load_rules()  # a bad rule is refused (exit 2) before anything changes
    if not rules:
        click.echo(f"no escalation rules in {escalation.rules_path()}: nothing to do")
        return
    skip_lock = no_lock or dry_run
    with run_lock(db, ctx.find_root().obj["url"]) if not skip_lock else _no_lock() as held:
        if not held:
            click.echo("skipped: another tix-jobs run is in progress")
            return
        fired = escalation.run(dry_run=dry_run, rules=rules, conf=conf)
    if verbose:
        for firing in fired:
            click.echo(describe(firing, dry_run))
    click.echo(f"dry run: would escalate {len(fired)}" if dry_run else f"escalated {len(fired)}")
