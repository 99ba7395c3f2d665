"""Shell completion: `tix completion bash|zsh|fish` prints click's script, and these callbacks
complete department slugs, statuses and, for agents, the codes of open tickets. A completion
never fails loudly: no store, no token, a store that is down -> nothing to offer (or the
built-in departments)."""

import click

STATUSES = ("open", "answered", "customer-reply", "in-progress", "on-hold", "closed")
SETTABLE_STATUSES = ("in-progress", "on-hold")
DEPARTMENTS = ("hosting", "email", "domains", "billing", "sales", "administration")


def _from_store(ctx, ask):
    """ask(principal) with the store and token this command line would use, or None."""
    from tix.paths import resolve_url
    from tix.service import session

    try:
        url = resolve_url(ctx.find_root().params.get("db_option"))
    except Exception:  # a broken config file
        return None
    return session.ask_quietly(url, ask)


def _items(values, incomplete: str):
    from click.shell_completion import CompletionItem

    typed = (incomplete or "").lower()
    return [CompletionItem(v) for v in values if v.lower().startswith(typed)]


def complete_departments(ctx, param, incomplete):
    from tix.service import tickets

    slugs = _from_store(ctx, tickets.department_slugs) or DEPARTMENTS
    return _items(slugs, incomplete)


def complete_statuses(ctx, param, incomplete):
    return _items(STATUSES, incomplete)


def complete_settable_statuses(ctx, param, incomplete):
    return _items(SETTABLE_STATUSES, incomplete)


def complete_codes(ctx, param, incomplete):
    from tix.service import tickets

    codes = _from_store(ctx, lambda principal: tickets.open_codes(principal, incomplete)) or []
    return _items(codes, "")  # matched already, however the prefix was typed


SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell):
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash:  eval "$(tix completion bash)"         (in ~/.bashrc)
    zsh:   eval "$(tix completion zsh)"          (in ~/.zshrc)
    fish:  tix completion fish > ~/.config/fish/completions/tix.fish

    It completes commands and options, department slugs, statuses and, for agents, the codes
    of open tickets."""
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root().command
    script = get_completion_class(shell)(root, {}, "tix", "_TIX_COMPLETE").source()
    click.echo(script)


COMMANDS = [completion]
