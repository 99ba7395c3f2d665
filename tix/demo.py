"""`tix demo`: one ticket's whole life on a throwaway SQLite store, through the real commands.

Time moves with tix's injectable clock, so the demo shows waits without sleeping.
"""

import os
import shlex
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

import click

from tix import clock

# The two doors the demo drives, handed to `run` by `tix demo` (so this module imports neither).
_DOORS: dict = {}


def _run(args: list[str], token: str | None, note: str, program: str = "tix") -> str:
    cli = _DOORS[program]

    click.secho(f"\n# {note}", fg="cyan")
    click.secho(f"$ {program} " + " ".join(shlex.quote(a) for a in args), bold=True)
    if token:
        os.environ["TIX_TOKEN"] = token
    else:
        os.environ.pop("TIX_TOKEN", None)
    import contextlib
    import io

    buffer = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(buffer):
        try:
            cli.main(args=args, prog_name=program, standalone_mode=False)
        except SystemExit as exc:
            code = exc.code or 0
    text = buffer.getvalue()
    click.echo(text, nl=False)
    if code:
        raise click.ClickException(f"demo step failed with exit code {code}")
    return text.strip()


def run(keep: str | None, *, tix, tix_jobs) -> int:
    """`tix` and `tix_jobs`: the click groups of the two commands."""
    _DOORS.update({"tix": tix, "tix-jobs": tix_jobs})
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="tix-demo-"))
    if keep:
        _fresh_keep_folder(workdir)
    saved = {
        k: os.environ.get(k)
        for k in (
            "TIX_DATABASE_URL",
            "TIX_TOKEN",
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
            "TIX_DIAGNOSIS",
        )
    }
    # Everything the demo writes (store, saved token, mail folder) stays inside workdir.
    os.environ["TIX_DATABASE_URL"] = f"sqlite:///{workdir / 'demo.db'}"
    # The demo's customer domain is made up: an account check of it would only wait on DNS.
    os.environ["TIX_DIAGNOSIS"] = "off"
    os.environ["XDG_DATA_HOME"] = str(workdir / "data")
    os.environ["XDG_CONFIG_HOME"] = str(workdir / "config")
    try:
        admin = _run(
            ["init", "--admin-email", "admin@demo.example", "--admin-name", "Ada Admin", "--quiet"],
            None,
            "create the store and its first admin",
        )
        _run(
            [
                "admin",
                "agent",
                "add",
                "tech@demo.example",
                "--name",
                "Tomás Tech",
                "--department",
                "hosting",
                "--department",
                "email",
            ],
            admin,
            "add a technician",
        )
        _run(
            [
                "admin",
                "account",
                "add",
                "acme",
                "--name",
                "Acme Ltd",
                "--owner-email",
                "owner@acme.example",
                "--owner-name",
                "Olga Owner",
                "--lang",
                "en",
            ],
            admin,
            "add a customer account (its owner is a contact)",
        )
        _run(
            ["admin", "service", "add", "acme", "acme.example", "--kind", "domain"],
            admin,
            "register the customer's domain",
        )
        customer = _run(
            ["admin", "token", "issue", "owner@acme.example", "--quiet"],
            admin,
            "issue the customer a token",
        )
        tech = _run(
            ["admin", "token", "issue", "tech@demo.example", "--quiet"],
            admin,
            "issue the technician a token",
        )
        code = _run(
            [
                "create",
                "--department",
                "hosting",
                "--priority",
                "high",
                "--subject",
                "Website shows error 500",
                "--service",
                "acme.example",
                "-m",
                "Since 10:00 https://acme.example/ answers '500 Internal Server Error'.",
                "--quiet",
            ],
            customer,
            "the customer opens a ticket",
        )
        clock.advance(timedelta(minutes=12))
        _run(["list"], tech, "12 minutes later the technician looks at the queue")
        _run(
            ["reply", code, "-m", "We restarted PHP-FPM; the site answers again. Can you check?"],
            tech,
            "the technician answers",
        )
        clock.advance(timedelta(hours=2))
        _run(
            ["reply", code, "-m", "It works, but the contact form still fails to send mail."],
            customer,
            "two hours later the customer replies",
        )
        _run(
            ["reassign", code, "--department", "email", "--agent", "tech@demo.example"],
            tech,
            "the technician moves it to the Email department and takes it",
        )
        _run(
            ["reply", code, "--internal", "-m", "SPF record missing on acme.example"],
            tech,
            "an internal note the customer never sees",
        )
        _run(["close", code], tech, "fixed: the technician closes the ticket")
        clock.advance(timedelta(days=3))
        _run(
            ["reopen", code, "-m", "The form failed again this morning."],
            customer,
            "three days later the customer reopens it",
        )
        _run(
            [
                "reply",
                code,
                "-m",
                "SPF fixed: mail from the form is accepted again. Please try it.",
            ],
            tech,
            "the technician answers again; now the ticket waits on the customer",
        )
        if tix_jobs is not None:
            clock.advance(timedelta(hours=47, minutes=59))
            _run(["run"], None, "47h59m later the hourly job finds nothing due yet", "tix-jobs")
            clock.advance(timedelta(minutes=1))
            mailed_before = _mail_folder_files()
            _run(
                ["run"],
                None,
                "at 48h it sends the customer one reminder (and the queued emails)",
                "tix-jobs",
            )
            _show_reminder(sorted(_mail_folder_files() - mailed_before))
            clock.advance(timedelta(hours=24))
            _run(
                ["run"],
                None,
                "24 hours after the reminder went out, with no answer, it closes the ticket",
                "tix-jobs",
            )
            _run(
                ["list", "--all", "--format", "json"],
                customer,
                "the customer's history, as JSON for scripts: closed automatically",
            )
            clock.advance(timedelta(days=2))
            _run(
                ["reply", code, "-m", "Sorry, I was away. It works now, thank you!"],
                customer,
                "two days later the customer answers after all: the ticket reopens",
            )
        _run(["show", code, "--history"], tech, "the whole thread and its history")
        sent = _dispatch_demo_mail()
        if sent is not None:
            click.secho(
                f"\n# {sent} more notification email(s) written to {workdir / 'data' / 'tix' / 'mail'}",
                fg="cyan",
            )
        click.secho(f"\ndemo store: {workdir}" + ("" if keep else " (removed)"), fg="green")
        return 0
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clock.reset()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


