"""Getting started and the store itself: init, login, logout, whoami, db, demo."""

import sys

import click

from tix import output
from tix.cli.plumbing import FilePath, pass_app, signed_in
from tix.service import shapes


@click.command()
@click.option("--admin-email", default="admin@localhost", show_default=True)
@click.option("--admin-name", default="Administrator", show_default=True)
@click.option("--quiet", is_flag=True, help="print the token alone")
@pass_app
def init(app, admin_email, admin_name, quiet):
    """Create the store and its first admin; prints the admin's token once and saves it."""
    from tix import credentials
    from tix.service import admin
    from tix.store import mask_url

    agent, token = admin.init(app.open_store(require_schema=False), admin_email, admin_name)
    where = credentials.save_token(app.store_url(), token)
    if quiet:
        click.echo(token)
        return
    click.echo(f"store ready: {mask_url(app.store_url())}")
    click.echo(f"admin {agent['email']} created; token (shown once, saved in {where}):")
    click.echo(token)


@click.command()
@click.option("--token", "token_option", help="the token (else read from stdin or a prompt)")
@pass_app
def login(app, token_option):
    """Save your token for this store in the OS keyring."""
    from tix import credentials

    token = token_option
    if token is not None:
        click.echo(
            "tix: warning: a token on the command line is visible to other users (ps, shell "
            "history): give it on stdin (`tix login < file`) or at the prompt",
            err=True,
        )
    else:
        stdin = sys.stdin
        token = click.prompt("token", hide_input=True) if stdin.isatty() else stdin.readline()
    who = app.desk_for(token.strip()).whoami()
    where = credentials.save_token(app.store_url(), token.strip())
    click.echo(f"logged in as {who['email']} ({who['role']}); token saved in {where}")


@click.command()
@pass_app
def logout(app):
    """Forget the saved token for this store."""
    from tix import credentials

    credentials.forget_token(app.store_url())
    click.echo("logged out")


@click.command(name="whoami")
@output.format_option(fields=shapes.WHOAMI)
@signed_in
def whoami(desk, fmt):
    """Say who you are acting as."""
    output.emit_object(
        desk.whoami(),
        fmt,
        lambda o: click.echo(
            f"{o['name']} <{o['email']}>, {o['role']}"
            + (f" of account {o['account']}" if o["account"] else "")
        ),
    )


@click.group()
def db():
    """The store: where it is and its schema migrations."""


@db.command(name="path")
@pass_app
def db_path(app):
    """Print the store's URL (password hidden)."""
    from tix.store import mask_url

    click.echo(mask_url(app.store_url()))


@db.command(name="upgrade")
@pass_app
def db_upgrade(app):
    """Apply pending migrations."""
    from tix import migrations

    applied = migrations.upgrade(app.open_store(require_schema=False))
    click.echo("\n".join(f"applied {name}" for name in applied) or "already up to date")


@db.command(name="status")
@output.format_option(fields=shapes.MIGRATION)
@pass_app
def db_status(app, fmt):
    """List migrations and when each was applied."""
    from tix import migrations

    rows = [
        shapes.migration(r["version"], r["name"], r["applied_at"])
        for r in migrations.migration_status(app.open_store(require_schema=False))
    ]
    output.emit_rows(rows, list(shapes.MIGRATION), fmt, fields=shapes.MIGRATION)


@click.command()
@click.option(
    "--keep", type=FilePath(file_okay=False), help="build the demo store in this folder and keep it"
)
def demo(keep):
    """Walk one ticket through its life on a throwaway SQLite store, printing each step."""
    from tix.demo import run
    from tix.jobs.cli import cli as jobs_cli

    # The demo drives the real commands, handed to it, so it imports neither door itself.
    tix = click.get_current_context().find_root().command
    sys.exit(run(keep, tix=tix, tix_jobs=jobs_cli))


@click.command()
@click.option("--bind", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT")
@click.option(
    "--workers", type=int, default=1, show_default=True, help="processes (one per core is typical)"
)
@click.option(
    "--certfile", type=FilePath(dir_okay=False, exists=True), help="TLS certificate (PEM)"
)
@click.option("--keyfile", type=FilePath(dir_okay=False, exists=True), help="its private key (PEM)")
@click.option(
    "--trusted-proxies",
    metavar="IPS",
    help="comma list of reverse proxies whose X-Forwarded-For names the client",
)
@pass_app
def serve(app, bind, workers, certfile, keyfile, trusted_proxies):
    """Serve the desk's HTTP API on this store, for `tix --db http(s)://...` and scripts.

    Customers and resellers never get a database login: they use this. See docs/api.md.
    """
    from tix.server.run import serve as run

    app.open_store()  # a store that is set up and current, or a one-line error now
    app.close()
    run(app.store_url(), bind, workers, certfile, keyfile, trusted_proxies)


COMMANDS = [init, login, logout, whoami, db, demo, serve]
