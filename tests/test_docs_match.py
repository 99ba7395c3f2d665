"""docs/cli.md and docs/jobs.md say what the commands are: every command and every option of
`tix` is in docs/cli.md's table, every `tix-jobs` command in docs/jobs.md's, the options
docs/jobs.md promises exist where it says (and only there), `run` names its steps in order."""

import re
from pathlib import Path

import click
import pytest
from tix.jobs.cli import cli as jobs_cli

from tix.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
JOBS_MD = (ROOT / "docs" / "jobs.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.sqlite_only


def leaves(group: click.Group, prefix: tuple = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # tix's root group imports its commands when asked
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                yield path, command
            yield from leaves(command, path)
        else:
            yield path, command


def table_rows(text: str, heading: str) -> list[str]:
    """The first cells of the table under `heading`."""
    section = text.split(heading, 1)[1]
    table = section.split("\n\n", 1)[0] if section.startswith("\n|") else section
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [row.split(" | ")[0] for row in rows]


def long_options(command) -> list[str]:
    names = []
    for param in command.params:
        if isinstance(param, click.Option):
            names += [o for o in param.opts + param.secondary_opts if o.startswith("--")]
    # --json FIELDS comes with every --format (said once, under the table).
    return [n for n in names if n not in ("--help", "--json")]


def undocumented_options(command, text: str) -> list[str]:
    """Options of which no spelling (long or short: `-d` for `--department`) is in `text`."""
    missing = []
    for param in command.params:
        if not isinstance(param, click.Option) or "--help" in param.opts or "--json" in param.opts:
            continue
        spellings = param.opts + param.secondary_opts
        if not any(re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", text) for o in spellings):
            missing.append(max(spellings, key=len))
    return missing


def mentioned(rows: list[str], program: str, path: tuple) -> str:
    name = re.escape(f"{program} {' '.join(path)}")
    found = [r for r in rows if re.search(name + r"(?![\w-])", r)]
    return " ".join(found)


def test_every_tix_command_and_option_is_in_docs_cli_md():
    rows = table_rows(CLI_MD, "## Commands\n")
    missing = []
    for path, command in leaves(cli):
        text = mentioned(rows, "tix", path)
        if not text:
            missing.append(f"tix {' '.join(path)}")
            continue
        missing += [f"tix {' '.join(path)} {o}" for o in undocumented_options(command, text)]
    assert missing == []
    assert "`--json FIELDS`" in CLI_MD


def test_every_tix_jobs_command_is_in_docs_jobs_md_with_the_options_it_has():
    rows = table_rows(JOBS_MD, "## Commands\n")
    missing = [
        f"tix-jobs {' '.join(p)}" for p, _ in leaves(jobs_cli) if not mentioned(rows, "tix-jobs", p)
    ]
    assert missing == []
    promise = re.search(r"The job commands \(([^)]*)\)\s+take `--dry-run`", JOBS_MD)
    promised = set(re.findall(r"`([a-z-]+)`", promise[1]))
    having = {p[-1] for p, c in leaves(jobs_cli) if "--dry-run" in long_options(c)}
    assert promised == having
    for name in having:
        options = long_options(jobs_cli.commands[name])
        assert {"--dry-run", "--verbose", "--no-lock"} <= set(options)


def test_run_is_documented_with_its_steps_in_order():
    from tix.jobs import common

    steps = "remind, autoclose, escalate, notify"
    assert f"| `tix-jobs run` | {steps}, in that order" in JOBS_MD
    assert steps in (jobs_cli.commands["run"].help or "")
    # The README's table of what `run` does lists the same steps in the same order.
    readme = [row.split("`")[1] for row in table_rows(README, "does in order:\n")]
    assert readme == [f"tix-jobs {s}" for s in steps.split(", ")]
    assert common  # the steps themselves: jobs/cli.py's run()


def test_the_readme_names_the_new_commands_and_the_findings_key():
    for text in ("tix config", "tix completion", "tix admin agent list", "`--json FIELDS`",
                 "`findings`", "tix admin contact deactivate"):  # fmt: skip
        assert text in README, text
