"""The `tix` command: reads options, calls one domain function, hands the result to a formatter.

No SQL and no business rule here; see tix/tickets.py (the lifecycle) and tix/admin.py.
"""

import sys
from datetime import UTC

import click

from tix import __version__, clock, output
from tix.errors import InvalidInput, StoreError, TixError, one_line

# Exit codes, documented in README.md.
EXIT_OK, EXIT_OTHER, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_NOT_ALLOWED = 0, 1, 2, 3, 4


class TixGroup(click.Group):
    """Turns tix's own errors and store failures into one line on stderr and an exit code."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:  # `tix --db` without its URL, and the like
            usage_error(exc)

    def invoke(self, ctx):
        try:
            result = super().invoke(ctx)
            end_command_transaction(ctx, commit=True)
            return result
        except (click.exceptions.Exit, SystemExit) as exc:
            if getattr(exc, "exit_code", getattr(exc, "code", 1)) in (0, None):
                end_command_transaction(ctx, commit=True)
            raise
        except click.ClickException as exc:
            usage_error(exc)
        except TixError as exc:
            fail(str(exc), exc.exit_code)
        except UnicodeError:  # before ValueError, its base class
            # Undecodable bytes on stdin, or in argv (Python keeps those as surrogates that
            # no database accepts); the store rolled back whatever the command had begun.
            fail("input is not valid UTF-8", EXIT_INVALID)
        except ValueError as exc:
            # psycopg2 refuses NUL in a query parameter (SQLite takes it): bad input, not a crash.
            if "NUL (0x00)" not in str(exc):
                raise
            fail("input contains a NUL character", EXIT_INVALID)
        except Exception as exc:
            store_error = as_store_error(exc, ctx)
            if store_error is None:
                raise
            fail(str(store_error), store_error.exit_code)
        finally:
            end_command_transaction(ctx, commit=False)  # a failed command writes nothing
            close_store(ctx)


def fail(message: str, code: int):
    click.echo(f"tix: error: {one_line(message)}", err=True)
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


def as_store_error(exc: Exception, ctx) -> StoreError | None:
    import peewee

    if not isinstance(exc, peewee.DatabaseError | peewee.InterfaceError):
        return None
    from tix.store import hide_secrets, mask_url

    url = (ctx.obj or {}).get("url", "")
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if line == "database is locked":
        from tix.store import busy_timeout_ms

        return StoreError(
            f"store {mask_url(url)} is locked by another process (waited "
            f"{busy_timeout_ms() / 1000:g}s, TIX_BUSY_TIMEOUT): nothing was "
            "changed; try again"
        )
    return StoreError(f"store {mask_url(url)} failed: {hide_secrets(line, url)}")


class _Rollback(Exception):
    pass


def begin_command_transaction(ctx) -> None:
    """Run the rest of a signed-in command in one transaction (PostgreSQL; see
    tix.store.command_transaction), ended by TixGroup.invoke: committed on success."""
    from tix import store

    root = ctx.find_root()
    if root.obj.get("command_txn") is None:
        txn = store.command_transaction(root.obj["db"])
        txn.__enter__()
        root.obj["command_txn"] = txn


def end_command_transaction(ctx, *, commit: bool) -> None:
    from tix import store

    txn = (ctx.obj or {}).pop("command_txn", None)
    if txn is not None:
        if commit:
            txn.__exit__(None, None, None)
        else:
            try:
                txn.__exit__(_Rollback, _Rollback(), None)
            except Exception:  # the connection is gone: nothing was committed anyway
                pass
    store.set_identity(None)  # the next command (same process in tests) starts as nobody


def close_store(ctx) -> None:
    db = (ctx.obj or {}).get("db")
    if db is not None and not db.is_closed():
        db.close()


# -- shared plumbing --------------------------------------------------------------------------


def store_url(ctx) -> str:
    from tix.paths import resolve_url

    root = ctx.find_root()
    root.obj = root.obj or {}
    root.obj.setdefault("url", resolve_url(root.obj.get("db_option")))
    return root.obj["url"]


def open_store(ctx, *, require_schema: bool = True):
    from tix import migrations, store

    root = ctx.find_root()
    if root.obj.get("db") is None:
        url = store_url(ctx)
        root.obj["db"] = store.connect(url)
        if require_schema and not migrations.is_current(root.obj["db"]):
            raise StoreError(
                f"store {store.mask_url(url)} is not set up or not up to date: "
                "run `tix init` (new store) or `tix db upgrade`"
            )
    return root.obj["db"]


def whoami(ctx):
    from tix import auth

    open_store(ctx)
    root = ctx.find_root()
    if root.obj.get("principal") is None:
        begin_command_transaction(ctx)
        root.obj["principal"] = auth.current_principal(store_url(ctx))
    return root.obj["principal"]


def read_body(message: str | None, *, required: bool = True) -> str | None:
    """The text of a message: -m, else stdin when it is not a terminal, else $EDITOR."""
    if message is not None:
        return message
    stdin = sys.stdin.buffer  # click.get_binary_stream is deprecated (gone in click 9)
    if not stdin.isatty():
        data = stdin.read(8 * 1024 * 1024 + 1)
        if len(data) > 8 * 1024 * 1024:
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


def read_attachments(paths):
    from tix import settings, tickets

    conf = settings.load()
    return [tickets.read_attachment(path, conf) for path in paths]


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


def show_one(ticket, principal, fmt, *, history=False):
    from tix import tickets

    obj = output.ticket_dict(ticket, lang=principal.lang)
    obj["contact"] = ticket.contact.email
    obj["service"] = ticket.service.name if ticket.service_id else None
    obj["messages"] = [output.message_dict(m) for m in tickets.thread(principal, ticket)]
    attachments = [output.attachment_dict(a) for a in tickets.attachments_of(principal, ticket)]
    obj["attachments"] = attachments
    if history:
        obj["events"] = [output.event_dict(e) for e in tickets.history(principal, ticket)]
    output.emit_object(obj, fmt, lambda o: output.show_ticket(o, attachments=attachments))


# -- the commands -----------------------------------------------------------------------------


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
    ctx.obj = {"db_option": db_option}


@cli.command()
@click.option("--admin-email", default="admin@localhost", show_default=True)
@click.option("--admin-name", default="Administrator", show_default=True)
@click.option("--quiet", is_flag=True, help="print the token alone")
@click.pass_context
def init(ctx, admin_email, admin_name, quiet):
    """Create the store and its first admin; prints the admin's token once and saves it."""
    from tix import admin, auth

    db = open_store(ctx, require_schema=False)
    agent, token = admin.init(db, admin_email, admin_name)
    where = auth.save_token(store_url(ctx), token)
    if quiet:
        click.echo(token)
        return
    from tix.store import mask_url

    click.echo(f"store ready: {mask_url(store_url(ctx))}")
    click.echo(f"admin {agent.email} created; token (shown once, saved in {where}):")
    click.echo(token)


