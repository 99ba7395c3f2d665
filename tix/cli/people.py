"""`tix admin agent|account|contact|service list|show|edit|deactivate|reactivate`: looking after
the people and accounts `tix admin ... add` created (admins only). tix/cli/admin.py puts these
commands into its groups."""

import click

from tix import output
from tix.cli.plumbing import signed_in
from tix.service import shapes

LANG = click.Choice(["es", "en"])

# -- agents -----------------------------------------------------------------------------------


@click.command(name="list")
@output.format_option(fields=shapes.AGENT)
@signed_in
def agent_list(desk, fmt):
    """List agents (deactivated ones too: see `active`)."""
    rows = desk.agents()
    output.emit_rows(rows, list(shapes.AGENT[:-1]), fmt, fields=shapes.AGENT)


@click.command(name="show")
@click.argument("email")
@output.format_option(fields=shapes.AGENT)
@signed_in
def agent_show(desk, email, fmt):
    """Show an agent."""
    output.emit_object(desk.agent(email), fmt, output.show_fields)


@click.command(name="edit")
@click.argument("email")
@click.option("--name")
@click.option("--lang", type=LANG)
@click.option("--add-department", "add", multiple=True, metavar="SLUG", help="repeatable")
@click.option("--remove-department", "remove", multiple=True, metavar="SLUG", help="repeatable")
@signed_in
def agent_edit(desk, email, name, lang, add, remove):
    """Change an agent's name, language or departments."""
    row = desk.edit_agent(
        email, name=name, lang=lang, add_departments=add, remove_departments=remove
    )
    click.echo(
        f"agent {row['email']}: {row['name']}, {row['lang']}, {' '.join(row['departments'])}"
    )


def _agent_active(active: bool):
    verb = "reactivate" if active else "deactivate"

    @click.command(name=verb)
    @click.argument("email")
    @signed_in
    def command(desk, email):
        done = desk.set_agent_active(email, active)
        line = f"agent {done['agent']['email']} {verb}d"
        if done["released"]:
            codes = ", ".join(done["released"])
            line += f"; {len(done['released'])} open ticket(s) back in the queue: {codes}"
        click.echo(line)

    command.help = (
        "Let an agent work again: mail, tickets, their token."
        if active
        else "Stop an agent: no more email, no ticket (their open ones go back to the queue), "
        "no login. Nothing is deleted; `reactivate` undoes it."
    )
    return command


# -- accounts ---------------------------------------------------------------------------------


@click.command(name="list")
@output.format_option(fields=shapes.ACCOUNT)
@signed_in
def account_list(desk, fmt):
    """List accounts."""
    rows = desk.accounts()
    output.emit_rows(rows, list(shapes.ACCOUNT[:-1]), fmt, fields=shapes.ACCOUNT)


@click.command(name="show")
@click.argument("handle")
@output.format_option(fields=shapes.ACCOUNT_DETAIL)
@signed_in
def account_show(desk, handle, fmt):
    """Show an account with its clients, contacts and services."""
    output.emit_object(desk.account(handle), fmt, output.show_fields)


@click.command(name="edit")
@click.argument("handle")
@click.option("--name")
@click.option("--lang", type=LANG, help="the language of contacts added from now on")
@click.option("--reseller", metavar="HANDLE", help="the reseller it belongs to, or `none`")
@signed_in
def account_edit(desk, handle, name, lang, reseller):
    """Change an account's name, language or reseller."""
    row = desk.edit_account(handle, name=name, lang=lang, reseller=reseller)
    click.echo(
        f"account {row['handle']}: {row['name']}, {row['lang']}, reseller {row['reseller'] or 'none'}"
    )


# -- contacts ---------------------------------------------------------------------------------


@click.command(name="list")
@click.argument("handle", required=False)
@output.format_option(fields=shapes.CONTACT)
@signed_in
def contact_list(desk, handle, fmt):
    """List contacts, of one account (HANDLE) or of all."""
    rows = desk.contacts(handle)
    output.emit_rows(rows, list(shapes.CONTACT[:-1]), fmt, fields=shapes.CONTACT)


@click.command(name="show")
@click.argument("email")
@output.format_option(fields=shapes.CONTACT)
@signed_in
def contact_show(desk, email, fmt):
    """Show a contact."""
    output.emit_object(desk.contact(email), fmt, output.show_fields)


@click.command(name="edit")
@click.argument("email")
@click.option("--name")
@click.option("--lang", type=LANG)
@click.option("--ticket-emails/--no-ticket-emails", default=None, help="sent every ticket's email")
@click.option("--login/--no-login", "can_login", default=None, help="may log in to tix")
@click.option("--owner", is_flag=True, help="make this contact the account's owner")
@signed_in
def contact_edit(desk, email, name, lang, ticket_emails, can_login, owner):
    """Change a contact's name, language, ticket emails, login, or make it the owner."""
    row = desk.edit_contact(
        email,
        name=name,
        lang=lang,
        ticket_emails=ticket_emails,
        can_login=can_login,
        owner=owner,
    )
    flags = [
        "owner" if row["is_owner"] else None,
        "ticket emails" if row["ticket_emails"] else "no ticket emails",
        "login" if row["login"] else "no login",
    ]
    click.echo(
        f"contact {row['email']}: {row['name']}, {row['lang']}, " + ", ".join(filter(None, flags))
    )


def _contact_active(active: bool):
    verb = "reactivate" if active else "deactivate"

    @click.command(name=verb)
    @click.argument("email")
    @signed_in
    def command(desk, email):
        row = desk.set_contact_active(email, active)
        click.echo(f"contact {row['email']} {verb}d")

    command.help = (
        "Let a contact log in, write by email and receive ticket email again."
        if active
        else "Stop a contact: no login, no ticket by email, no ticket email. Nothing is deleted; "
        "`reactivate` undoes it."
    )
    return command


# -- services ---------------------------------------------------------------------------------


@click.command(name="list")
@click.argument("handle", required=False)
@output.format_option(fields=shapes.SERVICE)
@signed_in
def service_list(desk, handle, fmt):
    """List services, of one account (HANDLE) or of all."""
    rows = desk.services(handle)
    output.emit_rows(rows, list(shapes.SERVICE[:-1]), fmt, fields=shapes.SERVICE)


@click.command(name="show")
@click.argument("handle")
@click.argument("name")
@output.format_option(fields=shapes.SERVICE)
@signed_in
def service_show(desk, handle, name, fmt):
    """Show one of an account's services."""
    output.emit_object(desk.service(handle, name), fmt, output.show_fields)


AGENT = [agent_list, agent_show, agent_edit, _agent_active(False), _agent_active(True)]
ACCOUNT = [account_list, account_show, account_edit]
CONTACT = [contact_list, contact_show, contact_edit, _contact_active(False), _contact_active(True)]
SERVICE = [service_list, service_show]
