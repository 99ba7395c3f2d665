"""`tix-jobs`: what cron runs. Reads options, calls runner/outbox, prints one summary line.

Exit codes: 0 ok, 1 some messages failed (or the store is unreachable), 2 bad configuration.
The `outbox` commands also use tix's 3 (no such message) and 4 (not in a state to retry).
"""

import logging
import sys

import click

from tix import __version__
from tix.errors import InvalidInput, StoreError, TixError, one_line

EXIT_OK, EXIT_MESSAGES_FAILED, EXIT_BAD_CONFIGURATION = 0, 1, 2

log = logging.getLogger("tix.jobs")


class JobsGroup(click.Group):
    """tix-jobs' own errors and store failures become one line on stderr and an exit code."""

    def invoke(self, ctx):
        from tix.cli import as_store_error, close_store

        try:
            return super().invoke(ctx)
        except TixError as exc:
            fail(str(exc), exc.exit_code)
        except Exception as exc:
            store_error = as_store_error(exc, ctx)
            if store_error is None:
                raise
            fail(str(store_error), store_error.exit_code)
        finally:
            close_store(ctx)


def fail(message: str, code: int):
    click.echo(f"tix-jobs: error: {one_line(message)}", err=True)
    sys.exit(code)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _setup_logging() -> None:
    # Problems go to stderr with a timestamp, so cron's `>> file 2>&1` makes a readable log.
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s tix-jobs[%(process)d] %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"
            )
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def load_settings(*, mail: bool, dry_run: bool):
    """Every setting this command uses, checked before anything is changed (bad -> exit 2)."""
    from tix import settings

    conf = settings.load()
    if mail:
        settings.outbox_lease()
        smtp = settings.load_smtp()
        if smtp and smtp.user and not dry_run:
            settings.smtp_password(smtp.user)  # only checks that one exists
    return conf


def open_store(ctx):
    from tix import migrations, paths, store

    root = ctx.find_root()
    if root.obj.get("db") is None:
        url = paths.resolve_url(root.obj.get("db_option"))
        root.obj["url"] = url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            if not Path(store.sqlite_path(url)).exists():
                raise InvalidInput(
                    f"no store at {store.mask_url(url)}: check TIX_DATABASE_URL "
                    "(cron does not read your shell's profile)"
                )
        try:
            root.obj["db"] = store.connect(url)
        except StoreError as exc:
            if "unsupported database URL" in str(exc):
                raise InvalidInput(str(exc)) from None
            raise
        if not migrations.is_current(root.obj["db"]):
            raise InvalidInput(
                f"store {store.mask_url(url)} is not set up or not up to date: "
                "run `tix init` (new store) or `tix db upgrade`"
            )
    return root.obj["db"]


def job_options(func):
    func = click.option(
        "--no-lock",
        is_flag=True,
        help="skip the run-level lock (it is an optimisation; claims stay safe)",
    )(func)
    func = click.option("-v", "--verbose", is_flag=True, help="list each ticket and message")(func)
    func = click.option("--dry-run", is_flag=True, help="print what would be done; change nothing")(
        func
    )
    return func


def run_steps(ctx, steps: list[str], dry_run: bool, verbose: bool, no_lock: bool) -> None:
    from tix.jobs import runner
    from tix.jobs.lock import run_lock

    conf = load_settings(mail="notify" in steps, dry_run=dry_run)
    db = open_store(ctx)
    if "escalate" in steps:
        from tix import escalation

        escalation.load_rules()  # a bad rule is refused (exit 2) before any step changes anything
    summary = runner.Summary()
    # A dry run writes nothing, not even a lock file, and may run beside a real one.
    skip_lock = no_lock or dry_run
    with run_lock(db, ctx.find_root().obj["url"]) if not skip_lock else _no_lock() as held:
        if not held:
            click.echo("skipped: another tix-jobs run is in progress")
            return
        for step in steps:
            getattr(runner, step)(conf, summary, dry_run=dry_run)
    if verbose:
        for code in summary.reminded:
            click.echo(f"{'would remind' if dry_run else 'reminded'} {code}")
        for code in summary.closed:
            click.echo(f"{'would close' if dry_run else 'closed'} {code}")
        for line in summary.escalated or []:
            click.echo(line)
        for line in summary.would_send if dry_run else summary.mail.details:
            click.echo(f"would send {line}" if dry_run else line)
    click.echo(summary.line(dry_run))
    if summary.mail.failed:
        ctx.exit(EXIT_MESSAGES_FAILED)


