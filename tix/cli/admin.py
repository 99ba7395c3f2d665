"""`tix admin ...`: setting the desk up (admins only)."""

import click

from tix import output
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
def department_add(principal, slug, name, name_es, email):
    """Add a department."""
    from tix.service import admin as service

    dept = service.add_department(principal, slug, name, name_es, email)
    click.echo(f"department {dept['slug']} added")


@department.command(name="email")
@click.argument("slug")
@click.argument("address")
@signed_in
def department_email(principal, slug, address):
    """Set the address whose mail opens tickets in this department (`none` to clear it)."""
    from tix.service import admin as service

    dept = service.set_department_email(principal, slug, address)
    click.echo(f"department {dept['slug']}: {dept['email'] or 'no address'}")


@department.command(name="list")
@output.format_option
@signed_in
def department_list(principal, fmt):
    """List departments."""
    from tix.service import admin as service

    rows = service.departments(principal)
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
def agent_add(principal, email, name, departments, is_admin, lang):
    """Add an agent."""
    from tix.service import admin as service

    added = service.add_agent(principal, email, name, list(departments), is_admin, lang)
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
def account_add(principal, handle, name, owner_email, owner_name, reseller, is_reseller, lang):
    """Add an account with its owner contact."""
    from tix.service import admin as service

    added = service.add_account(
        principal,
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
def contact_add(principal, handle, email, name, ticket_emails, can_login, lang):
    """Add a sub-account contact."""
    from tix.service import admin as service

    added = service.add_contact(
        principal,
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
@signed_in
def service_add(principal, handle, name, kind):
    """Add a hosting account, domain or mail service to an account."""
    from tix.service import admin as service

    added = service.add_service(principal, handle, name, kind)
    click.echo(f"service {added['name']} added to {handle}")


@admin.group(name="token")
def token():
    """Login tokens."""


@token.command(name="issue")
@click.argument("email")
@click.option("--quiet", is_flag=True, help="print the token alone")
@signed_in
def token_issue(principal, email, quiet):
    """Issue a token (printed once, stored only as a hash)."""
    from tix.service import admin as service

    issued = service.issue_token(principal, email)
    click.echo(issued if quiet else f"token for {email} (shown once):\n{issued}")


@token.command(name="revoke")
@click.argument("email")
@signed_in
def token_revoke(principal, email):
    """Revoke every token of a person."""
    from tix.service import admin as service

    count = service.revoke_tokens(principal, email)
    click.echo(f"revoked {count} token(s) of {email}")


COMMANDS = [admin]
