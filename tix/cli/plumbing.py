"""What every `tix` command shares: the typed context, the command's transaction, turning
errors into one line and an exit code, and the options and arguments several commands take."""

import functools
import sys
from dataclasses import dataclass, field

import click

from tix import clock, output
from tix.errors import InvalidInput, NotAllowed, NotLoggedIn, StoreError, one_line, trim_echoes
from tix.failures import as_tix_error

# Exit codes, documented in README.md and docs/cli.md.
EXIT_OK, EXIT_OTHER, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_NOT_ALLOWED = 0, 1, 2, 3, 4


@dataclass
class AppContext:
    """What one `tix` invocation knows: the store (or server) it talks to and who is acting.
    Opening the store, beginning the command's transaction and signing in happen in `sign_in`,
    which `@signed_in` commands call before their body runs; nothing else opens either."""

    db_option: str | None = None
    url: str | None = None
    db: object = None
    desk: object = None  # LocalDesk or RemoteDesk, once signed in
    _txn: object = field(default=None, repr=False)

    def store_url(self) -> str:
        from tix.paths import resolve_url

        if self.url is None:
            self.url = resolve_url(self.db_option)
        return self.url

    @property
    def remote(self) -> bool:
        """The URL names a `tix serve` server rather than a store."""
        return self.store_url().startswith(("http://", "https://"))

    def open_store(self, *, require_schema: bool = True):
        """`require_schema=False` (init, db): the store may be new, and a SQLite file is
        created if missing; every other command needs an existing, migrated store."""
        from tix import migrations, store

        if self.remote:
            raise NotAllowed(
                "this command works on the store itself, not through a server: "
                "run it on the server's host with the store's URL"
            )
        if self.db is None:
            url = self.store_url()
            self.db = store.connect(url, create=not require_schema)
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
        """The desk as the person whose token is saved for this URL (or TIX_TOKEN): the
        service layer here, or the server's API when the URL is http(s)."""
        if self.desk is None:
            if self.remote:
                from tix import credentials

                self.desk = self.desk_for(credentials.load_token(self.store_url()) or None)
            else:
                from tix.service import session
                from tix.service.local import LocalDesk

                self.begin()
                self.desk = LocalDesk(session.current(self.store_url()))
            # tix.output speaks the person's language from now on (asked only when needed:
            # a remote desk learns it from the server).
            desk = self.desk
            click.get_current_context().meta["tix.user_lang"] = lambda: desk.lang
        return self.desk

    def desk_for(self, token: str | None):
        """The desk as the holder of `token` (`tix login` checks one before saving it)."""
        if token is None:
            raise NotLoggedIn.said("not-logged-in")
        if self.remote:
            from tix.remote import RemoteDesk

            return RemoteDesk(self.store_url(), token)
        from tix.service import session
        from tix.service.local import LocalDesk

        self.begin()
        return LocalDesk(session.sign_in(token))

    def language(self) -> str:
        """The language to tell this user something in (an error, too: never asks a server)."""
        from tix import language

        principal = getattr(self.desk, "principal", None)  # a LocalDesk's
        whoami = getattr(self.desk, "_whoami", None) or {}  # what a RemoteDesk has learnt
        return language.choose(principal.lang if principal else whoami.get("lang"))

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
        self.db = None


class _Rollback(Exception):
    pass


pass_app = click.make_pass_decorator(AppContext)


def signed_in(func):
    """The command acts as someone: its first argument is the desk as that person, local or
    through a server (see AppContext.sign_in); it has every service function as a method."""

    @functools.wraps(func)
    def command(*args, **kwargs):
        app = click.get_current_context().find_object(AppContext)
        return func(app.sign_in(), *args, **kwargs)

    return command


def invoke_root(ctx, invoke):
    """How the root group (tix.cli.app.TixRoot) runs a command (`invoke`: click's own): tix's
    own errors and store failures become one line on stderr and an exit code; the command's
    transaction is committed on success and rolled back on any failure."""
    record_typed(ctx.meta.get("tix.typed", []))
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
        fail(error.in_language(app.language()), error.exit_code)
    finally:
        app.end(commit=False)  # a failed command writes nothing
        app.close()


def record_typed(words: list[str]) -> None:
    """The words of this command line, which errors may echo (trimmed: errors.trim_echoes)."""
    _typed[:] = words


_typed: list[str] = []  # the words of this command line


def fail(message: str, code: int, program: str = "tix"):
    """One line: at most ~100 characters of anything typed are echoed (errors.trim_echoes)."""
    click.echo(f"{program}: error: {one_line(trim_echoes(message, _typed))}", err=True)
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
    return None if value is None else clock.since(value)


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
    from tix.cli.completion import complete_codes

    return click.argument("code", shell_complete=complete_codes)(func)


def ticket_filters(func):
    """The filters `tix list` and `tix search` share."""
    from tix.cli.completion import complete_departments, complete_statuses

    for option in reversed(
        [
            click.option(
                "--status",
                multiple=True,
                shell_complete=complete_statuses,
                help="only these statuses (repeatable)",
            ),
            click.option("--department", "-d", shell_complete=complete_departments),
            click.option("--priority", "-p"),
            click.option("--assignee", help="me, none, or an agent's email"),
            click.option("--account", help="a customer's HANDLE"),
            click.option(
                "--since",
                callback=parse_since,
                help="created since: a date, or a duration like 2d",
            ),
            click.option("--all", "include_closed", is_flag=True, help="include closed tickets"),
            click.option(
                "--limit",
                type=output.LIMIT,
                default=30,
                show_default=True,
                help="at most this many (0: all; a line on stderr says when there are more)",
            ),
        ]
    ):
        func = option(func)
    return func
