"""Every `tix` command and option as a script or a person uses it: output formats and their
documented keys, filters, sorting, bodies from stdin, attachments, identity (init, login,
whoami), the store commands, and the exit code and one-line message of each kind of bad input."""

import csv
import io
import json
import re
import stat
import time
from datetime import datetime, timedelta

import deskdb
import pytest
from freezegun import freeze_time

from tix import codes, migrations, store

T0 = datetime(2025, 1, 15, 9, 0, 0)
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
TICKET_KEYS = {
    "code",
    "subject",
    "status",
    "priority",
    "department",
    "account",
    "assignee",
    "created_at",
    "updated_at",
}
MESSAGE_KEYS = {"author", "body", "internal", "created_at"}
# Parsing, validation before any transaction, keyrings: the database plays no part.
BACKEND_AGNOSTIC = pytest.mark.sqlite_only


@pytest.fixture
def frozen():
    with freeze_time(T0) as frozen_time:
        yield frozen_time


def as_json(result):
    return json.loads(result.stdout)


def as_csv(result):
    return list(csv.DictReader(io.StringIO(result.stdout)))


def bad_input(desk, *args, as_="admin", expect=2, message="", input=None):
    """A refused command: its exit code, one line `tix: error: ...` (or click's usage error),
    nothing on stdout, and nothing written."""
    before = deskdb.dump(desk.url)
    result = desk.tix(*args, as_=as_, expect=expect, input=input)
    assert result.stdout == "", result.stdout
    assert message in result.stderr, result.stderr
    assert deskdb.dump(desk.url) == before, f"tix {' '.join(args)} was refused but wrote something"
    return result


# -- output formats and their keys -----------------------------------------------------------


def test_create_list_and_show_give_the_documented_json_keys(desk, frozen):
    created = as_json(
        desk.tix(
            "create",
            "-d",
            "hosting",
            "-p",
            "high",
            "-s",
            "Web down",
            "-m",
            "Since 9:00.",
            "--format",
            "json",
            as_="alpha",
        )
    )
    assert set(created) >= TICKET_KEYS
    assert codes.SHAPE.match(created["code"])
    assert (
        created["subject"],
        created["status"],
        created["priority"],
        created["department"],
        created["account"],
        created["assignee"],
    ) == ("Web down", "open", "high", "hosting", "alpha", None)
    assert created["created_at"] == created["updated_at"] == "2025-01-15T09:00:00+00:00"

    listed = as_json(desk.tix("list", "--format", "json", as_="alpha"))
    assert isinstance(listed, list) and len(listed) == 1
    assert {k: listed[0][k] for k in TICKET_KEYS} == {k: created[k] for k in TICKET_KEYS}

    frozen.tick(timedelta(minutes=5))
    desk.tix("reassign", created["code"], "--agent", "hosting@host.test")
    desk.tix("reply", created["code"], "-m", "Restarted.", as_="hosting_agent")
    shown = as_json(desk.tix("show", created["code"], "--format", "json", as_="alpha"))
    assert set(shown) >= TICKET_KEYS and "events" not in shown
    assert shown["assignee"] == "hosting@host.test" and shown["status"] == "answered"
    assert shown["updated_at"] == "2025-01-15T09:05:00+00:00"
    assert [set(m) >= MESSAGE_KEYS for m in shown["messages"]] == [True, True]
    assert [(m["author"], m["body"], m["internal"]) for m in shown["messages"]] == [
        ("owner@alpha.test", "Since 9:00.", False),
        ("hosting@host.test", "Restarted.", False),
    ]
    assert all(ISO_WITH_OFFSET.match(m["created_at"]) for m in shown["messages"])

    history = as_json(
        desk.tix("show", created["code"], "--history", "--format", "json", as_="alpha")
    )
    assert [e["kind"] for e in history["events"]] == ["created", "reassigned", "agent-reply"]
    assert history["events"][2]["before"] == {"status": "open"}
    assert history["events"][2]["after"] == {"status": "answered"}
    assert all(ISO_WITH_OFFSET.match(e["at"]) for e in history["events"])


def test_csv_has_the_same_keys_as_json(desk, frozen):
    code = desk.create("alpha", 'Mail, "quoted" bounce')
    rows = as_csv(desk.tix("list", "--format", "csv", as_="alpha"))
    assert len(rows) == 1 and set(rows[0]) >= TICKET_KEYS
    assert rows[0]["code"] == code and rows[0]["subject"] == 'Mail, "quoted" bounce'
    shown = as_csv(desk.tix("show", code, "--format", "csv", as_="alpha"))
    assert len(shown) == 1 and set(shown[0]) >= TICKET_KEYS
    # An empty list has the very same header, so a script's parser does not change shape.
    empty = desk.tix("list", "--format", "csv", "--status", "on-hold", as_="alpha").stdout
    assert (
        empty.splitlines()[0]
        == desk.tix("list", "--format", "csv", as_="alpha").stdout.splitlines()[0]
    )
    assert as_json(desk.tix("list", "--format", "json", "--status", "on-hold", as_="alpha")) == []