@cli.command()
@click.option("--token", "token_option", help="the token (else read from stdin or a prompt)")
@click.pass_context
def login(ctx, token_option):
    """Save your token for this store in the OS keyring."""
    from tix import auth

    open_store(ctx)
    token = token_option
    if token is None:
        stdin = sys.stdin
        token = click.prompt("token", hide_input=True) if stdin.isatty() else stdin.readline()
    begin_command_transaction(ctx)
    principal = auth.principal_for_token(token)
    where = auth.save_token(store_url(ctx), token.strip())
    click.echo(f"logged in as {principal.email} ({principal.role}); token saved in {where}")


@cli.command()
@click.pass_context
def logout(ctx):
    """Forget the saved token for this store."""
    from tix import auth

    auth.forget_token(store_url(ctx))
    click.echo("logged out")


@cli.command(name="whoami")
@output.format_option
@click.pass_context
def whoami_command(ctx, fmt):
    """Say who you are acting as."""
    principal = whoami(ctx)
    obj = {
        "email": principal.email,
        "name": principal.name,
        "role": principal.role,
        "account": principal.contact.account.handle if principal.contact else None,
    }
    output.emit_object(
        obj,
        fmt,
        lambda o: click.echo(
            f"{o['name']} <{o['email']}>, {o['role']}"
            + (f" of account {o['account']}" if o["account"] else "")
        ),
    )


@cli.group()
def db():
    """The store: where it is and its schema migrations."""


@db.command(name="path")
@click.pass_context
def db_path(ctx):
    """Print the store's URL (password hidden)."""
    from tix.store import mask_url

    click.echo(mask_url(store_url(ctx)))


