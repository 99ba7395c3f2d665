"""`tix config get|set|list|unset`: the user's config file, like `gh config`."""

import os

import click


@click.group(name="config")
def config_group():
    """Your settings in ~/.config/tix/config.toml: store, format, language, pager.

    Environment variables still win: TIX_DATABASE_URL (and --db), TIX_FORMAT (and --format),
    TIX_LANG, TIX_PAGER (then PAGER)."""


@config_group.command(name="get")
@click.argument("key")
def config_get(key):
    """Print a key's value in the file (nothing if unset)."""
    from tix import config

    value = config.value(config.known(key))
    if value is not None:
        click.echo(value)


@config_group.command(name="set")
@click.argument("key")
@click.argument("value")
def config_set(key, value):
    """Set a key (store, format, language, pager)."""
    from tix import config

    config.set_value(key, value)
    if key == "store":
        from tix.urls import mask_url, url_password

        if url_password(value):
            click.echo(
                f"tix: warning: {config.path()} now holds a password (readable only by you); "
                "TIX_DATABASE_PASSWORD keeps it out of files",
                err=True,
            )
        value = mask_url(value)
    click.echo(f"{key} = {value}")


@config_group.command(name="unset")
@click.argument("key")
def config_unset(key):
    """Remove a key from the file (its default applies again)."""
    from tix import config

    removed = config.unset(key)
    click.echo(f"{key} unset" if removed else f"{key} was not set")


@config_group.command(name="list")
def config_list():
    """Every key: its value in the file, and whether the environment overrides it."""
    from tix import config
    from tix.store import mask_url

    values = config.values()
    for key in config.KEYS:
        value = values.get(key)
        shown = "" if value is None else (mask_url(value) if key == "store" else value)
        line = f"{key}={shown}"
        env = config.ENVIRONMENT[key]
        if os.environ.get(env) is not None:
            line += f"  ({env} is set and wins)"
        click.echo(line)


COMMANDS = [config_group]