@BACKEND_AGNOSTIC
def test_table_output_for_people(desk, frozen):
    code = desk.create("alpha", "Web down")
    listing = desk.tix("list", as_="alpha").stdout
    assert code in listing and "Web down" in listing and "code" in listing.splitlines()[0]
    shown = desk.tix("show", code, as_="alpha").stdout
    assert shown.startswith(f"{code}  Web down\n") and "It is down." in shown
    assert "Alojamiento" in shown  # alpha's owner reads Spanish department names
    assert "Hosting" in desk.tix("show", code, as_="hosting_agent").stdout
    assert desk.tix("list", "--status", "on-hold", as_="alpha").stdout == "(none)\n"


@BACKEND_AGNOSTIC
def test_times_are_shown_in_the_users_zone_with_offset(desk, frozen, monkeypatch):
    code = desk.create("alpha")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        shown = as_json(desk.tix("show", code, "--format", "json", as_="alpha"))
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
    assert shown["created_at"] == "2025-01-15T04:00:00-05:00"


def test_internal_notes_never_reach_customers_in_any_format(desk, frozen, tmp_path):
    code = desk.create("alpha", "Web down")
    notes = tmp_path / "ssh-notes.txt"
    notes.write_text("root password hint")
    desk.tix(
        "reply",
        code,
        "--internal",
        "-m",
        "SECRET-NOTE: customer's PHP is ancient",
        "--attach",
        str(notes),
        as_="hosting_agent",
    )
    desk.tix("reply", code, "-m", "Public answer", as_="hosting_agent")
    for who in ("alpha", "alpha_dev", "alpha_quiet"):
        for args in (["show", code], ["show", code, "--history"]):
            for fmt in ("table", "json", "csv"):
                out = desk.tix(*args, "--format", fmt, as_=who).stdout
                assert "Public answer" in out or fmt == "csv"
                assert (
                    "SECRET-NOTE" not in out
                    and "ssh-notes" not in out
                    and "note" not in out.lower()
                ), (args, fmt)
        for fmt in ("table", "json", "csv"):
            out = desk.tix("list", "--format", fmt, as_=who).stdout
            assert "SECRET-NOTE" not in out
        shown = as_json(desk.tix("show", code, "--history", "--format", "json", as_=who))
        assert [m["internal"] for m in shown["messages"]] == [False, False]
        assert shown["attachments"] == []
        assert [e["kind"] for e in shown["events"]] == ["created", "agent-reply"]
    # The attachment of the note: "no such attachment", the same as an id that does not exist.
    agent_view = as_json(desk.tix("show", code, "--format", "json", as_="hosting_agent"))
    note_attachment = agent_view["attachments"][0]["id"]
    hidden = desk.tix(
        "attachment", "get", code, str(note_attachment), "-o", "-", as_="alpha", expect=3
    )
    missing = desk.tix("attachment", "get", code, "999", "-o", "-", as_="alpha", expect=3)
    assert hidden.stderr == f"tix: error: ticket {code} has no attachment {note_attachment}\n"
    assert missing.stderr == f"tix: error: ticket {code} has no attachment 999\n"
    assert hidden.stdout == ""
    # No email carries the note.
    assert not any("SECRET-NOTE" in row.raw for row in deskdb.outbox(desk.url))
    # Agents see it, flagged internal.
    assert [m["internal"] for m in agent_view["messages"]] == [False, True, False]
    assert "[internal note]" in desk.tix("show", code, as_="hosting_agent").stdout


def test_a_customers_text_cannot_drive_the_agents_terminal(desk, tmp_path):
    """Escape sequences in a body or a file name (clear the screen, retitle the window, hide a
    line with a carriage return) are shown as visible text in the table view, and kept exactly
    in JSON."""
    body = "Hello\x1b[2J\x1b]0;pwned\x07 agent\rHIDDEN\x9b31m\nbye\r\n"
    evil = tmp_path / "log\x1b[8m.txt"
    evil.write_text("x")
    code = desk.create("alpha", "Escapes", "hosting", "low", body, "--attach", str(evil))
    shown = desk.tix("show", code, as_="hosting_agent").stdout
    assert not any(ch in shown for ch in "\x1b\x07\r\x9b")
    assert "\\x1b[2J" in shown and "bye" in shown and "HIDDEN" in shown
    as_data = as_json(desk.tix("show", code, "--format", "json", as_="hosting_agent"))
    assert as_data["messages"][0]["body"] == body.rstrip("\n")
    assert as_data["attachments"][0]["filename"] == "log\x1b[8m.txt"


# -- --quiet and codes -----------------------------------------------------------------------


@BACKEND_AGNOSTIC
def test_quiet_prints_only_the_code_or_the_token(desk):
    result = desk.tix("create", "-d", "hosting", "-s", "x", "-m", "y", "--quiet", as_="alpha")
    assert codes.SHAPE.match(result.stdout.strip()) and result.stdout.count("\n") == 1
    token = desk.tix("admin", "token", "issue", "owner@beta.test", "--quiet").stdout
    assert re.fullmatch(r"tix_[\w-]+\n", token)
    loud = desk.tix("admin", "token", "issue", "owner@beta.test").stdout
    assert "shown once" in loud