class _no_lock:
    def __enter__(self):
        return True

    def __exit__(self, *exc):
        return False


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
    ctx.obj = {"db_option": db_option}
    _setup_logging()


@cli.command()
@job_options
@click.pass_context
def remind(ctx, dry_run, verbose, no_lock):
    """Queue one reminder for each ticket waiting on the customer for TIX_REMIND_AFTER (48h)."""
    run_steps(ctx, ["remind"], dry_run, verbose, no_lock)


@cli.command()
@job_options
@click.pass_context
def autoclose(ctx, dry_run, verbose, no_lock):
    """Close (reason auto) tickets whose reminder was delivered TIX_CLOSE_AFTER (24h) ago."""
    run_steps(ctx, ["autoclose"], dry_run, verbose, no_lock)


@cli.command()
@job_options
@click.pass_context
def notify(ctx, dry_run, verbose, no_lock):
    """Send queued emails (SMTP if TIX_SMTP_HOST is set, else the mail folder)."""
    run_steps(ctx, ["notify"], dry_run, verbose, no_lock)


@cli.command()
@job_options
@click.pass_context
def run(ctx, dry_run, verbose, no_lock):
    """remind, autoclose, escalate, notify, in that order: what cron calls every hour."""
    run_steps(ctx, ["remind", "autoclose", "escalate", "notify"], dry_run, verbose, no_lock)


@cli.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed", "dead", "uncertain", "cancelled"]),
    help="only messages in this state",
)
@click.option(
    "--limit", type=int, default=100, show_default=True, help="at most this many, newest first"
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_context
def outbox(ctx, status, limit, fmt):
    """List the email queue, newest first (`outbox retry` requeues)."""
    if ctx.invoked_subcommand is not None:
        return
    from tix import outbox as queue
    from tix import output

    open_store(ctx)
    rows = queue.listing(status, limit)
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
    )


@outbox.command(name="retry")
@click.argument("message_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="requeue every dead message")
@click.pass_context
def outbox_retry(ctx, message_id, all_dead):
    """Requeue one failed, dead or uncertain message by its ID, or every dead one."""
    from tix import outbox as queue

    if (message_id is None) == (not all_dead):
        raise InvalidInput("give one outbox ID, or --all-dead")
    open_store(ctx)
    if all_dead:
        click.echo(f"requeued {queue.retry_all_dead()} dead message(s)")
        return
    row = queue.retry(message_id)
    click.echo(f"requeued {row.id} ({row.kind} to {row.recipient})")


# Email in (issue 6): the command lives in its own module; its imports stay lazy.
from tix.jobs.mail_in import mail_in  # noqa: E402

cli.add_command(mail_in)

# Escalation rules (issue 7): also a step of `run`, before notify.
from tix.jobs.escalate import escalate  # noqa: E402

cli.add_command(escalate)


def main():
    """Console entry point: nothing unexpected reaches cron's mail as a traceback."""
    import os

    try:
        cli(standalone_mode=True, prog_name="tix-jobs")
    except Exception as exc:  # a bug: one line; TIX_DEBUG=1 shows the traceback
        if os.environ.get("TIX_DEBUG"):
            raise
        click.echo(f"tix-jobs: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_MESSAGES_FAILED)


if __name__ == "__main__":
    main()
