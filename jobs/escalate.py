"""`tix-jobs escalate`: apply the escalation rules (tix/escalation.py) once.

Also a step of `tix-jobs run` (jobs/runner.py), before `notify` so the emails an
escalation queues leave in the same run.
"""

import click
from tix.jobs.common import JobsContext, _no_lock, job_options, load_settings, open_store
from tix.jobs.runner import describe


@click.command()
@job_options
@click.pass_context
def escalate(ctx, dry_run, verbose, no_lock, progress):
    """Apply the escalation rules ($TIX_ESCALATION_RULES, else <config>/escalation.toml): raise
    priority, reassign, notify; each rule fires once per ticket per waiting period."""
    from tix.jobs.lock import run_lock

    from tix import escalation

    conf = load_settings(mail=False, dry_run=dry_run)
    db = open_store(ctx)
    rules = escalation.load_rules()  # a bad rule is refused (exit 2) before anything changes
    if not rules:
        click.echo(f"no escalation rules in {escalation.rules_path()}: nothing to do")
        return
    skip_lock = no_lock or dry_run
    with run_lock(db, ctx.find_object(JobsContext).url) if not skip_lock else _no_lock() as held:
        if not held:
            click.echo("skipped: another tix-jobs run is in progress")
            return
        from tix.jobs.progress import Progress

        with Progress(progress).step("escalate", "escalated") as tick:
            fired = escalation.run(dry_run=dry_run, rules=rules, conf=conf)
            tick(len(fired))
    if verbose >= 2:
        for firing in fired:
            click.echo(describe(firing, dry_run))
    click.echo(f"dry run: would escalate {len(fired)}" if dry_run else f"escalated {len(fired)}")