@BACKEND_AGNOSTIC
def test_codes_are_typed_case_insensitively(desk):
    code = desk.create("alpha")
    typo = code.replace("0", "O").replace("1", "l")
    for typed in (code.lower(), code.replace("-", ""), f" {code.lower()} ", typo.lower()):
        assert as_json(desk.tix("show", typed, "--format", "json", as_="alpha"))["code"] == code
    desk.tix("reply", code.lower(), "-m", "more", as_="alpha")
    bad_input(desk, "show", "not-a-code", as_="alpha", expect=3, message="no ticket")


# -- list: filters, sorting, --since, --limit ------------------------------------------------


@pytest.fixture
def four_tickets(desk, frozen):
    """Four alpha tickets an hour apart: low, emergency (billing), medium, emergency."""
    made = []
    for priority, department in (
        ("low", "hosting"),
        ("emergency", "billing"),
        ("medium", "hosting"),
        ("emergency", "hosting"),
    ):
        made.append(desk.create("alpha", f"{priority} {department}", department, priority))
        frozen.tick(timedelta(hours=1))
    return made


def listed(desk, *args, as_="admin"):
    return [row["code"] for row in as_json(desk.tix("list", "--format", "json", *args, as_=as_))]


def test_agents_get_priority_then_age_and_customers_newest_first(desk, four_tickets):
    low, emergency_old, medium, emergency_new = four_tickets
    assert listed(desk, as_="hosting_agent") == [emergency_old, emergency_new, medium, low]
    assert listed(desk, as_="alpha") == [emergency_new, medium, emergency_old, low]


def test_list_filters(desk, four_tickets):
    low, emergency_old, medium, emergency_new = four_tickets
    desk.tix("close", low, as_="alpha")
    desk.tix("reassign", medium, "--agent", "hosting@host.test", as_="hosting_agent")
    desk.tix("reply", emergency_new, "-m", "on it", as_="hosting_agent")
    assert listed(desk) == [emergency_old, emergency_new, medium]  # closed left out
    assert listed(desk, "--all") == [emergency_old, emergency_new, medium, low]
    assert listed(desk, "--status", "closed") == [low]
    assert listed(desk, "--status", "open", "--status", "answered") == [
        emergency_old,
        emergency_new,
        medium,
    ]
    assert listed(desk, "--status", "answered") == [emergency_new]
    assert listed(desk, "--department", "billing") == [emergency_old]
    assert listed(desk, "--department", "HOSTING") == [emergency_new, medium]
    assert listed(desk, "--priority", "emergency") == [emergency_old, emergency_new]
    assert listed(desk, "--assignee", "me", as_="hosting_agent") == [medium]
    assert listed(desk, "--assignee", "hosting@host.test") == [medium]
    assert listed(desk, "--assignee", "none") == [emergency_old, emergency_new]
    assert listed(desk, "--account", "alpha") == [emergency_old, emergency_new, medium]
    assert listed(desk, "--account", "beta") == []


def test_since_takes_durations_and_dates(desk, four_tickets, frozen):
    low, emergency_old, medium, emergency_new = four_tickets  # created 09:00, 10:00, 11:00, 12:00
    frozen.move_to(datetime(2025, 1, 15, 13, 30))
    assert listed(desk, "--since", "2h") == [emergency_new]
    assert listed(desk, "--since", "3h") == [emergency_new, medium]
    assert listed(desk, "--since", "1h30m", as_="alpha") == [emergency_new]
    assert listed(desk, "--since", "2d") == [emergency_old, emergency_new, medium, low]
    assert listed(desk, "--since", "2025-01-15 10:00") == [emergency_old, emergency_new, medium]
    assert listed(desk, "--since", "2025-01-15T11:00:00+00:00") == [emergency_new, medium]
    assert listed(desk, "--since", "2025-01-15T12:00:00+01:00") == [emergency_new, medium]
    assert listed(desk, "--since", "2025-01-16") == []


@BACKEND_AGNOSTIC
def test_bad_since_values_exit_2(desk):
    for value in (
        "yesterday-ish",
        "0d",
        "-2d",
        "2x",
        "2025-13-01",
        "99999",
        "",
        "999999w",
        "999999999d",
    ):
        result = desk.tix("list", "--since", value, expect=2)
        assert "--since" in result.stderr and result.stdout == "", value


