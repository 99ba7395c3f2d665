"""The docs are a promise: every command has help and is in the README, and every `tix`
command the README shows parses (a renamed option would break a reader's copy-paste)."""

import re
import shlex
from pathlib import Path

import click
import pytest
from tix.jobs.cli import cli as jobs_cli

from tix.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.sqlite_only


def _commands(group: click.Group, prefix: tuple = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # tix's root group imports its commands when asked
        command = group.get_command(ctx, name)
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


@pytest.mark.parametrize("group,program", [(cli, "tix"), (jobs_cli, "tix-jobs")])
def test_every_command_has_help_and_is_in_the_readme(group, program):
    missing_help = [" ".join(p) for p, c in _commands(group) if not (c.help or "").strip()]
    assert missing_help == []
    top_level = sorted(group.list_commands(click.Context(group)))
    not_in_readme = [name for name in top_level if f"{program} {name}" not in README]
    assert not_in_readme == []


def _readme_invocations():
    """Every `$ tix ...` / `$ tix-jobs ...` line in the README's console blocks."""
    for line in README.splitlines():
        match = re.match(r"^\$ (?:\S+=\S+ )*(tix(?:-jobs)?) (.*)$", line)
        if match:
            rest = match[2]
            if "$(" in line.split(match[1], 1)[0]:  # VAR=$(tix ...): drop the closing paren
                rest = rest.rstrip().removesuffix(")")
            yield match[1], rest


def _resolve(group: click.Group, words: list[str]):
    command, ctx_words = group, list(words)
    ctx = click.Context(group)
    while isinstance(command, click.Group) and ctx_words:
        found = command.get_command(ctx, ctx_words[0])  # the root group imports it now
        if found is None:
            break
        command = found
        ctx_words.pop(0)
    return command, ctx_words


def test_the_readme_session_is_not_empty():
    assert len(list(_readme_invocations())) >= 8


@pytest.mark.parametrize("program,rest", list(_readme_invocations()))
def test_every_readme_command_parses(program, rest):
    words = shlex.split(rest.split(" | ")[0].split(" > ")[0])
    group = cli if program == "tix" else jobs_cli
    # Global options come before the command.
    while words and words[0].startswith("--db"):
        words = words[2:] if words[0] == "--db" else words[1:]
    command, args = _resolve(group, words)
    runnable = not isinstance(command, click.Group) or command.invoke_without_command
    assert runnable, f"{program} {rest}: not a command"
    # Parsing checks every option and argument exists, without running anything.
    args = ["K7QD-4MZP" if a.startswith("$") else a for a in args]  # shell variables
    command.make_context(command.name, args, resilient_parsing=False)
