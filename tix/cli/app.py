"""The `tix` command: the root group, its global options, and every command registered on it.

Commands live by topic in tix/cli/ (tickets, desk, admin, setup, settings, completion); each
reads its options, calls one function of tix.service, and hands the result to tix.output. A command's module is
imported only when that command runs: `tix --help` lists them from COMMANDS (their module and
the first sentence of their help), which tests/test_performance_guards.py holds equal to the
commands themselves, so the help costs little more than importing click."""

import click

from tix import __version__

EXIT_OTHER = 1  # as tix.cli.plumbing

# name -> (module in tix.cli, the first sentence of its help)
COMMANDS = {
    "admin": ("admin", "Set up the desk (admins only)."),
    "attachment": ("tickets", "Files attached to tickets."),
    "close": ("tickets", "Close a ticket (it can be reopened later)."),
    "completion": ("completion", "Print the completion script for SHELL (bash, zsh or fish)."),
    "config": (
        "settings",
        "Your settings in ~/.config/tix/config.toml: store, format, language, pager.",
    ),
    "create": ("tickets", "Open a ticket."),
    "db": ("setup", "The store: where it is and its schema migrations."),
    "demo": (
        "setup",
        "Walk one ticket through its life on a throwaway SQLite store, printing each step.",
    ),
    "diagnose": (
        "tickets",
        "Run the account check of a ticket's services again and keep the results (agents).",
    ),
    "fix": (
        "tickets",
        "Apply fix NUMBER that the account check offered for a ticket (`tix show` lists them).",
    ),
    "init": (
        "setup",
        "Create the store and its first admin; prints the admin's token once and saves it.",
    ),
    "list": (
        "tickets",
        "List tickets: the queue (agents, by priority then age) or your history (newest first).",
    ),
    "login": ("setup", "Save your token for this store in the OS keyring."),
    "logout": ("setup", "Forget the saved token for this store."),
    "merge": (
        "desk",
        "Merge ticket CODE into INTO_CODE (agents): one thread, CODE closed pointing to INTO_CODE, the customer told once.",
    ),
    "next": ("desk", "Take the most urgent unassigned ticket in your departments (agents)."),
    "reassign": (
        "tickets",
        "Move a ticket to another department or technician, or change its priority (agents).",
    ),
    "reopen": ("tickets", "Reopen a closed ticket."),
    "reply": ("tickets", "Reply to a ticket (or add an internal note)."),
    "search": ("desk", "Find tickets whose subject or one message holds every word of TEXT."),
    "serve": (
        "setup",
        "Serve the desk's HTTP API on this store, for `tix --db http(s)://...` and scripts.",
    ),
    "show": ("tickets", "Show a ticket and its whole thread."),
    "sla": (
        "desk",
        "Show the SLA targets in force per department and priority, and the business hours.",
    ),
    "stats": (
        "desk",
        "How fast we answer: tickets opened and closed, first-response mean/median/p90 against the target, time to close, auto-closed share, reopen rate; computed from the event log (agents).",
    ),
    "status": ("tickets", "Set a ticket in-progress or on-hold (agents)."),
    "template": ("desk", "Canned replies, one per name and language (agents)."),
    "unwatch": ("desk", "Stop following a ticket."),
    "watch": ("desk", "Follow a ticket of any department: you are emailed its replies (agents)."),
    "whoami": ("setup", "Say who you are acting as."),
}


class TixRoot(click.Group):
    """The root group: commands imported when they run; tix's errors as one line and an exit
    code, and the command's transaction committed or rolled back (plumbing.invoke_root)."""

    def list_commands(self, ctx) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx, name: str):
        if name not in COMMANDS:
            return None
        import importlib

        module = importlib.import_module(f"tix.cli.{COMMANDS[name][0]}")
        command = next(command for command in module.COMMANDS if command.name == name)
        _short_options_without_suggestions(command)
        return command

    def format_commands(self, ctx, formatter) -> None:
        """click's own listing, from COMMANDS instead of the imported commands."""
        from click.utils import make_default_short_help

        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, make_default_short_help(COMMANDS[name][1], limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(self, info_name, args, parent=None, **extra):
        typed = [a for a in args if isinstance(a, str)] if parent is None else None
        if parent is None:
            extra.setdefault("terminal_width", _help_width())
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:  # `tix --db` without its URL, and the like
            from tix.cli import plumbing

            if typed is not None:
                plumbing.record_typed(typed)
            plumbing.usage_error(exc)
        if typed is not None:
            ctx.meta["tix.typed"] = typed  # what errors may echo (plumbing.invoke_root)
        return ctx

    def invoke(self, ctx):
        from tix.cli.plumbing import invoke_root

        return invoke_root(ctx, lambda: super(TixRoot, self).invoke(ctx))


def _short_options_without_suggestions(command: click.Command) -> None:
    """click tries each option as a long one first, and when that fails it computes the error's
    "did you mean" suggestions (importing difflib) before trying the option as a short one: a
    tenth of a second's worth of `tix create -d ... -s ... -m ...` spent on an error nobody
    sees. Here a single-dash option that is no long option fails that first try at once; an
    unknown option still gets its suggestions. (Parser internals: left alone if they differ.)"""
    if "make_parser" in vars(command):  # done already (get_command runs once per lookup)
        return
    for sub in getattr(command, "commands", {}).values():
        _short_options_without_suggestions(sub)
    make_parser = command.make_parser

    def quick_parser(ctx):
        parser = make_parser(ctx)
        match_long = getattr(parser, "_match_long_opt", None)
        long_opts, prefixes = (
            getattr(parser, "_long_opt", None),
            getattr(parser, "_opt_prefixes", None),
        )
        if match_long is None or long_opts is None or prefixes is None:
            return parser

        def match(opt, explicit_value, state):
            if opt not in long_opts and opt[:2] not in prefixes:
                raise click.NoSuchOption(opt, ctx=ctx)  # tried as a short option next
            return match_long(opt, explicit_value, state)

        parser._match_long_opt = match
        return parser

    command.make_parser = quick_parser


def _help_width() -> int | None:
    """The width click's help takes (`shutil.get_terminal_size`, without importing shutil and
    the compression modules it loads: a twentieth of `tix --help`); None under click's test
    runner, which forces its own."""
    import os
    import sys

    from click import formatting

    if formatting.FORCED_WIDTH is not None:
        return None
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, 80) - 2, 50)


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


@click.group(cls=TixRoot)
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
    from tix import output
    from tix.cli.plumbing import AppContext

    ctx.ensure_object(AppContext).db_option = db_option
    if output.colour_off():  # NO_COLOR, TERM=dumb: every command's output, plain
        ctx.color = False


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