@BACKEND_AGNOSTIC
def test_since_far_in_the_past_in_a_zone_east_of_utc_exits_2_not_1(desk, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        result = desk.tix("list", "--since", "0001-01-01", expect=None)
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()
    assert result.exit_code == 2, result.stderr
    assert "--since" in result.stderr


def test_limit(desk, four_tickets):
    low, emergency_old, medium, emergency_new = four_tickets
    assert listed(desk, "--limit", "2") == [emergency_old, emergency_new]
    assert listed(desk, "--limit", "1", as_="alpha") == [emergency_new]
    # 0 is all of them; beyond the range is bad input (exit 2), not a store or internal error.
    assert listed(desk, "--limit", "0") == [emergency_old, emergency_new, medium, low]
    for value in ("-1", "two", "9" * 20, "1000000001"):
        bad_input(desk, "list", "--limit", value, message="limit")


@BACKEND_AGNOSTIC
def test_bad_list_filters_exit_2(desk):
    bad_input(desk, "list", "--status", "pending", message="unknown status")
    bad_input(desk, "list", "--department", "plumbing", message="unknown department")
    bad_input(desk, "list", "--priority", "urgent", message="unknown priority")
    bad_input(desk, "list", "--format", "xml", message="--format")
    bad_input(desk, "list", "--bogus", message="No such option")


# -- create and reply: options, bodies and bad input -----------------------------------------


def test_create_with_service_and_account(desk):
    code = desk.create("alpha", "DNS", "domains", "low", "records", "--service", "alpha.test")
    shown = as_json(desk.tix("show", code, "--format", "json", as_="alpha"))
    assert shown["service"] == "alpha.test"
    code = desk.create("alpha", "DNS", "domains", "low", "records", "--service", "Alpha.TEST")
    assert (
        as_json(desk.tix("show", code, "--format", "json", as_="alpha"))["service"] == "alpha.test"
    )
    code = desk.create("hosting_agent", "Renewal", "billing", "low", "due", "--account", "BETA")
    shown = as_json(desk.tix("show", code, "--format", "json", as_="beta"))
    assert shown["account"] == "beta" and shown["messages"][0]["author"] == "hosting@host.test"
    assert shown["contact"] == "owner@beta.test"


def test_create_bad_input_exits_2_and_writes_nothing(desk):
    base = ["create", "-d", "hosting", "-s", "Subject", "-m", "Body"]
    bad_input(desk, "create", "-s", "x", "-m", "y", as_="alpha", message="--department")
    bad_input(desk, "create", "-d", "hosting", "-m", "y", as_="alpha", message="--subject")
    bad_input(
        desk,
        "create",
        "-d",
        "plumbing",
        "-s",
        "x",
        "-m",
        "y",
        as_="alpha",
        message="unknown department",
    )
    bad_input(desk, *base, "-p", "urgent", as_="alpha", message="--priority")
    bad_input(
        desk,
        "create",
        "-d",
        "hosting",
        "-s",
        "  ",
        "-m",
        "y",
        as_="alpha",
        message="subject is empty",
    )
    bad_input(
        desk, "create", "-d", "hosting", "-s", "x" * 201, "-m", "y", as_="alpha", message="longer"
    )
    bad_input(
        desk,
        "create",
        "-d",
        "hosting",
        "-s",
        "two\nlines",
        "-m",
        "y",
        as_="alpha",
        message="one line",
    )
    bad_input(desk, "create", "-d", "hosting", "-s", "x", "-m", " \n", as_="alpha", message="empty")
    bad_input(
        desk, "create", "-d", "hosting", "-s", "x", "-m", "nul\x00", as_="alpha", message="NUL"
    )
    bad_input(
        desk,
        "create",
        "-d",
        "hosting",
        "-s",
        "x",
        "-m",
        "b" * 100_001,
        as_="alpha",
        message="longer",
    )
    bad_input(desk, *base, "--service", "nope.test", as_="alpha", message="no service")
    bad_input(desk, *base, as_="hosting_agent", message="--account")
    bad_input(
        desk, *base, "--account", "nosuch", as_="hosting_agent", expect=3, message="no account"
    )


@BACKEND_AGNOSTIC
def test_arguments_that_are_not_valid_text_exit_2(desk):
    # What Python makes of undecodable bytes in argv (surrogate escapes).
    code = desk.create("alpha")
    bad_input(
        desk, "create", "-d", "hosting", "-s", "x", "-m", "caf\udce9", as_="alpha", message="UTF-8"
    )
    bad_input(
        desk, "create", "-d", "hosting", "-s", "caf\udce9", "-m", "x", as_="alpha", message="UTF-8"
    )
    bad_input(desk, "reply", code, "-m", "caf\udce9", as_="alpha", message="UTF-8")


def test_bodies_come_from_stdin(desk):
    created = desk.tix(
        "create",
        "-d",
        "hosting",
        "-s",
        "From a script",
        "--quiet",
        as_="alpha",
        input="Line one\nLínea dos ✓\n",
    )
    code = created.stdout.strip()
    desk.tix("reply", code, as_="hosting_agent", input="Answer from stdin\n")
    desk.tix("close", code, as_="alpha")
    desk.tix("reopen", code, as_="alpha", input="")  # the reason is optional
    desk.tix("reply", code, "--internal", as_="hosting_agent", input="note from stdin")
    messages = as_json(desk.tix("show", code, "--format", "json"))["messages"]
    assert [m["body"] for m in messages] == [
        "Line one\nLínea dos ✓",
        "Answer from stdin",
        "note from stdin",
    ]


@BACKEND_AGNOSTIC
def test_bad_stdin_bodies_exit_2_and_write_nothing(desk):
    code = desk.create("alpha")
    create = ["create", "-d", "hosting", "-s", "x"]
    bad_input(desk, *create, as_="alpha", input=b"caf\xe9 latin-1\n", message="UTF-8")
    bad_input(desk, "reply", code, as_="alpha", input=b"\xff\xfe", message="UTF-8")
    bad_input(desk, *create, as_="alpha", input="", message="empty")
    bad_input(desk, "reply", code, as_="alpha", input="\n  \n", message="empty")
    bad_input(desk, *create, as_="alpha", input="x" * 100_001, message="longer")
    bad_input(desk, "reply", code, as_="alpha", input=b"y" * (9 * 1024 * 1024), message="too large")


# -- attachments -----------------------------------------------------------------------------


def test_attachments_are_stored_listed_and_fetched(desk, tmp_path, monkeypatch):
    shot = tmp_path / "screenshot.png"
    shot.write_bytes(b"\x89PNG\r\n" + bytes(range(256)) * 10)
    log = tmp_path / "error.log"
    log.write_text("PHP Fatal error\n")
    code = desk.create(
        "alpha",
        "Broken",
        "hosting",
        "high",
        "see files",
        "--attach",
        str(shot),
        "--attach",
        str(log),
    )
    desk.tix("reply", code, "-m", "and this", "--attach", str(log), as_="alpha_dev")
    shown = as_json(desk.tix("show", code, "--format", "json", as_="alpha"))
    assert [(a["filename"], a["size"]) for a in shown["attachments"]] == [
        ("screenshot.png", shot.stat().st_size),
        ("error.log", 16),
        ("error.log", 16),
    ]
    assert shown["attachments"][0]["content_type"] == "image/png"
    first = shown["attachments"][0]["id"]
    assert "screenshot.png" in desk.tix("show", code, as_="alpha").stdout

    # -o FILE, -o - (stdout), and the attachment's own name in the current folder.
    target = tmp_path / "out" / "copy.png"
    target.parent.mkdir()
    desk.tix("attachment", "get", code.lower(), str(first), "-o", str(target), as_="hosting_agent")
    assert target.read_bytes() == shot.read_bytes()
    piped = desk.tix("attachment", "get", code, str(first), "-o", "-", as_="alpha")
    assert piped.stdout_bytes == shot.read_bytes()
    monkeypatch.chdir(target.parent)
    saved = desk.tix("attachment", "get", code, str(first), as_="alpha_dev")
    assert (
        "screenshot.png" in saved.stdout
        and (target.parent / "screenshot.png").read_bytes() == shot.read_bytes()
    )
    refused = desk.tix("attachment", "get", code, str(first), as_="alpha_dev", expect=2)
    assert "exists" in refused.stderr
    desk.tix("attachment", "get", code, "999", "-o", "-", as_="alpha", expect=3)
    desk.tix("attachment", "get", code, "one", as_="alpha", expect=2)
    # Someone else's ticket: not found, like any other command.
    desk.tix("attachment", "get", code, str(first), "-o", "-", as_="beta", expect=3)


@BACKEND_AGNOSTIC
def test_attachment_size_limit(desk, tmp_path, monkeypatch):
    code = desk.create("alpha")
    just_over = tmp_path / "huge.bin"
    with open(just_over, "wb") as handle:  # sparse: 10 MiB + 1 byte, nothing really written
        handle.truncate(10 * 1024 * 1024 + 1)
    bad_input(
        desk, "reply", code, "-m", "x", "--attach", str(just_over), as_="alpha", message="limit"
    )
    bad_input(
        desk,
        "create",
        "-d",
        "hosting",
        "-s",
        "x",
        "-m",
        "y",
        "--attach",
        str(just_over),
        as_="alpha",
        message="limit",
    )
    monkeypatch.setenv("TIX_ATTACHMENT_MAX_BYTES", "100")
    exact = tmp_path / "exact.txt"
    exact.write_bytes(b"a" * 100)
    over = tmp_path / "over.txt"
    over.write_bytes(b"a" * 101)
    desk.tix("reply", code, "-m", "x", "--attach", str(exact), as_="alpha")
    bad_input(
        desk, "reply", code, "-m", "x", "--attach", str(over), as_="alpha", message="limit is 100"
    )
    bad_input(
        desk,
        "reply",
        code,
        "-m",
        "x",
        "--attach",
        str(tmp_path / "missing.txt"),
        as_="alpha",
        message="cannot read",
    )
    monkeypatch.setenv("TIX_ATTACHMENT_MAX_BYTES", "lots")
    bad_input(
        desk,
        "reply",
        code,
        "-m",
        "x",
        "--attach",
        str(exact),
        as_="alpha",
        message="TIX_ATTACHMENT_MAX_BYTES",
    )


# -- identity: init, login, whoami -----------------------------------------------------------


@pytest.fixture
def fresh_url(backend, tmp_path, request):
    """A store URL with nothing in it yet (no file / an empty PostgreSQL database)."""
    if backend == "sqlite":
        (tmp_path / "new").mkdir()  # tix creates a store's file, not the folders a URL names
        return f"sqlite:///{tmp_path / 'new' / 'tix.db'}"
    from conftest import pg_url

    return pg_url(request.getfixturevalue("empty_pg_database"))


def run(runner, *args, url, token=None, input=None):
    from tix.cli import cli

    env = {"TIX_DATABASE_URL": url, "TIX_TOKEN": token}
    return runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def test_init_creates_the_store_and_saves_the_admins_token(runner, fresh_url):
    result = run(
        runner, "init", "--admin-email", "Boss@Example.test", "--admin-name", "Boss", url=fresh_url
    )
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("tix_") and result.stdout.count(token) == 1
    assert "saved in keyring" in result.stdout
    who = run(runner, "whoami", "--format", "json", url=fresh_url)  # no TIX_TOKEN: the keyring
    assert as_json(who) == {
        "email": "boss@example.test",
        "name": "Boss",
        "role": "admin",
        "account": None,
    }
    departments = run(runner, "admin", "department", "list", "--format", "json", url=fresh_url)
    assert [d["slug"] for d in as_json(departments)] == [
        "hosting",
        "email",
        "domains",
        "billing",
        "sales",
        "administration",
    ]
    before = deskdb.dump(fresh_url)
    again = run(runner, "init", url=fresh_url)
    assert again.exit_code == 4 and "already has an admin" in again.stderr
    assert deskdb.dump(fresh_url) == before


def test_init_refuses_bad_input(runner, tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run(runner, "init", "--admin-email", "not an email", url=url)
    assert result.exit_code == 2 and "not an email address" in result.stderr
    result = run(runner, "init", "--admin-name", "", url=url)
    assert result.exit_code == 2


def keyring_password(url):
    import keyring

    return keyring.get_password("tix", store.mask_url(url))


@BACKEND_AGNOSTIC
def test_login_saves_the_token_in_the_keyring(desk, tmp_path):
    token = desk.tokens["alpha_dev"]
    result = desk.tix("login", "--token", token, as_=None)
    assert result.stdout.strip() == "logged in as dev@alpha.test (customer); token saved in keyring"
    assert keyring_password(desk.url) == token
    assert (tmp_path / "data" / "python_keyring").is_dir()  # the real (file) keyring backend
    who = desk.tix("whoami", as_=None).stdout
    assert who.strip() == "Dev Alpha <dev@alpha.test>, customer of account alpha"
    # From stdin, the way a script passes it.
    desk.tix("login", as_=None, input=desk.tokens["resel"] + "\n")
    assert as_json(desk.tix("whoami", "--format", "json", as_=None)) == {
        "email": "owner@resel.test",
        "name": "Resel Hosting",
        "role": "reseller",
        "account": "resel",
    }
    # TIX_TOKEN beats the keyring.
    assert "hosting@host.test" in desk.tix("whoami", as_="hosting_agent").stdout
    desk.tix("logout", as_=None)
    assert keyring_password(desk.url) is None
    assert "not logged in" in desk.tix("whoami", as_=None, expect=4).stderr


@BACKEND_AGNOSTIC
def test_login_refuses_a_bad_or_revoked_token_and_keeps_the_old_one(desk):
    desk.tix("login", "--token", desk.tokens["alpha"], as_=None)
    desk.tix("admin", "token", "revoke", "owner@beta.test")
    for token in (desk.tokens["beta"], "tix_nonsense", ""):
        result = desk.tix("login", "--token", token, as_=None, expect=4)
        assert "token not valid" in result.stderr
        assert keyring_password(desk.url) == desk.tokens["alpha"]


@pytest.fixture
def no_keyring(monkeypatch):
    """A headless machine: keyring's own `fail` backend, as keyring picks it from the env."""
    import keyring.core

    from tix import credentials

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # re-detected from the env
    monkeypatch.setattr(credentials, "_warned_no_keyring", False)  # a fresh process each command


@BACKEND_AGNOSTIC
def test_without_a_keyring_the_token_goes_to_a_private_file_with_one_warning(
    desk, tmp_path, no_keyring
):
    result = desk.tix("login", "--token", desk.tokens["beta"], as_=None)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "no OS keyring" in warnings[0]
    credentials = tmp_path / "config" / "tix" / "credentials.json"
    assert str(credentials) in result.stdout
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert json.loads(credentials.read_text()) == {store.mask_url(desk.url): desk.tokens["beta"]}
    who = desk.tix("whoami", as_=None)
    assert "owner@beta.test" in who.stdout and who.stderr == ""  # reading does not warn again
    desk.tix("logout", as_=None)
    assert "not logged in" in desk.tix("whoami", as_=None, expect=4).stderr


def test_init_without_a_keyring_warns_once(runner, tmp_path, no_keyring):
    url = f"sqlite:///{tmp_path / 'headless.db'}"
    result = run(runner, "init", url=url)
    assert result.exit_code == 0
    assert result.stderr.count("warning:") == 1
    credentials = tmp_path / "config" / "tix" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600


@BACKEND_AGNOSTIC
def test_whoami_for_each_role(desk):
    roles = {
        "admin": "admin",
        "hosting_agent": "agent",
        "alpha": "customer",
        "resel": "reseller",
        "client": "customer",
    }
    for who, role in roles.items():
        assert as_json(desk.tix("whoami", "--format", "json", as_=who))["role"] == role
    assert as_json(desk.tix("whoami", "--format", "json", as_="client"))["account"] == "client"


# -- the store -------------------------------------------------------------------------------


def test_db_path(runner, tmp_path, monkeypatch):
    from tix.cli import cli

    default = runner.invoke(cli, ["db", "path"])
    assert default.stdout.strip() == f"sqlite:///{tmp_path / 'data' / 'tix' / 'tix.db'}"
    monkeypatch.setenv("TIX_DATABASE_URL", "postgresql://tix:hunter2@db.example:5432/tix")
    from_env = runner.invoke(cli, ["db", "path"])
    assert from_env.stdout.strip() == "postgresql://tix:***@db.example:5432/tix"
    option = runner.invoke(cli, ["--db", "sqlite:////srv/tix.db", "db", "path"])
    assert option.stdout.strip() == "sqlite:////srv/tix.db"


def test_db_upgrade_and_status(runner, fresh_url):
    names = [
        f"{v:04d}_{n}"
        for v, n, _ in migrations.available_migrations(
            "sqlite" if fresh_url.startswith("sqlite") else "postgresql"
        )
    ]
    pending = as_json(run(runner, "db", "status", "--format", "json", url=fresh_url))
    assert [(r["version"], r["applied_at"]) for r in pending] == [
        (int(n[:4]), "pending") for n in names
    ]
    first = run(runner, "db", "upgrade", url=fresh_url)
    assert first.exit_code == 0 and first.stdout.splitlines() == [f"applied {n}" for n in names]
    second = run(runner, "db", "upgrade", url=fresh_url)
    assert second.stdout == "already up to date\n"
    status = as_json(run(runner, "db", "status", "--format", "json", url=fresh_url))
    assert [f"{r['version']:04d}_{r['name']}" for r in status] == names
    assert all(ISO_WITH_OFFSET.match(r["applied_at"]) for r in status)


def test_commands_refuse_a_store_that_is_not_set_up(runner, fresh_url):
    result = run(runner, "list", url=fresh_url, token="tix_whatever")
    assert result.exit_code == 1 and "run `tix init`" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["whoami"],
        ["db", "status"],
        ["db", "upgrade"],
        ["init"],
        ["show", "ABCD-EFGH"],
        ["login", "--token", "tix_x"],
    ],
)
def test_an_unreachable_store_exits_1_without_showing_the_password(runner, args):
    from tix.cli import cli

    url = "postgresql://u:secret@127.0.0.1:1/x"
    for how in (
        {"args": ["--db", url, *args], "env": {}},
        {"args": args, "env": {"TIX_DATABASE_URL": url}},
    ):
        result = runner.invoke(cli, how["args"], env={"TIX_TOKEN": "tix_x", **how["env"]})
        assert result.exit_code == 1, result.output
        assert "secret" not in result.output
        # A password in --db (and a token in --token) is visible in `ps`: tix warns first.
        lines = [x for x in result.stderr.splitlines() if not x.startswith("tix: warning: ")]
        assert lines[0].startswith("tix: error: cannot open store postgresql://u:***@127.0.0.1:1/x")
        assert len(lines) == 1