@db.command(name="upgrade")
@click.pass_context
def db_upgrade(ctx):
    """Apply pending migrations."""
    from tix import migrations

    applied = migrations.upgrade(open_store(ctx, require_schema=False))
    click.echo("\n".join(f"applied {name}" for name in applied) or "already up to date")


@db.command(name="status")
@output.format_option
@click.pass_context
def db_status(ctx, fmt):
    """List migrations and when each was applied."""
    from tix import migrations

    rows = [
        {
            "version": r["version"],
            "name": r["name"],
            "applied_at": clock.iso(r["applied_at"]) if r["applied_at"] else "pending",
        }
        for r in migrations.migration_status(open_store(ctx, require_schema=False))
    ]
    output.emit_rows(rows, ["version", "name", "applied_at"], fmt)


@cli.command()
@click.option(
    "--department",
    "-d",
    required=True,
    help="hosting, email, domains, billing, sales, administration",
)
@click.option(
    "--priority",
    "-p",
    default="medium",
    show_default=True,
    type=click.Choice(["low", "medium", "high", "emergency"]),
)
@click.option("--subject", "-s", required=True)
@click.option("-m", "--message", help="the body (else stdin, else $EDITOR)")
@click.option("--service", help="the hosting account or domain this is about")
@click.option("--account", help="the customer's HANDLE (agents and resellers)")
@attach_option
@click.option("--quiet", "-q", is_flag=True, help="print the new code alone")
@click.option(
    "--yes",
    "-y",
    is_flag=True,
    help="file without asking about the ticket assistant's findings (they go to stderr)",
)
@click.option(
    "--ask",
    is_flag=True,
    help="ask about the findings even when stdin is not a terminal (needs -m)",
)
@output.format_option
@click.pass_context
def create(
    ctx, department, priority, subject, message, service, account, attach, quiet, yes, ask, fmt
):
    """Open a ticket. The ticket assistant checks it first (which domain? which address? the
    exact error?); on a terminal it shows what it found and asks: go on, edit, or cancel."""
    from tix import tickets

    principal = whoami(ctx)
    files = read_attachments(attach)
    stdin_is_terminal = sys.stdin.isatty()
    if yes and ask:
        raise InvalidInput("--yes and --ask contradict each other: give one")
    if ask and message is None and not stdin_is_terminal:
        raise InvalidInput("--ask reads your answers from stdin: give the body with -m")
    body = read_body(message)
    # Input that will be refused is refused before the assistant spends its time on it.
    from tix import settings

    tickets.clean_subject(subject), tickets.clean_body(body, settings.load())
    tickets.check_priority(priority)
    interactive = ask or (stdin_is_terminal and not yes)
    review, body = review_before_filing(
        ctx,
        principal,
        interactive,
        department=department,
        priority=priority,
        subject=subject,
        body=body,
        service=service,
        account=account,
    )
    ticket = tickets.create(
        principal,
        department=department,
        priority=priority,
        subject=subject,
        body=body,
        account=account,
        service=service,
        attachments=files,
        assistant_note=review.note(),
    )
    if review.findings and not interactive:
        click.echo("\n".join([review.heading(), *review.lines()]), err=True)
    if quiet:
        click.echo(ticket.code)
        return
    ticket = tickets.get_ticket(principal, ticket.code)
    obj = dict(
        output.ticket_dict(ticket, lang=principal.lang),
        findings=[finding.text for finding in review.findings],
    )
    output.emit_object(
        obj,
        fmt,
        lambda o: click.echo(
            f"created {o['code']}: {o['subject']} ({o['department_name']}, {o['priority']})"
        ),
    )


ASSISTANT_PROMPT = {
    "en": "Go on, edit the message, or cancel? (g/e/c)",
    "es": "¿Seguir, editar el mensaje o cancelar? (s/e/c)",
}
ASSISTANT_ANSWERS = {
    "g": "go",
    "go": "go",
    "s": "go",
    "seguir": "go",
    "y": "go",
    "yes": "go",
    "e": "edit",
    "edit": "edit",
    "editar": "edit",
    "c": "cancel",
    "cancel": "cancel",
    "cancelar": "cancel",
    "n": "cancel",
    "no": "cancel",
}
CANCELLED = {"en": "cancelled: no ticket filed", "es": "cancelado: no se ha registrado el ticket"}


