"""The `tix` command: the root group, its global options, and every command registered on it.

Commands live by topic in tix/cli/ (tickets, desk, admin, setup); each reads its options,
calls one function of tix.service, and hands the result to tix.output."""

import click

from tix import __version__
from tix.cli import admin, desk, setup, tickets
from tix.cli.plumbing import EXIT_OTHER, AppContext, TixGroup


@click.group(cls=TixGroup)
@click.option(
    "--db",
    "db_option",
    metavar="URL",
    help="store URL (default: $TIX_DATABASE_URL, else a SQLite file in your data directory)",
)
@click.version_option(__version__, prog_name="tix")
@click.pass_context
def cli(ctx, db_option):
    """tix: the support-ticket desk, in your terminal.

    Exit codes: 0 ok, 1 other failure (store unreachable...), 2 invalid input,
    3 not found (or not yours), 4 not allowed in this state or for your role.
    """
    ctx.ensure_object(AppContext).db_option = db_option


for command in [*setup.COMMANDS, *tickets.COMMANDS, *desk.COMMANDS, admin.admin]:
    cli.add_command(command)


def main():
    """Console entry point: nothing unexpected reaches the user as a traceback."""
    import os
    import sys

    try:
        cli(standalone_mode=True)
    except Exception as exc:  # a bug: say so in one line; TIX_DEBUG=1 shows the traceback
        if os.environ.get("TIX_DEBUG"):
            raise
        click.echo(f"tix: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_OTHER)