# What a demo leaves in its folder, and the mark that says a folder is a demo's.
_MARK = ".tix-demo"
_LEFT = ("demo.db", "demo.db-wal", "demo.db-shm", "demo.db.jobs-lock", "data", "config")


def _fresh_keep_folder(workdir: Path) -> None:
    """`--keep DIR` may be run again: the previous demo's files in DIR are removed (and only
    those). A folder with other things in it, that no demo made, is refused."""
    if workdir.is_dir() and any(workdir.iterdir()):
        if not (workdir / _MARK).exists():
            raise click.ClickException(
                f"{workdir} is not empty and holds no earlier demo: choose a new or empty folder"
            )
        for name in _LEFT:
            path = workdir / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / _MARK).write_text("a folder `tix demo --keep` made; it may empty it again\n")


def _mail_folder_files() -> set:
    from tix import paths

    folder = paths.data_dir() / "mail"
    return set(folder.glob("*.eml")) if folder.is_dir() else set()


def _show_reminder(written: list) -> None:
    """Print the reminder email as the customer receives it: the first the 48h run wrote to
    the mail folder (that run had only reminders to send)."""
    from email import message_from_bytes, policy

    msg = message_from_bytes(written[0].read_bytes(), policy=policy.default)
    click.secho("\n# the reminder, as the customer receives it", fg="cyan")
    for header in ("To", "Subject", "Auto-Submitted"):
        click.echo(f"{header}: {msg[header]}")
    click.echo("")
    click.echo(msg.get_content().rstrip())


def _dispatch_demo_mail() -> int | None:
    """Send the queued notifications to the local mail folder, if the jobs package is present."""
    try:
        from tix.jobs import dispatch
    except ImportError:
        return None
    return dispatch.send_pending_for_demo()