def _assistant_answer(text: str) -> str:
    answer = ASSISTANT_ANSWERS.get(text.strip().lower())
    if answer is None:
        raise click.BadParameter("answer g (go on), e (edit) or c (cancel)")
    return answer


def review_before_filing(ctx, principal, interactive: bool, *, body: str, **draft):
    """Run the ticket assistant's checks; on a terminal, show the findings and let the user go
    on, edit the body (then check again) or cancel. Returns (review, body)."""
    from tix import checks

    lang = "es" if principal.lang == "es" else "en"
    while True:
        review = checks.review(principal, body=body, **draft)
        if not review.findings or not interactive:
            break
        click.echo("\n".join([review.heading(), *review.lines()]))
        answer = click.prompt(
            ASSISTANT_PROMPT[lang],
            default="s" if lang == "es" else "g",
            value_proc=_assistant_answer,
        )
        if answer == "go":
            break
        if answer == "cancel":
            click.echo(CANCELLED[lang], err=True)
            ctx.exit(EXIT_OTHER)
        edited = click.edit(body)
        if edited is not None and edited.strip():
            body = edited
    for problem in review.problems:
        click.echo(f"tix: warning: {problem}", err=True)
    return review, body


@cli.command(name="list")
@click.option("--status", multiple=True, help="only these statuses (repeatable)")
@click.option("--department", "-d")
@click.option("--priority", "-p")
@click.option("--assignee", help="me, none, or an agent's email")
@click.option("--account", help="a customer's HANDLE")
@click.option("--since", callback=parse_since, help="created since: a date, or a duration like 2d")
@click.option("--all", "include_closed", is_flag=True, help="include closed tickets")
@click.option("--limit", type=int, help="at most this many")
@output.format_option
@click.pass_context
def list_command(
    ctx, status, department, priority, assignee, account, since, include_closed, limit, fmt
):
    """List tickets: the queue (agents, by priority then age) or your history (newest first)."""
    from tix import tickets

    principal = whoami(ctx)
    rows = [
        output.ticket_dict(t, lang=principal.lang)
        for t in tickets.list_tickets(
            principal,
            statuses=list(status),
            department=department,
            priority=priority,
            assignee=assignee,
            account=account,
            since=since,
            include_closed=include_closed,
            limit=limit,
        )
    ]
    columns = [
        "code",
        "priority",
        "status",
        "department",
        "account",
        "assignee",
        "created_at",
        "subject",
    ]
    output.emit_rows(rows, columns, fmt, fields=output.TICKET_FIELDS)


@cli.command()
@code_argument
@click.option("--history", is_flag=True, help="add the event log")
@output.format_option
@click.pass_context
def show(ctx, code, history, fmt):
    """Show a ticket and its whole thread."""
    from tix import tickets

    principal = whoami(ctx)
    show_one(tickets.get_ticket(principal, code), principal, fmt, history=history)


@cli.command()
@code_argument
@click.option("-m", "--message", help="the reply (else stdin, else $EDITOR)")
@click.option(
    "--internal", is_flag=True, help="an internal note: agents only, never sent to the customer"
)
@click.option(
    "--template",
    "template_name",
    metavar="NAME",
    help="a canned reply (`tix template list`), in the customer's language",
)
@attach_option
@click.pass_context
def reply(ctx, code, message, internal, template_name, attach):
    """Reply to a ticket (or add an internal note)."""
    from tix import tickets

    principal = whoami(ctx)
    ticket = tickets.get_ticket(principal, code)
    if internal:
        # Refuse before asking for a body: a customer should not type a note that is then rejected.
        principal.require_agent("write internal notes")
    files = read_attachments(attach)
    if template_name is not None:
        from tix import desk

        if message is not None:
            raise InvalidInput("give either -m or --template, not both")
        body = desk.template_reply(principal, ticket, template_name)
    else:
        body = read_body(message)
    tickets.reply(principal, ticket, body, internal=internal, attachments=files)
    ticket = tickets.merged_target(tickets.get_ticket(principal, code))
    click.echo(f"{'noted' if internal else 'replied'} on {ticket.code}; status {ticket.status}")


