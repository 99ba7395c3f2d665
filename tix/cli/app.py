"""The `tix` command: the root group, its global options, and every command registered on it.

Commands live by topic in tix/cli/ (tickets, desk, admin, setup, settings, completion); each
reads its options, calls one function of tix.service, and hands the result to tix.output."""

import click

from tix import __version__, output
from tix.cli import admin, completion, desk, settings, setup, tickets
from tix.cli.plumbing import EXIT_OTHER, AppContext, TixGroup


def _warn_if_password(ctx, param, value):
    """A password in --db is visible to every user of the machine (`ps`): say so (not while
    the shell completes a command line)."""
    if value and not ctx.resilient_parsing:
        from tix.urls import url_password

        if url_password(value):
            click.echo(
                "tix: warning: the password in --db is visible to other users (ps, shell "
                "history): use TIX_DATABASE_URL, `tix config set store`, or TIX_DATABASE_PASSWORD",
                err=True,
            )
    return value


@click.group(cls=TixGroup)
@click.option(
    "--db",
    "db_option",
    metavar="URL",
    callback=_warn_if_password,
    help="store URL (default: $TIX_DATABASE_URL, else `store` in the config, else a SQLite file "
    "in your data directory)",
)
@click.version_option(__version__, prog_name="tix")
@click.pass_context
def cli(ctx, db_option):
    """tix: the support-ticket desk, in your terminal.

    Exit codes: 0 ok, 1 other failure (store unreachable...), 2 invalid input,
    3 not found (or not yours), 4 not allowed in this state or for your role.
    """
    ctx.ensure_object(AppContext).db_option = db_option
    if output.colour_off():  # NO_COLOR, TERM=dumb: every command's output, plain
        ctx.color = False


for command in [
    *setup.COMMANDS,
    *tickets.COMMANDS,
    *desk.COMMANDS,
    admin.admin,
    *settings.COMMANDS,
    completion.completion,
]:
    cli.add_command(command)


def main():
    """Console entry point: nothing unexpected reaches the user as a traceback."""
    import os
    import sys

    try:
        # The completion variable is named for `tix` however it was started (python -m tix).
        cli(standalone_mode=True, complete_var="_TIX_COMPLETE")
    except Exception as exc:  # a bug: say so in one line; TIX_DEBUG=1 shows the traceback
        if os.environ.get("TIX_DEBUG"):
            raise
        click.echo(f"tix: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_OTHER)
