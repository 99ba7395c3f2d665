"""The agents' desk commands: next, template, merge, watch/unwatch, search, sla and stats.
Like every command: read options, call one service function, print."""

import click

from tix import output
from tix.cli.completion import complete_departments
from tix.cli.plumbing import (
    FilePath,
    code_argument,
    parse_since,
    read_body,
    signed_in,
    ticket_filters,
)
from tix.errors import InvalidInput, TixError
from tix.service import shapes


@click.command(name="next")
@click.option(
    "--department",
    "-d",
    shell_complete=complete_departments,
    help="only this one of your departments",
)
@output.format_option(fields=shapes.TICKET)
@signed_in
def next_command(desk, department, fmt):
    """Take the most urgent unassigned ticket in your departments (agents).

    Emergency first, then high, medium, low; within a priority the customer who has waited
    longest. The ticket is assigned to you at once: two agents never get the same one.
    Exit 3 when nothing is waiting.
    """
    output.emit_object(
        desk.next_ticket(department=department),
        fmt,
        lambda o: click.echo(
            f"claimed {o['code']}: {o['subject']} ({o['department']}, {o['priority']}, {o['status']}, "
            f"account {o['account']}, opened {o['created_at']})\nnext: `tix show {o['code']}`"
        ),
    )


@click.group()
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
@signed_in
def template_add(desk, name, lang, message):
    """Add a template."""
    row = desk.add_template(name, lang, read_body(message))
    click.echo(f"template {row['name']} ({row['lang']}) added")


@template.command(name="edit")
@click.argument("name")
@_lang_option
@click.option("-m", "--message", help="the new text (else stdin, else $EDITOR on the current text)")
@signed_in
def template_edit(desk, name, lang, message):
    """Change a template's text."""
    current = desk.template(name, lang)
    if message is None and click.get_binary_stream("stdin").isatty():
        message = click.edit(current["body"])
        if message is None:
            raise InvalidInput("template not changed (editor closed without saving)")
    row = desk.edit_template(name, lang, read_body(message))
    click.echo(f"template {row['name']} ({row['lang']}) updated")


@template.command(name="list")
@click.option("--lang", type=click.Choice(["en", "es"]), help="only this language")
@output.format_option(fields=shapes.TEMPLATE)
@signed_in
def template_list(desk, lang, fmt):
    """List templates."""
    rows = desk.templates(lang)
    if fmt == "table":
        rows = [dict(r, body=r["body"].splitlines()[0] if r["body"] else "") for r in rows]
    output.emit_rows(
        rows,
        list(shapes.TEMPLATE),
        fmt,
        fields=shapes.TEMPLATE,
        headers=["name", "lang", "updated_at", "updated_by", "first line"],
    )


@template.command(name="show")
@click.argument("name")
@_lang_option
@output.format_option(fields=shapes.TEMPLATE)
@signed_in
def template_show(desk, name, lang, fmt):
    """Print a template."""
    output.emit_object(desk.template(name, lang), fmt, lambda o: click.echo(o["body"]))


@click.command()
@code_argument
@click.argument("into_code")
@signed_in
def merge(desk, code, into_code):
    """Merge ticket CODE into INTO_CODE (agents): one thread, CODE closed pointing to INTO_CODE,
    the customer told once. Both must belong to the same account."""
    done = desk.merge(code, into_code)
    click.echo(f"merged {done['code']} into {done['into']}; {done['code']} is closed")


@click.command()
@code_argument
@signed_in
def watch(desk, code):
    """Follow a ticket of any department: you are emailed its replies (agents)."""
    click.echo(f"watching {desk.watch(code)['code']}")


@click.command()
@code_argument
@signed_in
def unwatch(desk, code):
    """Stop following a ticket."""
    click.echo(f"no longer watching {desk.unwatch(code)['code']}")


@click.command()
@click.argument("text")
@ticket_filters
@output.format_option(fields=shapes.TICKET)
@signed_in
def search(desk, text, fmt, **filters):
    """Find tickets whose subject or one message holds every word of TEXT.

    Same filters, order and formats as `tix list`; customers see only their tickets and never
    match on internal notes.
    """
    from tix.cli.tickets import print_tickets

    print_tickets(desk, fmt, search=text, **filters)


@click.command()
@output.format_option(fields=shapes.SLA)
@signed_in
def sla(desk, fmt):
    """Show the SLA targets in force per department and priority, and the business hours."""
    from tix.sla import KINDS
    from tix.stats import human_duration

    rows, hours = desk.sla()
    if fmt == "table":
        click.echo(f"business hours: {hours}")
        rows = [dict(r, **{k: human_duration(r[k]) for k in KINDS}) for r in rows]
    output.emit_rows(rows, list(shapes.SLA), fmt, fields=shapes.SLA)


@click.command()
@click.option(
    "--since",
    callback=parse_since,
    default="30d",
    show_default=True,
    help="from: a date, or a duration back from now like 7d",
)
@click.option(
    "--department", "-d", shell_complete=complete_departments, help="only this department"
)
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
@signed_in
def stats(desk, since, department, priority, by, plot_path, fmt):
    """How fast we answer: tickets opened and closed, first-response mean/median/p90 against the
    target, time to close, auto-closed share, reopen rate; computed from the event log (agents)."""
    import sys

    from tix import stats as figures

    if plot_path and not figures.matplotlib_available():
        raise TixError("--plot needs matplotlib, an optional extra: pip install 'tix[plot]'")
    result = desk.stats(since=since, department=department, priority=priority, by=by)
    if plot_path:
        try:
            figures.plot(result, plot_path)
        except OSError as exc:
            raise TixError(f"cannot write {plot_path}: {exc.strerror}") from None
    if fmt == "table":
        encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
        bar = "█" if "utf" in encoding else "#"
        click.echo("\n".join(figures.report_lines(result, bar=bar)))
    else:
        output.emit_object(result, fmt, None, flat=figures.flat(result))
    if plot_path:
        click.echo(f"chart written to {plot_path}", err=fmt != "table")


COMMANDS = [next_command, template, merge, watch, unwatch, search, sla, stats]