@cli.command()
@code_argument
@click.option("--department", "-d", help="move to this department")
@click.option("--agent", help="assign to this agent's email, or `none`")
@click.option("--priority", "-p", help="low, medium, high or emergency")
@click.pass_context
def reassign(ctx, code, department, agent, priority):
    """Move a ticket to another department or technician, or change its priority (agents)."""
    from tix import tickets

    principal = whoami(ctx)
    ticket = tickets.get_ticket(principal, code)
    agent_value = (
        tickets.UNCHANGED if agent is None else (None if agent.lower() == "none" else agent)
    )
    ticket = tickets.reassign(
        principal, ticket, department=department, agent_email=agent_value, priority=priority
    )
    ticket = tickets.get_ticket(principal, code)
    click.echo(
        f"{ticket.code}: {ticket.department.slug}, {ticket.priority}, "
        f"assignee {ticket.assignee.email if ticket.assignee_id else 'none'}"
    )


@cli.command()
@code_argument
@click.argument("status")
@click.pass_context
def status(ctx, code, status):
    """Set a ticket in-progress or on-hold (agents)."""
    from tix import tickets

    principal = whoami(ctx)
    ticket = tickets.set_status(principal, tickets.get_ticket(principal, code), status)
    click.echo(f"{ticket.code} is now {ticket.status}")


@cli.command()
@code_argument
@click.pass_context
def close(ctx, code):
    """Close a ticket (it can be reopened later)."""
    from tix import tickets

    principal = whoami(ctx)
    ticket = tickets.close(principal, tickets.get_ticket(principal, code))
    click.echo(f"closed {ticket.code}")


@cli.command()
@code_argument
@click.option("-m", "--message", help="say why (optional)")
@click.pass_context
def reopen(ctx, code, message):
    """Reopen a closed ticket."""
    from tix import tickets

    principal = whoami(ctx)
    ticket = tickets.get_ticket(principal, code)
    ticket = tickets.reopen(principal, ticket, read_body(message, required=False))
    click.echo(f"reopened {ticket.code}")


@cli.group()
def attachment():
    """Files attached to tickets."""


@attachment.command(name="get")
@code_argument
@click.argument("attachment_id", type=int)
@click.option(
    "-o",
    "--output",
    "target",
    type=FilePath(dir_okay=False, writable=True),
    help="write here (default: the attachment's name in the current folder; - for stdout)",
)
@click.pass_context
def attachment_get(ctx, code, attachment_id, target):
    """Save an attachment (its id is listed by `tix show`)."""
    from pathlib import Path

    from tix import tickets

    principal = whoami(ctx)
    item = tickets.get_attachment(principal, tickets.get_ticket(principal, code), attachment_id)
    data = bytes(item.data)
    if target == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(target or Path(item.filename).name)
    if target is None and path.exists():
        raise InvalidInput(f"{path} exists: choose another name with -o")
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise TixError(f"cannot write {path}: {exc.strerror}") from None
    click.echo(f"saved {path} ({len(data)} bytes)")


# -- admin ------------------------------------------------------------------------------------


@cli.group()
def admin():
    """Set up the desk (admins only)."""


@admin.group(name="department")
def admin_department():
    """Departments."""


@admin_department.command(name="add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--name-es", help="the Spanish name (default: --name)")
@click.option("--email", help="the department's address for incoming mail")
@click.pass_context
def department_add(ctx, slug, name, name_es, email):
    """Add a department."""
    from tix import admin as setup

    dept = setup.add_department(whoami(ctx), slug, name, name_es, email)
    click.echo(f"department {dept.slug} added")


@admin_department.command(name="email")
@click.argument("slug")
@click.argument("address")
@click.pass_context
def department_email(ctx, slug, address):
    """Set the address whose mail opens tickets in this department (`none` to clear it)."""
    from tix import admin as setup

    dept = setup.set_department_email(
        whoami(ctx), slug, None if address.lower() == "none" else address
    )
    click.echo(f"department {dept.slug}: {dept.email or 'no address'}")


@admin_department.command(name="list")
@output.format_option
@click.pass_context
def department_list(ctx, fmt):
    """List departments."""
    from tix import admin as setup

    rows = [
        {"slug": d.slug, "name": d.name_en, "name_es": d.name_es, "email": d.email}
        for d in setup.list_departments(whoami(ctx))
    ]
    output.emit_rows(rows, ["slug", "name", "name_es", "email"], fmt)


