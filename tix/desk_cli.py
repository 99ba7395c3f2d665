"""The agents' desk commands (issue 7), registered on the `tix` group of tix/cli.py:
next, template, merge, watch/unwatch, search, sla and stats.

Like tix/cli.py: read options, call one domain function, print. Heavy imports stay inside the
commands so `tix --help` stays fast.
"""

import click

from tix import output
from tix.cli import FilePath, cli, code_argument, parse_since, read_body, whoami
from tix.errors import InvalidInput, TixError


def _ticket_line(ticket, principal) -> dict:
    return output.ticket_dict(ticket, lang=principal.lang)


# -- tix next ---------------------------------------------------------------------------------


@cli.command(name="next")
@click.option("--department", "-d", help="only this one of your departments")
@output.format_option
@click.pass_context
def next_command(ctx, department, fmt):
    """Take the most urgent unassigned ticket in your departments (agents).

    Emergency first, then high, medium, low; within a priority the customer who has waited
    longest. The ticket is assigned to you at once: two agents never get the same one.
    Exit 3 when nothing is waiting.
    """
    from tix import tickets
    from tix.errors import NotFound

    principal = whoami(ctx)
    claimed = tickets.claim_next(principal, department=department)
    if claimed is None:
        raise NotFound("no unassigned ticket is waiting in your departments")
    ticket = tickets.get_ticket(principal, claimed.code)
    obj = _ticket_line(ticket, principal)
    output.emit_object(
        obj,
        fmt,
        lambda o: click.echo(
            f"claimed {o['code']}: {o['subject']} ({o['department']}, {o['priority']}, {o['status']}, "
            f"account {o['account']}, opened {o['created_at']})\nnext: `tix show {o['code']}`"
        ),
    )


# -- canned replies ---------------------------------------------------------------------------


@cli.group()
def template():
    """Canned replies, one per name and language (agents). Use with `tix reply CODE --template NAME`.

    Placeholders: {customer} (the contact's name), {account}, {code}, {domain}, {agent}.
    """


def _lang_option(func):
    return click.option(
        "--lang",
        type=click.Choice(["en", "es"]),
        default="en",
        show_default=True,
        help="the template's language",
    )(func)


@template.command(name="add")
@click.argument("name")
@_lang_option
@click.option("-m", "--message", help="the text (else stdin, else $EDITOR)")
@click.pass_context
def template_add(ctx, name, lang, message):
    """Add a template."""
    from tix import desk

    principal = whoami(ctx)
    row = desk.add_template(principal, name, lang, read_body(message))
    click.echo(f"template {row.name} ({row.lang}) added")


@template.command(name="edit")
@click.argument("name")
@_lang_option
@click.option("-m", "--message", help="the new text (else stdin, else $EDITOR on the current text)")
@click.pass_context
def template_edit(ctx, name, lang, message):
    """Change a template's text."""
    from tix import desk

    principal = whoami(ctx)
    current = desk.get_template(principal, name, lang)
    if message is None and click.get_binary_stream("stdin").isatty():
        message = click.edit(current.body)
        if message is None:
            raise InvalidInput("template not changed (editor closed without saving)")
    row = desk.edit_template(principal, name, lang, read_body(message))
    click.echo(f"template {row.name} ({row.lang}) updated")


@template.command(name="list")
@click.option("--lang", type=click.Choice(["en", "es"]), help="only this language")
@output.format_option
@click.pass_context
def template_list(ctx, lang, fmt):
    """List templates."""
    from tix import clock, desk

    rows = [
        {
            "name": t.name,
            "lang": t.lang,
            "updated_at": clock.iso(t.updated_at),
            "updated_by": t.updated_by,
            "body": t.body,
        }
        for t in desk.list_templates(whoami(ctx), lang)
    ]
    for row in rows if fmt == "table" else []:
        row["body"] = row["body"].splitlines()[0] if row["body"] else ""
    output.emit_rows(
        rows,
        ["name", "lang", "updated_at", "updated_by", "body"],
        fmt,
        headers=["name", "lang", "updated_at", "updated_by", "first line"],
    )


@template.command(name="show")
@click.argument("name")
@_lang_option
@output.format_option
@click.pass_context
def template_show(ctx, name, lang, fmt):
    """Print a template."""
    from tix import clock, desk

    row = desk.get_template(whoami(ctx), name, lang)
    obj = {
        "name": row.name,
        "lang": row.lang,
        "body": row.body,
        "updated_at": clock.iso(row.updated_at),
        "updated_by": row.updated_by,
    }
    output.emit_object(obj, fmt, lambda o: click.echo(o["body"]))


