"""`tix config` (like `gh config`: the store, the default format, the language, the pager in
~/.config/tix/config.toml; environment variables still win) and `tix completion` (click's
scripts, completing department slugs, statuses and, for agents, open ticket codes: run the way
a shell runs it, with click's completion variables, in a real process)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tix.cli import cli

TIX = str(Path(sys.executable).with_name("tix"))


def config(runner, *args, expect=0, env=None):
    result = runner.invoke(cli, ["config", *args], env=env or {})
    assert result.exit_code == expect, result.output
    return result


@pytest.mark.sqlite_only
def test_config_get_set_list_unset(runner, tmp_path):
    assert config(runner, "get", "format").stdout == ""
    assert config(runner, "set", "format", "json").stdout == "format = json\n"
    assert config(runner, "get", "format").stdout == "json\n"
    config(runner, "set", "store", "postgresql://tix:s3cret@db.example/tix")
    listed = config(runner, "list").stdout
    assert "store=postgresql://tix:***@db.example/tix" in listed and "s3cret" not in listed
    assert "format=json" in listed and "language=" in listed and "pager=" in listed
    assert "TIX_FORMAT is set and wins" in config(runner, "list", env={"TIX_FORMAT": "csv"}).stdout
    text = (tmp_path / "config" / "tix" / "config.toml").read_text()
    assert 'format = "json"' in text
    assert config(runner, "unset", "format").stdout == "format unset\n"
    assert config(runner, "get", "format").stdout == ""
    for args in (
        ("set", "format", "xml"),
        ("set", "language", "fr"),
        ("set", "store", "mysql://x"),
        ("set", "colour", "on"),
        ("get", "colour"),
        ("set", "pager", "less\n-R"),
    ):
        assert config(runner, *args, expect=2).stderr.startswith("tix: error: ")
    (tmp_path / "config" / "tix" / "config.toml").write_text("format = [broken")
    assert "config.toml" in runner.invoke(cli, ["db", "path"]).stderr


def test_the_config_file_sets_defaults_and_the_environment_wins(desk, runner, tmp_path):
    code = desk.create("alpha")
    env = {"TIX_TOKEN": desk.tokens["alpha"], "TIX_DATABASE_URL": None}
    config(runner, "set", "store", desk.url)
    listed = runner.invoke(cli, ["list", "--format", "json"], env=env)  # the store from the file
    assert [r["code"] for r in json.loads(listed.stdout)] == [code]
    config(runner, "set", "format", "json")
    assert json.loads(runner.invoke(cli, ["show", code], env=env).stdout)["code"] == code
    assert runner.invoke(cli, ["show", code], env={**env, "TIX_FORMAT": "table"}).stdout.startswith(
        f"{code}  "
    )
    assert runner.invoke(cli, ["show", code, "--format", "csv"], env=env).stdout.startswith("code,")
    elsewhere = f"sqlite:///{tmp_path / 'other' / 'none.db'}"
    assert (
        "no store"
        in runner.invoke(cli, ["list"], env={**env, "TIX_DATABASE_URL": elsewhere}).stderr
    )
    assert (
        runner.invoke(cli, ["db", "path"], env={"TIX_DATABASE_URL": None}).stdout.strip()
        == desk.url
    )


def complete(words: str, cword: int | None = None, env: dict | None = None, program=None):
    parts = words.split(" ")
    environment = {
        **os.environ,
        "_TIX_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1 if cword is None else cword),
        **(env or {}),
    }
    result = subprocess.run(
        program or [TIX], env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


@pytest.mark.sqlite_only
@pytest.mark.parametrize("shell,marker", [("bash", "complete -o"), ("zsh", "#compdef tix"),
                                          ("fish", "complete --no-files --command tix")])  # fmt: skip
def test_completion_prints_the_script_for_each_shell(runner, shell, marker):
    script = runner.invoke(cli, ["completion", shell])
    assert script.exit_code == 0 and marker in script.stdout and "_TIX_COMPLETE" in script.stdout
    assert runner.invoke(cli, ["completion", "tcsh"]).exit_code == 2


def test_completion_offers_departments_statuses_and_an_agents_open_codes(desk):
    desk.tix("admin", "department", "add", "legal", "--name", "Legal")
    first, second = desk.create("alpha", "One"), desk.create("beta", "Two")
    closed = desk.create("beta", "Three")
    desk.tix("close", closed, as_="hosting_agent")
    agent = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["hosting_agent"]}
    assert complete("tix li") == ["list"]
    assert complete("tix list --status ", env=agent) == [
        "open", "answered", "customer-reply", "in-progress", "on-hold", "closed",
    ]  # fmt: skip
    assert complete("tix list --status c", env=agent) == ["customer-reply", "closed"]
    assert complete("tix status CODE ", env=agent) == ["in-progress", "on-hold"]
    assert "legal" in complete("tix create -d ", env=agent)  # the store's departments
    assert complete("tix list -d bi", env=agent) == ["billing"]
    codes = complete("tix show ", env=agent)
    assert set(codes) == {first, second}  # open tickets only
    assert complete(f"tix reply {first[:3].lower()}", env=agent) == [first]
    # A customer gets no codes; no store or no token: nothing, and no error.
    assert complete("tix show ", env={**agent, "TIX_TOKEN": desk.tokens["alpha"]}) == []
    nowhere = {"TIX_DATABASE_URL": "sqlite:////nonexistent/x.db", "TIX_TOKEN": "tix_x"}
    assert complete("tix show ", env=nowhere) == []
    assert "hosting" in complete("tix create -d ", env=nowhere)  # the built-in departments
    # `python -m tix` completes too.
    assert complete("tix li", program=[sys.executable, "-m", "tix"]) == ["list"]


def test_completion_lists_every_status_of_the_lifecycle():
    from tix.cli import completion
    from tix.models import STATUSES

    assert completion.STATUSES == STATUSES
    assert set(completion.SETTABLE_STATUSES) < set(STATUSES)