@admin.group(name="agent")
def admin_agent():
    """Agents."""


@admin_agent.command(name="add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--department", "departments", multiple=True, required=True, help="repeatable")
@click.option("--admin", "is_admin", is_flag=True)
@click.option("--lang", type=click.Choice(["es", "en"]), default="en", show_default=True)
@click.pass_context
def agent_add(ctx, email, name, departments, is_admin, lang):
    """Add an agent."""
    from tix import admin as setup

    agent = setup.add_agent(whoami(ctx), email, name, list(departments), is_admin, lang)
    click.echo(f"agent {agent.email} added")


@admin.group(name="account")
def admin_account():
    """Customer and reseller accounts."""


@admin_account.command(name="add")
@click.argument("handle")
@click.option("--name", required=True)
@click.option("--owner-email", required=True)
@click.option("--owner-name")
@click.option("--reseller", "reseller", help="HANDLE of the reseller this customer belongs to")
@click.option("--is-reseller", is_flag=True, help="this account is itself a reseller")
@click.option("--lang", type=click.Choice(["es", "en"]), default="en", show_default=True)
@click.pass_context
def account_add(ctx, handle, name, owner_email, owner_name, reseller, is_reseller, lang):
    """Add an account with its owner contact."""
    from tix import admin as setup

    account = setup.add_account(
        whoami(ctx), handle, name, owner_email, owner_name, reseller, lang, is_reseller=is_reseller
    )
    click.echo(f"account {account.handle} added")


@admin.group(name="contact")
def admin_contact():
    """An account's contacts."""


@admin_contact.command(name="add")
@click.argument("handle")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--ticket-emails/--no-ticket-emails", default=True, show_default=True)
@click.option("--login", "can_login", is_flag=True, help="may log in to tix")
@click.option("--lang", type=click.Choice(["es", "en"]), help="default: the account's")
@click.pass_context
def contact_add(ctx, handle, email, name, ticket_emails, can_login, lang):
    """Add a sub-account contact."""
    from tix import admin as setup

    contact = setup.add_contact(whoami(ctx), handle, email, name, ticket_emails, can_login, lang)
    click.echo(f"contact {contact.email} added to {handle}")


@admin.group(name="service")
def admin_service():
    """An account's services."""


@admin_service.command(name="add")
@click.argument("handle")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["hosting", "domain", "email"]),
    default="hosting",
    show_default=True,
)
@click.pass_context
def service_add(ctx, handle, name, kind):
    """Add a hosting account, domain or mail service to an account."""
    from tix import admin as setup

    service = setup.add_service(whoami(ctx), handle, name, kind)
    click.echo(f"service {service.name} added to {handle}")


@admin.group(name="token")
def admin_token():
    """Login tokens."""


@admin_token.command(name="issue")
@click.argument("email")
@click.option("--quiet", is_flag=True, help="print the token alone")
@click.pass_context
def token_issue(ctx, email, quiet):
    """Issue a token (printed once, stored only as a hash)."""
    from tix import admin as setup

    token = setup.issue_token(whoami(ctx), email)
    click.echo(token if quiet else f"token for {email} (shown once):\n{token}")


@admin_token.command(name="revoke")
@click.argument("email")
@click.pass_context
def token_revoke(ctx, email):
    """Revoke every token of a person."""
    from tix import admin as setup

    count = setup.revoke_token(whoami(ctx), email)
    click.echo(f"revoked {count} token(s) of {email}")


@cli.command()
@click.option(
    "--keep", type=FilePath(file_okay=False), help="build the demo store in this folder and keep it"
)
def demo(keep):
    """Walk one ticket through its life on a throwaway SQLite store, printing each step."""
    from tix.demo import run

    sys.exit(run(keep))


def main():
    """Console entry point: nothing unexpected reaches the user as a traceback."""
    import os

    try:
        cli(standalone_mode=True)
    except Exception as exc:  # a bug: say so in one line; TIX_DEBUG=1 shows the traceback
        if os.environ.get("TIX_DEBUG"):
            raise
        click.echo(f"tix: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_OTHER)


# The agents' desk (issue 7): its commands register themselves on `cli`.
from tix import desk_cli  # noqa: E402,F401