# -- merge and watchers -----------------------------------------------------------------------


@cli.command()
@code_argument
@click.argument("into_code")
@click.pass_context
def merge(ctx, code, into_code):
    """Merge ticket CODE into INTO_CODE (agents): one thread, CODE closed pointing to INTO_CODE,
    the customer told once. Both must belong to the same account."""
    from tix import tickets

    principal = whoami(ctx)
    source = tickets.get_ticket(principal, code)
    target = tickets.get_ticket(principal, into_code)
    target = tickets.merge(principal, source, target)
    click.echo(f"merged {source.code} into {target.code}; {source.code} is closed")


@cli.command()
@code_argument
@click.pass_context
def watch(ctx, code):
    """Follow a ticket of any department: you are emailed its replies (agents)."""
    from tix import desk, tickets

    principal = whoami(ctx)
    ticket = tickets.get_ticket(principal, code)
    desk.watch(principal, ticket)
    click.echo(f"watching {ticket.code}")


@cli.command()
@code_argument
@click.pass_context
def unwatch(ctx, code):
    """Stop following a ticket."""
    from tix import desk, tickets

    principal = whoami(ctx)
    ticket = tickets.get_ticket(principal, code)
    desk.unwatch(principal, ticket)
    click.echo(f"no longer watching {ticket.code}")


# -- search -----------------------------------------------------------------------------------


@cli.command()
@click.argument("text")
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
def search(
    ctx, text, status, department, priority, assignee, account, since, include_closed, limit, fmt
):
    """Find tickets whose subject or one message holds every word of TEXT.

    Same filters, order and formats as `tix list`; customers see only their tickets and never
    match on internal notes.
    """
    from tix import desk, tickets

    principal = whoami(ctx)
    condition = desk.search_condition(principal, text)
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
            matching=condition,
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
    output.emit_rows(rows, columns, fmt)


# -- SLA and stats ----------------------------------------------------------------------------


@cli.command()
@output.format_option
@click.pass_context
def sla(ctx, fmt):
    """Show the SLA targets in force per department and priority, and the business hours."""
    from tix import sla as targets_module
    from tix.models import Department
    from tix.stats import human_duration

    principal = whoami(ctx)
    principal.require_agent("read the SLA targets")
    targets = targets_module.load()
    slugs = [d.slug for d in Department.select(Department.slug).order_by(Department.id)]
    targets_module.check_departments(targets, set(slugs))
    rows = targets_module.table(targets, slugs)
    if fmt == "table":
        click.echo(f"business hours: {targets.calendar.describe()}")
        rows = [dict(r, **{k: human_duration(r[k]) for k in targets_module.KINDS}) for r in rows]
    output.emit_rows(rows, ["department", "priority", *targets_module.KINDS], fmt)


@cli.command()
@click.option(
    "--since",
    callback=parse_since,
    default="30d",
    show_default=True,
    help="from: a date, or a duration back from now like 7d",
)
@click.option("--department", "-d", help="only this department")
@click.option("--priority", "-p", help="only this priority")
@click.option(
    "--by",
    type=click.Choice(["hour", "department"]),
    default="hour",
    show_default=True,
    help="the chart: first response by hour of day the ticket was opened, or by department",
)
@click.option(
    "--plot",
    "plot_path",
    type=FilePath(dir_okay=False, writable=True),
    help="also write the chart as a PNG (needs matplotlib: pip install 'tix[plot]')",
)
@output.format_option
@click.pass_context
def stats(ctx, since, department, priority, by, plot_path, fmt):
    """How fast we answer: tickets opened and closed, first-response mean/median/p90 against the
    target, time to close, auto-closed share, reopen rate; computed from the event log (agents)."""
    import json
    import sys

    from tix import stats as figures

    if plot_path and not figures.matplotlib_available():
        raise TixError("--plot needs matplotlib, an optional extra: pip install 'tix[plot]'")
    principal = whoami(ctx)
    principal.require_agent("read the desk's statistics")
    result = figures.compute(since=since, department=department, priority=priority, by=by)
    if plot_path:
        try:
            figures.plot(result, plot_path)
        except OSError as exc:
            raise TixError(f"cannot write {plot_path}: {exc.strerror}") from None
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        row = figures.flat(result)
        output.emit_rows([row], list(row), "csv")
    else:
        encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
        bar = "█" if "utf" in encoding else "#"
        click.echo("\n".join(figures.report_lines(result, bar=bar)))
    if plot_path:
        click.echo(f"chart written to {plot_path}", err=fmt != "table")