def test_url_escapes_in_user_password_and_database_are_decoded():
    # A password with '@', ':' or '/' must be %-escaped in a URL; the server wants it decoded.
    db = store.open_database("postgresql://app%40eu:p%40ss%3Aw%2Ford@db.example:6432/tix%2Dprod")
    assert db.connect_params["user"] == "app@eu"
    assert db.connect_params["password"] == "p@ss:w/ord"
    assert db.database == "tix-prod"
    assert (
        store.mask_url("postgresql://app:p%40ss@db.example/tix")
        == "postgresql://app:***@db.example/tix"
    )
    assert "p@ss" not in store.hide_secrets("auth failed for p@ss", "postgresql://app:p%40ss@h/tix")


def test_an_unsupported_url_is_one_line_and_exit_1(runner):
    from tix.cli import cli

    result = runner.invoke(cli, ["--db", "mysql://root:pw@localhost/tix", "list"])
    assert result.exit_code == 1 and "pw" not in result.stderr.replace("postgresql", "")
    warning, error = result.stderr.splitlines()  # the password in --db: warned about first
    assert warning.startswith("tix: warning: the password in --db")
    assert error.startswith("tix: error: unsupported database URL")


# -- admin commands and their bad input -------------------------------------------------------


def test_admin_commands(desk):
    desk.tix(
        "admin",
        "department",
        "add",
        "legal",
        "--name",
        "Legal",
        "--name-es",
        "Legal ES",
        "--email",
        "legal@host.test",
    )
    assert "legal" in [
        d["slug"] for d in as_json(desk.tix("admin", "department", "list", "--format", "json"))
    ]
    desk.tix(
        "admin",
        "agent",
        "add",
        "lea@host.test",
        "--name",
        "Lea",
        "--department",
        "legal",
        "--department",
        "sales",
    )
    desk.tix(
        "admin",
        "account",
        "add",
        "gamma",
        "--name",
        "Gamma",
        "--owner-email",
        "o@gamma.test",
        "--reseller",
        "resel",
        "--lang",
        "es",
    )
    desk.tix(
        "admin",
        "contact",
        "add",
        "gamma",
        "ops@gamma.test",
        "--name",
        "Ops",
        "--no-ticket-emails",
        "--login",
    )
    desk.tix("admin", "service", "add", "gamma", "gamma.example", "--kind", "hosting")
    desk.tokens["gamma_ops"] = desk.tix(
        "admin", "token", "issue", "ops@gamma.test", "--quiet"
    ).stdout.strip()
    desk.tokens["lea"] = desk.tix(
        "admin", "token", "issue", "lea@host.test", "--quiet"
    ).stdout.strip()
    code = desk.create(
        "gamma_ops", "Legal question", "legal", "low", "x", "--service", "gamma.example"
    )
    assert code in listed(desk, as_="resel")  # gamma is resel's client
    assert ("agent-new-ticket", "lea@host.test") in [
        (r.kind, r.recipient) for r in deskdb.outbox(desk.url, code)
    ]
    revoked = desk.tix("admin", "token", "revoke", "ops@gamma.test")
    assert revoked.stdout.strip() == "revoked 1 token(s) of ops@gamma.test"


