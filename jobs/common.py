"""What every `tix-jobs` command shares: the store it opens, the settings it checks first,
its options, the hourly steps, and errors as one line with an exit code (the same mapping as
`tix`'s, from tix.errors)."""

import logging
import sys
from dataclasses import dataclass

import click

from tix.errors import InvalidInput, StoreError, one_line
from tix.failures import as_tix_error

EXIT_OK, EXIT_MESSAGES_FAILED, EXIT_BAD_CONFIGURATION = 0, 1, 2

log = logging.getLogger("tix.jobs")


@dataclass
class JobsContext:
    """What one `tix-jobs` invocation knows: the store it works on (opened by open_store)."""

    db_option: str | None = None
    url: str | None = None
    db: object = None


class JobsGroup(click.Group):
    """tix-jobs' own errors and store failures become one line on stderr and an exit code."""

    def invoke(self, ctx):
        app = ctx.ensure_object(JobsContext)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = as_tix_error(exc, app.url or "")
            if error is None:
                raise
            fail(str(error), error.exit_code)
        finally:
            if app.db is not None and not app.db.is_closed():
                app.db.close()


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


def setup_logging() -> None:
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
    from tix import mailsettings, settings

    conf = settings.load()
    if mail:
        settings.outbox_lease()
        mailsettings.smtp_connections()
        smtp = mailsettings.load_smtp()
        if smtp and smtp.user and not dry_run:
            mailsettings.smtp_password(smtp.user)  # only checks that one exists
    return conf


def open_store(ctx):
    from tix import migrations, paths, store

    app = ctx.find_object(JobsContext)
    if app.db is None:
        url = paths.resolve_url(app.db_option)
        app.url = url
        if url.startswith("sqlite:///"):
            from pathlib import Path

            if not Path(store.sqlite_path(url)).exists():
                raise InvalidInput(
                    f"no store at {store.mask_url(url)}: check TIX_DATABASE_URL "
                    "(cron does not read your shell's profile)"
                )
        try:
            app.db = store.connect(url)
        except StoreError as exc:
            if "unsupported database URL" in str(exc):
                raise InvalidInput(str(exc)) from None
            raise
        if not migrations.is_current(app.db):
            raise InvalidInput(
                f"store {store.mask_url(url)} is not set up or not up to date: "
                "run `tix init` (new store) or `tix db upgrade`"
            )
    return app.db


def job_options(func):
    func = click.option(
        "--no-lock",
        is_flag=True,
        help="skip the run-level lock (it is an optimisation; claims stay safe)",
    )(func)
    func = click.option(
        "--progress/--no-progress",
        default=None,
        help="show each step's progress on stderr (default: when stderr is a terminal)",
    )(func)
    func = click.option(
        "-v",
        "--verbose",
        count=True,
        help="-v: a line per step with its count; -vv: also a line per ticket and message",
    )(func)
    func = click.option("--dry-run", is_flag=True, help="print what would be done; change nothing")(
        func
    )
    return func


def run_steps(
    ctx, steps: list[str], dry_run: bool, verbose: int, no_lock: bool, progress: bool | None
) -> None:
    import time

    from tix.jobs import runner
    from tix.jobs.lock import run_lock
    from tix.jobs.progress import Progress

    conf = load_settings(mail="notify" in steps, dry_run=dry_run)
    db = open_store(ctx)
    if "escalate" in steps:
        from tix import escalation

        escalation.load_rules()  # a bad rule is refused (exit 2) before any step changes anything
    summary = runner.Summary()
    lines = []
    # A dry run writes nothing, not even a lock file, and may run beside a real one.
    skip_lock = no_lock or dry_run
    with run_lock(db, ctx.find_object(JobsContext).url) if not skip_lock else _no_lock() as held:
        if not held:
            click.echo("skipped: another tix-jobs run is in progress")
            return
        display = Progress(progress)
        for step in steps:
            started = time.perf_counter()
            total = runner.step_total(step, dry_run) if display.enabled else None
            with display.step(step, runner.UNITS[step], total) as tick:
                getattr(runner, step)(conf, summary, dry_run=dry_run, tick=tick)
            if verbose and (step != "escalate" or summary.escalated is not None):
                lines.append(
                    runner.step_line(step, summary, dry_run, time.perf_counter() - started)
                )
    for line in lines:
        click.echo(line)
    if verbose >= 2:
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
