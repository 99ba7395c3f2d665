"""`tix-jobs`: what cron runs. Reads options, calls runner/outbox, prints one summary line.

Exit codes: 0 ok, 1 some messages failed (or the store is unreachable), 2 bad configuration.
The `outbox` commands also use tix's 3 (no such message) and 4 (not in a state to retry).
"""

import sys

import click
from tix.jobs.common import (
    EXIT_MESSAGES_FAILED,
    JobsContext,
    JobsGroup,
    job_options,
    open_store,
    run_steps,
    setup_logging,
)
from tix.jobs.escalate import escalate
from tix.jobs.mail_in import mail_in

from tix import __version__, output
from tix.errors import InvalidInput
from tix.service import shapes
from tix.service.outbox import STATUSES as OUTBOX_STATUSES


@click.group(cls=JobsGroup)
@click.option(
    "--db",
    "db_option",
    metavar="URL",
    help="store URL (default: $TIX_DATABASE_URL, else the SQLite file in your data directory)",
)
@click.version_option(__version__, prog_name="tix-jobs")
@click.pass_context
def cli(ctx, db_option):
    """tix-jobs: reminders, auto-close and email dispatch (what cron runs).

    Exit codes: 0 ok, 1 some messages failed (or the store is unreachable),
    2 bad configuration.
    """
    ctx.ensure_object(JobsContext).db_option = db_option
    setup_logging()


@cli.command()
@job_options
@click.pass_context
def remind(ctx, dry_run, verbose, no_lock, progress):
    """Queue one reminder for each ticket waiting on the customer for TIX_REMIND_AFTER (48h)."""
    run_steps(ctx, ["remind"], dry_run, verbose, no_lock, progress)


@cli.command()
@job_options
@click.pass_context
def autoclose(ctx, dry_run, verbose, no_lock, progress):
    """Close (reason auto) tickets whose reminder was delivered TIX_CLOSE_AFTER (24h) ago."""
    run_steps(ctx, ["autoclose"], dry_run, verbose, no_lock, progress)


@cli.command()
@job_options
@click.pass_context
def notify(ctx, dry_run, verbose, no_lock, progress):
    """Send queued emails (SMTP if TIX_SMTP_HOST is set, else the mail folder)."""
    run_steps(ctx, ["notify"], dry_run, verbose, no_lock, progress)


@cli.command()
@job_options
@click.pass_context
def run(ctx, dry_run, verbose, no_lock, progress):
    """remind, autoclose, escalate, notify, in that order: what cron calls every hour."""
    run_steps(
        ctx, ["remind", "autoclose", "escalate", "notify"], dry_run, verbose, no_lock, progress
    )


@cli.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice(OUTBOX_STATUSES),
    help="only messages in this state",
)
@click.option(
    "--limit",
    type=output.LIMIT,
    default=100,
    show_default=True,
    help="at most this many, newest first (0: all)",
)
@output.format_option(fields=shapes.OUTBOX)
@click.pass_context
def outbox(ctx, status, limit, fmt):
    """List the email queue, newest first (`outbox retry` requeues)."""
    if ctx.invoked_subcommand is not None:
        return
    from tix.service import outbox as queue

    open_store(ctx)
    rows = queue.rows(status, limit or None)
    output.emit_rows(
        rows,
        [
            "id",
            "status",
            "kind",
            "recipient",
            "ticket",
            "attempts",
            "next_attempt_at",
            "last_error",
        ],
        fmt,
        fields=shapes.OUTBOX,
    )


@outbox.command(name="retry")
@click.argument("message_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="requeue every dead message")
@click.option(
    "--all-uncertain",
    is_flag=True,
    help="requeue every uncertain message (once you know none of them arrived)",
)
@click.pass_context
def outbox_retry(ctx, message_id, all_dead, all_uncertain):
    """Requeue one failed, dead or uncertain message by its ID, or every dead or every
    uncertain one."""
    from tix.service import outbox as queue

    if [message_id is not None, all_dead, all_uncertain].count(True) != 1:
        raise InvalidInput("give one outbox ID, --all-dead or --all-uncertain")
    open_store(ctx)
    if all_dead:
        click.echo(f"requeued {queue.retry_all_dead()} dead message(s)")
        return
    if all_uncertain:
        click.echo(f"requeued {queue.retry_all_uncertain()} uncertain message(s)")
        return
    row = queue.retry(message_id)
    click.echo(f"requeued {row['id']} ({row['kind']} to {row['recipient']})")


cli.add_command(mail_in)
cli.add_command(escalate)


def main():
    """Console entry point: nothing unexpected reaches cron's mail as a traceback."""
    import os

    try:
        cli(standalone_mode=True, prog_name="tix-jobs", complete_var="_TIX_JOBS_COMPLETE")
    except Exception as exc:  # a bug: one line; TIX_DEBUG=1 shows the traceback
        if os.environ.get("TIX_DEBUG"):
            raise
        click.echo(f"tix-jobs: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_MESSAGES_FAILED)


if __name__ == "__main__":
    main()
