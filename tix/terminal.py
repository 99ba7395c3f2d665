"""How tix's output reaches a terminal: colour unless NO_COLOR or TERM=dumb, and long output
through a pager (as gh does), never when piped. tix.output decides what to print."""

import os
import sys

import click


def colour_off() -> bool:
    """NO_COLOR (any value but empty, no-color.org) or TERM=dumb: no colour, anywhere."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def pager_command() -> str | None:
    """The pager for this terminal: TIX_PAGER, else `pager` in the config file, else PAGER, else
    `less -FRX`; None when stdout is not a terminal, or the pager is empty or `cat`."""
    if not sys.stdout.isatty():
        return None
    from tix import config

    command = config.effective("pager")
    if command is None:
        command = os.environ.get("PAGER")
    if command is None:
        command = "less -FRX"
    return None if command.strip() in ("", "cat") else command


def _screen_lines(text: str) -> tuple[int, int]:
    """(lines the text takes, lines the terminal has)."""
    import shutil

    columns, rows = shutil.get_terminal_size()
    taken = sum(
        max(1, -(-len(click.unstyle(line)) // max(columns, 1))) for line in text.split("\n")
    )
    return taken, rows


def page(text: str) -> None:
    """Print `text`; on a terminal, through the pager when it is longer than the screen."""
    command = pager_command()
    if command is not None:
        taken, rows = _screen_lines(text)
        if taken >= rows and _run_pager(command, text):
            return
    click.echo(text)


def _run_pager(command: str, text: str) -> bool:
    import shlex
    import subprocess

    ctx = click.get_current_context(silent=True)
    if (ctx is not None and ctx.color is False) or colour_off():
        text = click.unstyle(text)
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")  # as gh does: a PAGER=less still shows colour and exits
    env.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, env=env)
    except (OSError, ValueError):
        return False  # no such pager: print as usual
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        process.stdin.write((text + "\n").encode(encoding, "replace"))
        process.stdin.close()
    except OSError:  # the reader quit before the end (q in less)
        pass
    while True:
        try:
            process.wait()
            return True
        except KeyboardInterrupt:  # Ctrl-C belongs to the pager
            continue
