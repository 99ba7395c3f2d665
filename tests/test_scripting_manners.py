"""What a script (or a hurried person) meets, as gh does it: `tix list` 30 rows by default with
a line on stderr when there are more; `--json FIELDS`; CSV headers that never change shape and
cells a spreadsheet will not run; `--since` a duration or an ISO date and nothing else;
`--limit` out of range, an unknown agent, an echo of what was typed: each the documented exit
code and one short line; the URL's password masked whatever it holds, and a warning when a
secret is typed where `ps` shows it."""

import csv
import io
import json

import pytest
from jobs_support import jobs

from tix import store
from tix.service import shapes


def rows(result):
    return json.loads(result.stdout)


def test_list_shows_30_by_default_and_says_when_there_are_more(desk):
    codes = [desk.create("alpha", f"Ticket {n}") for n in range(31)]
    result = desk.tix("list", "--format", "json", as_="hosting_agent")
    assert len(rows(result)) == 30
    assert result.stderr == (
        "tix: showing the first 30; there are more: `--limit N` for more, `--limit 0` for all\n"
    )
    every = desk.tix("list", "--limit", "0", "--format", "json", as_="hosting_agent")
    assert sorted(r["code"] for r in rows(every)) == sorted(codes) and every.stderr == ""
    exactly = desk.tix("list", "--limit", "31", as_="hosting_agent")
    assert exactly.stderr == ""
    assert len(rows(desk.tix("search", "ticket", "--format", "json", as_="hosting_agent"))) == 30


def test_json_fields_pick_keys_as_gh_does(desk):
    code = desk.create("alpha", "Site down")
    picked = rows(desk.tix("list", "--json", "code,status", as_="alpha"))
    assert picked == [{"code": code, "status": "open"}]
    listed = desk.tix("list", "--json", as_="alpha")
    assert listed.stdout.split() == list(shapes.TICKET) and listed.exit_code == 0
    unknown = desk.tix("list", "--json", "code,colour", as_="alpha", expect=2)
    assert "unknown field 'colour'" in unknown.stderr and unknown.stdout == ""
    both = desk.tix("list", "--json", "code", "--format", "csv", as_="alpha", expect=2)
    assert "--json or --format" in both.stderr
    shown = rows(desk.tix("show", code, "--json", "code,events", as_="alpha"))
    assert list(shown) == ["code", "events"] and shown["events"][0]["kind"] == "created"
    created = rows(desk.tix("create", "-d", "hosting", "-s", "x", "-m", "y", "--yes",
                            "--json", "findings,code", as_="alpha"))  # fmt: skip
    assert list(created) == ["findings", "code"]
    assert list(rows(desk.tix("whoami", "--json", "role", as_="alpha"))) == ["role"]
    agents = rows(desk.tix("admin", "agent", "list", "--json", "email,active"))
    assert {"email": "hosting@host.test", "active": True} in agents
    outbox = json.loads(jobs(desk.url, "outbox", "--json", "id,kind").stdout)
    assert all(list(r) == ["id", "kind"] for r in outbox)  # (served: mail is rendered later)


@pytest.mark.parametrize(
    "listing,shape",
    [
        (("admin", "agent", "list"), shapes.AGENT),
        (("admin", "account", "list"), shapes.ACCOUNT),
        (("admin", "contact", "list"), shapes.CONTACT),
        (("admin", "service", "list"), shapes.SERVICE),
    ],
)
def test_csv_headers_are_the_shapes_keys_with_rows_and_without(desk, listing, shape):
    full = desk.tix(*listing, "--format", "csv").stdout
    assert len(full.splitlines()) > 1
    assert next(csv.reader(io.StringIO(full))) == list(shape)
    if listing[1] == "service":  # an account without services: the header alone, the same
        desk.tix("admin", "account", "add", "empty", "--name", "Empty", "--owner-email", "e@e.test")
        assert desk.tix(*listing, "empty", "--format", "csv").stdout == ",".join(shape) + "\n"


