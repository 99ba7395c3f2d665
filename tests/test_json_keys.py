"""The JSON keys docs/cli.md promises are the keys every command prints, and the CSV header of
a listing is the same with rows and without."""

import csv
import io
import json
import re
from pathlib import Path

import deskdb
import pytest
from click.testing import CliRunner
from jobs_support import jobs
from tix.jobs.cli import cli as jobs_cli

from tix import store
from tix.service import shapes

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def documented_keys() -> dict[str, list[str]]:
    """The 'command | JSON keys' table of docs/cli.md: first cell -> keys in backticks."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("| command | JSON keys |", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[1:]:
        command, keys = [cell.strip() for cell in line.strip("|").split("|")]
        keys = keys.replace("the ticket's keys", " ".join(f"`{k}`" for k in shapes.TICKET))
        keys, _, with_history = keys.partition("; with `--history` also")
        rows[command] = re.findall(r"`([a-z_]+)`", keys)
        if with_history:
            rows[command + " --history"] = rows[command] + re.findall(r"`([a-z_]+)`", with_history)
    return rows


def keys_of(rows) -> list[str]:
    assert rows, "the command printed nothing to compare"
    assert all(list(row) == list(rows[0]) for row in rows)
    return list(rows[0])


def test_every_documented_command_prints_exactly_its_keys(desk):
    doc = documented_keys()
    code = desk.create("alpha", "Site down", "hosting", "high", "It is down since 10:00.")
    desk.tix("reply", code, "-m", "Looking at it.", as_="hosting_agent")
    desk.tix("reply", code, "--internal", "-m", "php-fpm restarted", as_="hosting_agent")
    desk.tix("template", "add", "thanks", "-m", "Thanks, {customer}.", as_="hosting_agent")
    attachment = Path("log.txt")
    attachment.write_text("error 500\n")
    desk.tix("reply", code, "-m", "Log attached.", "--attach", str(attachment), as_="alpha")

    def run(*args, as_="hosting_agent"):
        return json.loads(desk.tix(*args, "--format", "json", as_=as_).stdout)

    created = run(
        "create", "-d", "hosting", "-s", "Mail down", "-m", "No mail.", "--yes", as_="alpha"
    )
    shown = run("show", code, "--history")
    account = run("admin", "account", "show", "alpha", as_="admin")
    with deskdb.opened(desk.url):
        from tix import clock, tickets
        from tix.diagnosis import Diagnosis, Result
        from tix.models import Ticket

        found = Diagnosis([Result("dns.a", "alpha.test", "ok", {"A": ["192.0.2.1"]})], [], 0.1, 0)
        with store.transaction():
            tickets.save_diagnosis(Ticket.get(Ticket.code == code), found, clock.now())
    diagnosed = run("show", code)
    forged = (  # a reply nothing proves is Olga's: held, and listed for agents
        f"From: owner@alpha.test\nTo: support@tix.test\nSubject: Re: [{code}] Site down\n"
        "Message-ID: <held-1@alpha.test>\n\nSend me the password.\n"
    )
    held = CliRunner().invoke(
        jobs_cli, ["mail-in"], input=forged, env={"TIX_DATABASE_URL": desk.url}
    )
    assert held.stdout.startswith("held: "), held.output
    held = run("show", code)["held"]
    seen = {
        "`tix list`, `tix search TEXT`, `tix next` (each ticket)": [
            keys_of(run("list")),
            keys_of(run("search", "down")),
            list(run("next")),
        ],
        "`tix create`": [list(created)],
        "`tix show CODE`": [list(run("show", code))],
        "`tix show CODE` --history": [list(shown)],
        "`tix show CODE`: each of `messages`": [keys_of(shown["messages"])],
        "`tix show CODE`: each of `attachments`": [keys_of(shown["attachments"])],
        "`tix show CODE --history`: each of `events`": [keys_of(shown["events"])],
        "`tix show CODE` (agents): each of `held` (email mail-in keeps unfiled, docs/mail-in.md)": [
            keys_of(held)
        ],
        "`tix show CODE`, `tix create`, `tix diagnose CODE`: `diagnosis` (or `null`: not checked)": [
            list(diagnosed["diagnosis"])
        ],
        "`tix whoami`": [list(run("whoami", as_="alpha"))],
        "`tix db status` (each migration)": [keys_of(run("db", "status"))],
        "`tix template list` (each), `tix template show NAME`": [
            keys_of(run("template", "list")),
            list(run("template", "show", "thanks")),
        ],
        "`tix admin department list` (each)": [
            keys_of(run("admin", "department", "list", as_="admin"))
        ],
        "`tix sla` (each department and priority)": [keys_of(run("sla"))],
        "`tix admin agent list` (each), `tix admin agent show EMAIL`": [
            keys_of(run("admin", "agent", "list", as_="admin")),
            list(run("admin", "agent", "show", "hosting@host.test", as_="admin")),
        ],
        "`tix admin account list` (each)": [keys_of(run("admin", "account", "list", as_="admin"))],
        "`tix admin account show HANDLE`": [list(account)],
        "`tix admin contact list` (each), `tix admin contact show EMAIL`, "
        "`tix admin account show HANDLE`: each of `contacts`": [
            keys_of(run("admin", "contact", "list", as_="admin")),
            list(run("admin", "contact", "show", "dev@alpha.test", as_="admin")),
            keys_of(account["contacts"]),
        ],
        "`tix admin service list` (each), `tix admin service show HANDLE NAME`, "
        "`tix admin account show HANDLE`: each of `services`": [
            keys_of(run("admin", "service", "list", as_="admin")),
            list(run("admin", "service", "show", "alpha", "alpha.test", as_="admin")),
            keys_of(account["services"]),
        ],
        "`tix-jobs outbox` (each email)": [
            keys_of(json.loads(jobs(desk.url, "outbox", "--format", "json").stdout))
        ],
    }
    assert set(seen) == set(doc), "every row of the docs table is checked, and only those"
    for command, printed in seen.items():
        for keys in printed:
            assert keys == doc[command], command


def csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(
    "listing",
    [
        ("list",),
        ("search", "WORD"),
        ("template", "list"),
        ("admin", "department", "list"),
    ],
)
def test_csv_header_is_the_same_with_and_without_rows(desk, listing):
    args = [a.replace("WORD", "nothingmatchesthis") for a in listing]
    empty = None
    if listing[0] in ("list", "search"):
        empty = desk.tix(*args, "--format", "csv", "--status", "closed", as_="hosting_agent").stdout
    if empty is None:
        # Listings without filters: compare with the shape's keys, which the full listing uses.
        full = desk.tix(*args, "--format", "csv", as_="admin").stdout
        assert csv_header(full) == list(
            {"template": shapes.TEMPLATE, "admin": shapes.DEPARTMENT}[listing[0]]
        )
        return
    desk.create("alpha", "Site down nothingmatchesthis")
    full = desk.tix(*args, "--format", "csv", as_="hosting_agent").stdout
    assert len(full.splitlines()) == 2
    assert csv_header(empty) == csv_header(full) == list(shapes.TICKET)


def test_outbox_csv_header_is_the_same_with_and_without_rows(desk):
    empty = jobs(desk.url, "outbox", "--format", "csv", "--status", "dead").stdout
    desk.create("alpha")
    full = jobs(desk.url, "outbox", "--format", "csv").stdout
    assert len(full.splitlines()) > 1
    assert csv_header(empty) == csv_header(full) == list(shapes.OUTBOX)
