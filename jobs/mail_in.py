"""`tix-jobs mail-in`: file incoming email (an MTA pipe, or a Maildir). The rules are in
tix/inbound.py; this reads the input, moves Maildir files, and reports one line per message.

Exit codes: 0 every message handled (filed, logged, refused or dropped: all final);
1 some Maildir message failed unexpectedly, or the store failed in Maildir mode (the messages not
yet handled stay in new/ for the next run); 2 bad input or configuration;
75 (EX_TEMPFAIL) in pipe mode when the store or the configuration fails, so the MTA keeps the
message and delivers it again later instead of bouncing it.
"""

import os
import sys
from collections import Counter
from pathlib import Path

import click

EX_TEMPFAIL = 75


def _store_failure(exc: Exception, ctx) -> str | None:
    """The one-line message for a store or configuration failure, or None for anything else."""
    from tix.jobs.common import JobsContext

    from tix.errors import InvalidInput, StoreError
    from tix.failures import as_tix_error

    if isinstance(exc, StoreError | InvalidInput):
        return str(exc)
    error = as_tix_error(exc, ctx.find_object(JobsContext).url or "")
    return str(error) if isinstance(error, StoreError) else None


def _prepare(ctx):
    from tix.jobs.common import open_store

    from tix import mailsettings, settings
    from tix.store import bound_lock_waits

    conf, limits = settings.load(), mailsettings.load_mail_in()
    bound_lock_waits(open_store(ctx))  # a held lock defers the message, never hangs it
    return conf, limits


def _maildir_folder(path: Path) -> Path:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _delivered_name(name: str) -> str:
    # Maildir: a message moved to cur/ gets the info suffix; ":2,S" = seen.
    return name if ":2," in name else f"{name}:2,S"


@click.command(name="mail-in")
@click.option(
    "--maildir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="file every message in DIR/new, moving each to DIR/cur (or the rejected folder)",
)
@click.option(
    "--rejected",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Maildir for refused messages (default: DIR/.Rejected)",
)
@click.option("--held", is_flag=True, help="list the held messages (filed by nobody) and exit")
@click.pass_context
def mail_in(ctx, maildir, rejected, held):
    """File incoming email: one message on stdin (MTA pipe), or a Maildir.

    Replies (a [CODE] in the subject, or answering an email tix sent) are added to their ticket;
    mail to a department address from a known contact opens a ticket; automatic mail is logged;
    a reply or new ticket whose sender nothing proves (no reply key, no trusted DMARC pass) is
    held until that person confirms it; anything else is refused with a notice. See
    docs/mail-in.md.
    """
    from tix.errors import InvalidInput

    if rejected and not maildir:
        raise InvalidInput("--rejected goes with --maildir")
    if held:
        if maildir:
            raise InvalidInput("--held lists, and reads no mail: not with --maildir")
        _list_held(ctx)
    elif maildir:
        _run_maildir(ctx, Path(maildir), Path(rejected) if rejected else None)
    else:
        _run_pipe(ctx)


def _list_held(ctx):
    from tix.jobs.common import open_store

    from tix.output import held_line
    from tix.service.mailin import held_messages

    open_store(ctx)
    found = held_messages()
    for item in found:
        click.echo(held_line(item).strip())
    click.echo(f"mail-in: {len(found)} held message(s)")


def _run_pipe(ctx):
    from tix import inbound

    raw = sys.stdin.buffer.read()
    inbound.parse(raw)  # no message at all, or nested too deep: exit 2, a retry would not help
    try:
        conf, limits = _prepare(ctx)
        outcome = inbound.handle(raw, conf=conf, limits=limits)
    except Exception as exc:
        message = _store_failure(exc, ctx)
        if message is None:
            raise
        # Not the message's fault: have the MTA keep it and deliver it again later.
        click.echo(f"tix-jobs: error: {message} (message deferred)", err=True)
        ctx.exit(EX_TEMPFAIL)
    click.echo(f"{outcome.outcome}: {outcome.detail}")


def _run_maildir(ctx, root: Path, rejected: Path | None):
    from tix import inbound
    from tix.errors import InvalidInput

    if not (root / "new").is_dir():
        raise InvalidInput(f"{root} is not a Maildir (it has no new/ folder)")
    conf, limits = _prepare(ctx)
    _maildir_folder(root)
    rejected = _maildir_folder(rejected or root / ".Rejected")
    counts, failed = Counter(), 0
    for path in sorted(
        p for p in (root / "new").iterdir() if p.is_file() and not p.name.startswith(".")
    ):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue  # another run took it
        try:
            outcome = inbound.handle(raw, conf=conf, limits=limits)
        except InvalidInput as exc:
            outcome = inbound.Outcome("refused", f"not filed: {exc}")
        except Exception as exc:
            if _store_failure(exc, ctx) is not None:
                raise  # the store is down: leave this and the rest in new/ for the next run
            failed += 1
            click.echo(f"{path.name}: failed: {type(exc).__name__}: {exc}", err=True)
            outcome = inbound.Outcome("refused", "failed")
        target = (rejected if outcome.rejected else root) / "cur" / _delivered_name(path.name)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            pass  # another run moved it; its Message-ID made our pass a no-op
        counts[outcome.outcome] += 1
        click.echo(f"{path.name}: {outcome.outcome}: {outcome.detail}")
    total = sum(counts.values())
    parts = ", ".join(f"{counts[name]} {name}" for name in inbound.OUTCOMES if counts[name])
    click.echo(f"mail-in: {total} message(s)" + (f": {parts}" if parts else ""))
    if failed:
        ctx.exit(1)