def test_admin_bad_input(desk):
    bad_input(
        desk, "admin", "department", "add", "hosting", "--name", "Again", message="already exists"
    )
    bad_input(desk, "admin", "department", "add", "Bad Slug!", "--name", "x", message="department")
    bad_input(desk, "admin", "department", "add", "legal", message="--name")
    bad_input(
        desk,
        "admin",
        "agent",
        "add",
        "nope",
        "--name",
        "x",
        "--department",
        "hosting",
        message="not an email",
    )
    bad_input(
        desk,
        "admin",
        "agent",
        "add",
        "a@host.test",
        "--name",
        "x",
        "--department",
        "plumbing",
        message="unknown department",
    )
    bad_input(desk, "admin", "agent", "add", "a@host.test", "--name", "x", message="--department")
    bad_input(
        desk,
        "admin",
        "agent",
        "add",
        "owner@alpha.test",
        "--name",
        "x",
        "--department",
        "hosting",
        message="already",
    )
    bad_input(
        desk,
        "admin",
        "account",
        "add",
        "alpha",
        "--name",
        "x",
        "--owner-email",
        "n@x.test",
        message="already exists",
    )
    bad_input(
        desk,
        "admin",
        "account",
        "add",
        "delta",
        "--name",
        "x",
        "--owner-email",
        "n@x.test",
        "--reseller",
        "beta",
        message="not a reseller",
    )
    bad_input(
        desk,
        "admin",
        "account",
        "add",
        "delta",
        "--name",
        "x",
        "--owner-email",
        "n@x.test",
        "--reseller",
        "nosuch",
        expect=3,
        message="no account",
    )
    bad_input(
        desk,
        "admin",
        "account",
        "add",
        "delta",
        "--name",
        "x",
        "--owner-email",
        "n@x.test",
        "--lang",
        "fr",
        message="--lang",
    )
    bad_input(
        desk,
        "admin",
        "account",
        "add",
        "delta",
        "--name",
        "x",
        "--owner-email",
        "dev@alpha.test",
        message="already",
    )
    bad_input(
        desk,
        "admin",
        "contact",
        "add",
        "nosuch",
        "c@x.test",
        "--name",
        "x",
        expect=3,
        message="no account",
    )
    bad_input(desk, "admin", "contact", "add", "alpha", "c@", "--name", "x", message="not an email")
    bad_input(desk, "admin", "service", "add", "alpha", "alpha.test", message="already has service")
    bad_input(desk, "admin", "service", "add", "alpha", "x.test", "--kind", "vps", message="--kind")
    bad_input(
        desk, "admin", "token", "issue", "ghost@x.test", expect=3, message="no agent or contact"
    )
    bad_input(
        desk, "admin", "token", "revoke", "ghost@x.test", expect=3, message="no agent or contact"
    )


def test_version_and_help(runner):
    from tix.cli import cli

    assert runner.invoke(cli, ["--version"]).stdout.startswith("tix, version ")
    helped = runner.invoke(cli, ["--help"]).stdout
    for command in (
        "create",
        "list",
        "show",
        "reply",
        "reassign",
        "status",
        "close",
        "reopen",
        "attachment",
        "init",
        "login",
        "whoami",
        "db",
        "admin",
        "demo",
    ):
        assert command in helped
    assert runner.invoke(cli, ["nosuchcommand"]).exit_code == 2