def test_csv_cells_cannot_run_as_spreadsheet_formulas(desk):
    for subject in ('=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)"):
        desk.create("alpha", subject)
    table = list(csv.DictReader(io.StringIO(desk.tix("list", "--format", "csv").stdout)))
    assert sorted(r["subject"] for r in table) == sorted(
        ['\'=HYPERLINK("http://evil")', "'+1+1", "'-2+3", "'@SUM(A1)"]
    )
    # JSON is for programs, and keeps the text as it is.
    assert '=HYPERLINK("http://evil")' in {
        r["subject"] for r in rows(desk.tix("list", "--format", "json"))
    }


@pytest.mark.sqlite_only
@pytest.mark.parametrize("value", ["0m", "2025", "12", "yesterday", "2025-1-5", "10:00", "-2d"])
def test_since_takes_a_duration_or_an_iso_date_and_nothing_else(desk, value):
    result = desk.tix("list", "--since", value, expect=2)
    assert result.stdout == "" and result.stderr.startswith("tix: error: --since")


@pytest.mark.sqlite_only
def test_limit_out_of_range_is_bad_input(desk):
    for args in (("list",), ("search", "x")):
        for value in ("-1", "1000000001", "9" * 30):
            result = desk.tix(*args, "--limit", value, expect=2)
            assert "--limit" in result.stderr and len(result.stderr) < 200
    for value in ("-1", "9" * 30):
        result = jobs(desk.url, "outbox", "--limit", value, expect=2)
        assert "--limit" in result.stderr and "internal error" not in result.stderr
    assert jobs(desk.url, "outbox", "--limit", "0").exit_code == 0


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "args",
    [
        ["show", "A" * 5000],
        ["list", "--department", "d" * 5000],
        ["list", "--status", "s" * 5000],
        ["list", "--priority", "p" * 5000],
        ["list", "--since", "9" * 5000],
        ["list", "--account", "a" * 5000],
        ["list", "--format", "f" * 5000],
        ["create", "-d", "hosting", "-s", "x", "-m", "y", "--service", "v" * 5000],
        ["admin", "agent", "add", "e" * 5000, "--name", "x", "--department", "hosting"],
        ["admin", "contact", "show", "c" * 5000],
        ["config", "get", "k" * 5000],
    ],
)
def test_an_error_echoes_at_most_about_100_characters_of_what_was_typed(desk, args):
    result = desk.tix(*args, as_="alpha" if args[0] == "create" else "admin", expect=None)
    assert result.exit_code in (2, 3), result.stderr
    line = result.stderr.strip()
    assert line.startswith("tix: error: ") and "\n" not in line
    assert len(line) < 400, line
    assert args[-1] not in line and (args[-1][:101] not in line)


def test_unknown_agents_are_not_found_like_any_other_name(desk):
    code = desk.create("alpha")
    desk.tix("reassign", code, "--agent", "nobody@x", as_="hosting_agent", expect=3)
    desk.tix("list", "--assignee", "nobody@x", as_="hosting_agent", expect=3)
    desk.tix("list", "--assignee", "hosting@host.test", as_="hosting_agent")  # a real one: fine


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "url,masked",
    [
        ("postgresql://tix:p#ss@db.example:5432/tix", "postgresql://tix:***@db.example:5432/tix"),
        ("postgresql://tix:a/b?c@db.example/tix", "postgresql://tix:***@db.example/tix"),
        ("postgresql://tix:x@y@db.example/tix", "postgresql://tix:***@db.example/tix"),
        ("postgresql://tix:p%23ss@db.example/tix", "postgresql://tix:***@db.example/tix"),
        ("postgresql://tix@db.example/tix", "postgresql://tix@db.example/tix"),
        ("sqlite:////srv/tix.db", "sqlite:////srv/tix.db"),
    ],
)
def test_the_urls_password_is_masked_whatever_it_holds(runner, url, masked):
    from tix.cli import cli

    assert store.mask_url(url) == masked
    shown = runner.invoke(cli, ["db", "path"], env={"TIX_DATABASE_URL": url}).stdout.strip()
    assert shown == masked
    password = store.url_password(url)
    if password:
        db = store.open_database(url)
        from urllib.parse import unquote

        assert db.connect_params["password"] == unquote(password)
        assert db.connect_params["host"] == "db.example"
        failed = runner.invoke(cli, ["--db", url.replace("db.example", "127.0.0.1:1"), "list"])
        assert unquote(password) not in failed.output and password not in failed.output


@pytest.mark.sqlite_only
def test_secrets_on_the_command_line_are_warned_about(desk):
    from tix.cli import cli

    result = desk.runner.invoke(cli, ["--db", "postgresql://u:secret@127.0.0.1:1/x", "db", "path"])
    assert result.stderr.startswith("tix: warning: the password in --db is visible to other users")
    assert "secret" not in result.output
    login = desk.tix("login", "--token", desk.tokens["beta"], as_=None)
    assert login.stderr.startswith("tix: warning: a token on the command line is visible")
    quiet = desk.tix("login", as_=None, input=desk.tokens["beta"] + "\n")
    assert quiet.stderr == ""
    assert desk.runner.invoke(cli, ["--db", "sqlite:////tmp/x.db", "db", "path"]).stderr == ""
