"""What every `tix` command shares: the typed context, the command's transaction, turning
errors into one line and an exit code, and the options and arguments several commands take."""

import functools
import sys
from dataclasses import dataclass, field
from datetime import UTC

import click

from tix import clock
from tix.errors import InvalidInput, StoreError, one_line
from tix.failures import as_tix_error

# Exit codes, documented in README.md and docs/cli.md.
EXIT_OK, EXIT_OTHER, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_NOT_ALLOWED = 0, 1, 2, 3, 4


@dataclass
class AppContext:
    """What one `tix` invocation knows: the store it talks to and who is acting. Opening the
    store, beginning the command's transaction and signing in happen in `sign_in`, which
    `@signed_in` commands call before their body runs; nothing else opens either."""

    db_option: str | None = None
    url: str | None = None
    db: object = None
    principal: object = None
    _txn: object = field(default=None, repr=False)

    def store_url(self) -> str:
        from tix.paths import resolve_url

        if self.url is None:
            self.url = resolve_url(self.db_option)
        return self.url

    def open_store(self, *, require_schema: bool = True):
        from tix import migrations, store

        if self.db is None:
            url = self.store_url()
            self.db = store.connect(url)
            if require_schema and not migrations.is_current(self.db):
                raise StoreError(
                    f"store {store.mask_url(url)} is not set up or not up to date: "
                    "run `tix init` (new store) or `tix db upgrade`"
                )
        return self.db

    def begin(self) -> None:
        """The rest of the command runs in one transaction (PostgreSQL: row-level security
        sees the identity only inside one; see tix.store.command_transaction)."""
        from tix import store

        if self._txn is None:
            self._txn = store.command_transaction(self.open_store())
            self._txn.__enter__()

    def sign_in(self):
        from tix.service import session

        if self.principal is None:
            self.begin()
            self.principal = session.current(self.store_url())
        return self.principal

    def end(self, *, commit: bool) -> None:
        from tix import store

        txn, self._txn = self._txn, None
        if txn is not None:
            if commit:
                txn.__exit__(None, None, None)
            else:
                try:
                    txn.__exit__(_Rollback, _Rollback(), None)
                except Exception:  # the connection is gone: nothing was committed anyway
                    pass
        store.set_identity(None)  # the next command (same process in tests) starts as nobody

    def close(self) -> None:
        if self.db is not None and not self.db.is_closed():
            self.db.close()


class _Rollback(Exception):
    pass


pass_app = click.make_pass_decorator(AppContext)


def signed_in(func):
    """The command acts as someone: its first argument is the principal (see AppContext)."""

    @functools.wraps(func)
    def command(*args, **kwargs):
        app = click.get_current_context().find_object(AppContext)
        return func(app.sign_in(), *args, **kwargs)

    return command


def invoke_root(ctx, invoke):
    """How the root group runs a command (`invoke`: click's own): tix's own errors and store
    failures become one line on stderr and an exit code; the command's transaction is
    committed on success and rolled back on any failure."""
    app = ctx.ensure_object(AppContext)
    try:
        result = invoke()
        app.end(commit=True)
        return result
    except (click.exceptions.Exit, SystemExit) as exc:
        if getattr(exc, "exit_code", getattr(exc, "code", 1)) in (0, None):
            app.end(commit=True)
        raise
    except click.ClickException as exc:
        usage_error(exc)
    except Exception as exc:
        error = as_tix_error(exc, app.url or "")
        if error is None:
            raise
        fail(str(error), error.exit_code)
    finally:
        app.end(commit=False)  # a failed command writes nothing
        app.close()


def fail(message: str, code: int, program: str = "tix"):
    click.echo(f"{program}: error: {one_line(message)}", err=True)
    sys.exit(code)


def usage_error(exc: click.ClickException):
    """click's own errors (unknown option, bad choice, missing argument) in tix's one-line form,
    with the exit code click gives them (2 for usage). `tix` or a group alone still shows help."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc
    message = " ".join(exc.format_message().split())
    command = getattr(getattr(exc, "ctx", None), "command_path", None)
    if isinstance(exc, click.UsageError) and command:
        message += f" (see `{command} --help`)"
    fail(message, exc.exit_code)


# -- input ------------------------------------------------------------------------------------

BODY_MAX_BYTES = 8 * 1024 * 1024


def read_body(message: str | None, *, required: bool = True) -> str | None:
    """The text of a message: -m, else stdin when it is not a terminal, else $EDITOR."""
    if message is not None:
        return message
    stdin = sys.stdin.buffer  # click.get_binary_stream is deprecated (gone in click 9)
    if not stdin.isatty():
        data = stdin.read(BODY_MAX_BYTES + 1)
        if len(data) > BODY_MAX_BYTES:
            raise InvalidInput("message body on stdin is too large")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("message body on stdin is not valid UTF-8") from None
        return text if (text.strip() or required) else None
    if not required:
        return None
    edited = click.edit("\n# Write your message above. Lines starting with # are ignored.\n")
    if edited is None:
        raise InvalidInput("no message written (editor closed without saving)")
    return "\n".join(line for line in edited.splitlines() if not line.startswith("#"))


def parse_since(ctx, param, value):
    """`--since`: a duration back from now (2d, 6h) or a date/time (local time unless given)."""
    if value is None:
        return None
    from tix.settings import parse_duration

    try:
        return clock.now() - parse_duration(value)
    except InvalidInput:
        pass
    except OverflowError:  # a duration reaching back before year 1
        raise click.BadParameter(f"{value!r} reaches back further than the calendar") from None

    from dateutil import parser

    try:
        moment = parser.parse(value)
        if moment.tzinfo is None:
            moment = moment.astimezone()
        # Converting to UTC can leave the calendar (0001-01-01 east of UTC): bad input too.
        return moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise click.BadParameter(f"{value!r} is neither a date nor a duration like 2d") from None


def read_attachments(paths) -> list:
    from tix.service import tickets

    return [tickets.read_attachment(path) for path in paths]


class FilePath(click.Path):
    """click.Path that refuses a NUL or an unencodable character in a file name as bad input
    (exit 2) instead of crashing in os.stat."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and "\x00" in value:
            self.fail("a file name cannot contain a NUL character", param, ctx)
        try:
            return super().convert(value, param, ctx)
        except UnicodeEncodeError:  # a lone surrogate no file system name can hold
            self.fail(f"{value!r} is not a file name this system can use", param, ctx)


def attach_option(func):
    return click.option(
        "--attach",
        "attach",
        multiple=True,
        type=FilePath(dir_okay=False),
        help="file to attach (repeatable; 10 MiB each by default)",
    )(func)


def code_argument(func):
    return click.argument("code")(func)


def ticket_filters(func):
    """The filters `tix list` and `tix search` share."""
    for option in reversed(
        [
            click.option("--status", multiple=True, help="only these statuses (repeatable)"),
            click.option("--department", "-d"),
            click.option("--priority", "-p"),
            click.option("--assignee", help="me, none, or an agent's email"),
            click.option("--account", help="a customer's HANDLE"),
            click.option(
                "--since",
                callback=parse_since,
                help="created since: a date, or a duration like 2d",
            ),
            click.option("--all", "include_closed", is_flag=True, help="include closed tickets"),
            click.option("--limit", type=int, help="at most this many"),
        ]
    ):
        func = option(func)
    return func
