"""`tix admin ...`: setting the desk up (admins only)."""

import click

from tix import output
from tix.cli import people
from tix.cli.plumbing import signed_in
from tix.service import shapes

LANG = click.Choice(["es", "en"])


@click.group()
def admin():
    """Set up the desk (admins only)."""


@admin.group(name="department")
def department():
    """Departments."""


@department.command(name="add")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--name-es", help="the Spanish name (default: --name)")
@click.option("--email", help="the department's address for incoming mail")
@signed_in
def department_add(desk, slug, name, name_es, email):
    """Add a department."""
    dept = desk.add_department(slug, name, name_es, email)
    click.echo(f"department {dept['slug']} added")


@department.command(name="email")
@click.argument("slug")
@click.argument("address")
@signed_in
def department_email(desk, slug, address):
    """Set the address whose mail opens tickets in this department (`none` to clear it)."""
    dept = desk.set_department_email(slug, address)
    click.echo(f"department {dept['slug']}: {dept['email'] or 'no address'}")


@department.command(name="list")
@output.format_option(fields=shapes.DEPARTMENT)
@signed_in
def department_list(desk, fmt):
    """List departments."""
    rows = desk.departments()
    output.emit_rows(rows, list(shapes.DEPARTMENT), fmt, fields=shapes.DEPARTMENT)


@admin.group(name="agent")
def agent():
    """Agents."""


@agent.command(name="add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--department", "departments", multiple=True, required=True, help="repeatable")
@click.option("--admin", "is_admin", is_flag=True)
@click.option("--lang", type=LANG, default="en", show_default=True)
@signed_in
def agent_add(desk, email, name, departments, is_admin, lang):
    """Add an agent."""
    added = desk.add_agent(email, name, list(departments), is_admin, lang)
    click.echo(f"agent {added['email']} added")


@admin.group(name="account")
def account():
    """Customer and reseller accounts."""


@account.command(name="add")
@click.argument("handle")
@click.option("--name", required=True)
@click.option("--owner-email", required=True)
@click.option("--owner-name")
@click.option("--reseller", "reseller", help="HANDLE of the reseller this customer belongs to")
@click.option("--is-reseller", is_flag=True, help="this account is itself a reseller")
@click.option("--lang", type=LANG, default="en", show_default=True)
@signed_in
def account_add(desk, handle, name, owner_email, owner_name, reseller, is_reseller, lang):
    """Add an account with its owner contact."""
    added = desk.add_account(
        handle,
        name=name,
        owner_email=owner_email,
        owner_name=owner_name,
        reseller=reseller,
        lang=lang,
        is_reseller=is_reseller,
    )
    click.echo(f"account {added['handle']} added")


@admin.group(name="contact")
def contact():
    """An account's contacts."""


@contact.command(name="add")
@click.argument("handle")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--ticket-emails/--no-ticket-emails", default=True, show_default=True)
@click.option("--login", "can_login", is_flag=True, help="may log in to tix")
@click.option("--lang", type=LANG, help="default: the account's")
@signed_in
def contact_add(desk, handle, email, name, ticket_emails, can_login, lang):
    """Add a sub-account contact."""
    added = desk.add_contact(
        handle,
        email,
        name=name,
        ticket_emails=ticket_emails,
        can_login=can_login,
        lang=lang,
    )
    click.echo(f"contact {added['email']} added to {handle}")


@admin.group(name="service")
def service_group():
    """An account's services."""


@service_group.command(name="add")
@click.argument("handle")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["hosting", "domain", "email"]),
    default="hosting",
    show_default=True,
)
@click.option("--server-ip", metavar="IP", help="the account's server (for the account check)")
@click.option("--mail-host", metavar="HOST", help="where its mail answers (IMAP, submission)")
@signed_in
def service_add(desk, handle, name, kind, server_ip, mail_host):
    """Add a hosting account, domain or mail service to an account."""
    added = desk.add_service(handle, name, kind, server_ip, mail_host)
    click.echo(f"service {added['name']} added to {handle}")


@admin.group(name="token")
def token():
    """Login tokens."""


@token.command(name="issue")
@click.argument("email")
@click.option("--quiet", is_flag=True, help="print the token alone")
@signed_in
def token_issue(desk, email, quiet):
    """Issue a token (printed once, stored only as a hash)."""
    issued = desk.issue_token(email)
    click.echo(issued if quiet else f"token for {email} (shown once):\n{issued}")


@token.command(name="revoke")
@click.argument("email")
@signed_in
def token_revoke(desk, email):
    """Revoke every token of a person."""
    count = desk.revoke_tokens(email)
    click.echo(f"revoked {count} token(s) of {email}")


# list, show, edit, deactivate and reactivate live in tix/cli/people.py.
for group, commands in (
    (agent, people.AGENT),
    (account, people.ACCOUNT),
    (contact, people.CONTACT),
    (service_group, people.SERVICE),
):
    for command in commands:
        group.add_command(command)


COMMANDS = [admin]
