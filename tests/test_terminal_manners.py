"""What reaches a person's terminal, as gh does it: colour unless NO_COLOR or TERM=dumb; long
output through a pager on a terminal (TIX_PAGER, `pager` in the config, PAGER, `less -FRX`),
never when piped; text from customers escaped in tables and history (controls, bidi overrides
and isolates, line separators, zero-width characters); history times as ISO 8601 with the
user's offset; one event for one change."""

import json
import time
from datetime import timedelta

import pytest
from freezegun import freeze_time
from jobs_support import jobs
from pty_support import run_on_terminal

from tix import output

ESC = "\x1b["


@pytest.mark.sqlite_only
@pytest.mark.parametrize("env,coloured", [({}, True), ({"NO_COLOR": "1"}, False),
                                          ({"TERM": "dumb"}, False), ({"NO_COLOR": ""}, True)])  # fmt: skip
def test_colour_unless_no_color_or_a_dumb_terminal(desk, env, coloured):
    code = desk.create("alpha")
    desk.tix("reply", code, "--internal", "-m", "note", as_="hosting_agent")
    environment = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["hosting_agent"]}
    environment.update({"TERM": "xterm-256color", "TIX_PAGER": ""})
    environment.update(env)
    from tix.cli import cli

    # color=True: click's runner keeps the colour a terminal would get.
    result = desk.runner.invoke(cli, ["show", code], env=environment, color=True)
    assert result.exit_code == 0, result.stderr
    assert (ESC in result.stdout) == coloured
    run = run_on_terminal(["show", code], environment)  # the same on a real terminal
    assert (ESC in run.screen) == coloured


def long_ticket(desk):
    body = "\n".join(f"line {n} of the log" for n in range(80))
    return desk.create("alpha", "Long", "hosting", "low", body)


@pytest.mark.sqlite_only
def test_long_output_goes_through_the_pager_on_a_terminal_only(desk, tmp_path):
    code = long_ticket(desk)
    paged = tmp_path / "paged.txt"
    env = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["alpha"]}
    pager = f"sh -c 'cat > {paged}'"
    run = run_on_terminal(["show", code], {**env, "TIX_PAGER": pager}, rows=24)
    assert run.returncode == 0, run.stderr
    assert "line 79 of the log" in paged.read_text() and "line 79" not in run.screen
    # Short output is printed as it is, no pager started.
    paged.unlink()
    short = desk.create("alpha", "Short")
    run = run_on_terminal(["show", short], {**env, "TIX_PAGER": pager}, rows=24)
    assert "Short" in run.screen and not paged.exists()
    # PAGER is used when TIX_PAGER is unset; an empty TIX_PAGER (or `cat`) means none.
    run = run_on_terminal(["show", code], {**env, "PAGER": pager, "TIX_PAGER": ""}, rows=24)
    assert "line 79" in run.screen and not paged.exists()
    run_on_terminal(["show", code], {**env, "PAGER": pager}, rows=24)
    assert "line 79" in paged.read_text()
    # Piped (not a terminal): never a pager, whatever is set.
    from tix.cli import cli

    result = desk.runner.invoke(cli, ["show", code], env={**env, "TIX_PAGER": pager})
    assert "line 79" in result.stdout and result.exit_code == 0


def test_the_pager_in_force(monkeypatch, tmp_path):
    class Terminal:
        encoding = "utf-8"

        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    for name in ("TIX_PAGER", "PAGER"):
        monkeypatch.delenv(name, raising=False)
    assert output.pager_command() == "less -FRX"
    monkeypatch.setenv("PAGER", "more")
    assert output.pager_command() == "more"
    from tix import config

    config.set_value("pager", "most")
    assert output.pager_command() == "most"  # the config file before PAGER, as gh
    monkeypatch.setenv("TIX_PAGER", "less -S")
    assert output.pager_command() == "less -S"
    for none in ("", "cat"):
        monkeypatch.setenv("TIX_PAGER", none)
        assert output.pager_command() is None


HOSTILE = "Pay\u202eexe.cod\u202c now\u2066x\u2069\u200b\u2028next\x9b31m red"


def test_tables_and_history_escape_what_would_reorder_or_hide_text(desk, tmp_path):
    code = desk.create("alpha", HOSTILE)
    listing = desk.tix("list", as_="hosting_agent").stdout
    shown = desk.tix("show", code, "--history", as_="hosting_agent").stdout
    for text in (listing, shown):
        for invisible in ("\u202e", "\u202c", "\u2066", "\u2069", "\u200b", "\u2028", "\x9b"):
            assert invisible not in text
    assert "Pay\\u202eexe.cod\\u202c" in listing
    history = shown.split("history:")[1]
    assert "\\u202e" in history and "\\u2028" in history and "\\x9b31m" in history
    # JSON keeps the text exactly.
    data = json.loads(desk.tix("show", code, "--format", "json", as_="hosting_agent").stdout)
    assert data["subject"] == HOSTILE


def test_history_shows_every_time_in_iso_with_the_users_offset(desk, monkeypatch):
    with freeze_time("2025-03-03 09:00:00") as frozen:
        code = desk.create("alpha_quiet")
        desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
        frozen.tick(timedelta(hours=48))
        jobs(desk.url, "remind")
        jobs(desk.url, "notify")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        shown = desk.tix("show", code, "--history", "--format", "json", as_="hosting_agent")
        table = desk.tix("show", code, "--history", as_="hosting_agent").stdout
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
    events = {e["kind"]: e for e in json.loads(shown.stdout)["events"]}
    assert events["reminded"]["after"] == {"reminded_at": "2025-03-05T04:00:00-05:00"}
    assert events["reminder-delivered"]["after"]["reminder_delivered_at"].endswith("-05:00")
    assert "reminded reminded_at=2025-03-05T04:00:00-05:00" in table


def test_a_customer_reply_to_a_closed_ticket_logs_one_reopening(desk):
    code = desk.create("alpha")
    desk.tix("close", code, as_="hosting_agent")
    desk.tix("reply", code, "-m", "Broken again.", as_="alpha")
    events = json.loads(desk.tix("show", code, "--history", "--format", "json").stdout)["events"]
    assert [(e["kind"], e["before"], e["after"]) for e in events[-2:]] == [
        ("closed", {"status": "open"}, {"reason": "agent", "status": "closed"}),
        ("reopened", {"status": "closed"}, {"status": "open"}),
    ]
