"""Bad input, fuzzed: every command's options, arguments and bodies driven with arbitrary text
(unicode, control characters, NUL, lone surrogates as undecodable argv bytes become, very long
strings, SQL and format-string fragments, other accounts' codes and handles), arbitrary bytes on
stdin, malformed and out-of-range dates and durations, hostile settings and store URLs.

Every run must end in exit 0 or a documented code (2 invalid input, 3 not found or not yours,
4 not allowed; 1 only for a file the user named that cannot be written) with exactly one line
`tix: error: ...` and never a traceback, and a refused command must leave every row of the store
as it was. One desk per test function, reused across examples, keeps the file quick.
"""

import email
import email.policy
import os
import re
import string
from datetime import datetime

import deskdb
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tix import mail
from tix.cli import cli
from tix.settings import load as load_settings

# TIX_FUZZ_EXAMPLES=500 for a deeper run than CI's.
EXAMPLES = int(os.environ.get("TIX_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "two\nlines",
    "tab\there",
    "\x1b[31mred",
    "\x7f",
    "\x85",
    "\u2028",
    "\u202eevil.exe",
    "\ufeffbom",
    "\u200b",
    "caf\udce9",
    "\ud800",
    "🙂" * 50,
    "' OR '1'='1",
    "'; DROP TABLE tickets; --",
    '"; DELETE FROM tokens; --',
    "1; SELECT pg_sleep(5)",
    "%s",
    "%(body)s",
    "%n%n",
    "{subject}",
    "{0}",
    "{name!r}",
    "\\",
    "\\x00",
    "$(reboot)",
    "`id`",
    "../../../etc/passwd",
    "=?utf-8?b?SGk=?=",
    "x\r\nBcc: victim@evil.test",
    "-",
    "--help",
    "-m",
    "0",
    "-1",
    "9" * 40,
    "NaN",
    "inf",
    "1e309",
    "null",
    "true",
    "[]",
    "{}",
    "none",
    "me",
    "x" * 5000,
    "y" * 100_001,
]
DATES = [
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2025-02-30",
    "2025-13-01",
    "2025-01-01T25:00",
    "2025-01-01 10:00 +99:00",
    "-5d",
    "0d",
    "0s",
    "99999999999h",
    "999999999w",
    "1h30x",
    "48 h",
    "yesterday",
    "now",
    "1e400",
    "١٢٣d",
    "2d" * 200,
    "31/12/2025",
    "12/31/2025",
    "Tue",
    "2025-01-01T00:00:00Z",
    "1970-01-01",
    "-1",
    "2d2d2d",
    "1s",
]

text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(blacklist_categories=()), max_size=40),  # surrogates and controls too
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(200, 5_000)),
)
dates = st.one_of(
    st.sampled_from(DATES),
    text,
    st.datetimes().map(lambda d: d.isoformat()),
    st.integers(-(10**12), 10**12).map(lambda n: f"{n}{'smhdw'[abs(n) % 5]}"),
)
PEOPLE = [
    "admin",
    "hosting_agent",
    "billing_agent",
    "alpha",
    "alpha_dev",
    "beta",
    "resel",
    "client",
]
who = st.sampled_from(PEOPLE)


@pytest.fixture
def codes(desk, tmp_path):
    """One ticket per account (alpha's with a file) and a code for none, plus lower-case and
    unhyphenated spellings: the codes of other accounts are what a fuzzer should try."""
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"\x89PNG")
    found = {w: desk.create(w, f"{w} problem") for w in ("beta", "resel", "client")}
    found["alpha"] = desk.create(
        "alpha", "alpha problem", "hosting", "medium", "x", "--attach", str(shot)
    )
    spellings = []
    for code in found.values():
        spellings += [code, code.lower(), code.replace("-", ""), f"[{code}]"]
    return spellings + ["ZZZZ-ZZZZ", "0000-0000"]


def run(desk, args, as_, *, input=None, env=None, allow=(0, 2, 3, 4)):
    """Run `tix ARGS`; check the outcome's shape, and that a refused command wrote nothing."""
    before = deskdb.dump(desk.url)
    full_env = {"TIX_DATABASE_URL": desk.url, **(env or {})}
    if as_ is not None:
        full_env["TIX_TOKEN"] = desk.tokens[as_]
    # catch_exceptions=False: a traceback fails the test with its real stack.
    result = desk.runner.invoke(cli, list(args), env=full_env, input=input, catch_exceptions=False)
    assert result.exit_code in allow, (_short(args), result.exit_code, result.stderr[-2000:])
    if result.exit_code != 0:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("tix: error: "), (_short(args), lines[-5:])
        assert "store " not in lines[0] or " failed: " not in lines[0], (_short(args), lines)
        assert deskdb.dump(desk.url) == before, f"refused {_short(args)!r} wrote something"
    return result


def _short(args):
    return [a if len(a) < 80 else f"{a[:60]!r}... ({len(a)} chars)" for a in args]


def optional(name, value):
    return [] if value is None else [name, value]


# -- the ticket commands ----------------------------------------------------------------------


@FUZZ
@example(
    who="alpha",
    department="\x00",
    priority="low",
    subject="x",
    body="y",
    service=None,
    account=None,
)  # PostgreSQL refuses NUL in a parameter: was a crash
@given(
    who=who,
    department=st.one_of(st.sampled_from(["hosting", "billing", "HOSTING "]), text),
    priority=st.one_of(st.sampled_from(["low", "emergency"]), text),
    subject=text,
    body=st.one_of(st.none(), text),
    service=st.one_of(st.none(), st.just("alpha.test"), text),
    account=st.one_of(
        st.none(), st.sampled_from(["alpha", "beta", "client", "other-client"]), text
    ),
)
def test_create_survives_any_options(
    desk, codes, who, department, priority, subject, body, service, account
):
    args = ["create", "-d", department, "-p", priority, "-s", subject, "--quiet"]
    args += optional("-m", body) + optional("--service", service) + optional("--account", account)
    run(desk, args, who)


TICKET_COMMANDS = st.sampled_from(
    [
        lambda c, t: ["reply", c, "-m", t],
        lambda c, t: ["reply", c, "--internal", "-m", t],
        lambda c, t: ["close", c],
        lambda c, t: ["reopen", c, "-m", t],
        lambda c, t: ["status", c, t],
        lambda c, t: ["status", c, "on-hold"],
        lambda c, t: ["reassign", c, "--department", t],
        lambda c, t: ["reassign", c, "--agent", t],
        lambda c, t: ["reassign", c, "--priority", t],
        lambda c, t: ["show", c, "--history", "--format", "json"],
        lambda c, t: ["show", t],
        lambda c, t: ["attachment", "get", c, t, "-o", "-"],
        lambda c, t: ["attachment", "get", c, "1", "-o", "-"],
        lambda c, t: ["watch", c],
        lambda c, t: ["unwatch", c],
        lambda c, t: ["merge", c, t],
        lambda c, t: ["template", "show", t],
        lambda c, t: ["next", "-d", t],
    ]
)


@FUZZ
@given(who=who, command=TICKET_COMMANDS, pick=st.integers(0, 17), value=text)
def test_ticket_commands_survive_any_code_and_value(desk, codes, who, command, pick, value):
    run(desk, command(codes[pick % len(codes)], value), who)


@FUZZ
@given(
    who=who,
    command=st.sampled_from(["list", "search", "stats"]),
    word=text,
    status=st.one_of(st.none(), st.sampled_from(["open", "closed"]), text),
    department=st.one_of(st.none(), text),
    priority=st.one_of(st.none(), text),
    assignee=st.one_of(st.none(), st.sampled_from(["me", "none", "hosting@host.test"]), text),
    account=st.one_of(st.none(), st.sampled_from(["alpha", "beta", "other-client"]), text),
    since=st.one_of(st.none(), dates),
    limit=st.one_of(st.none(), text, st.integers().map(str)),
    fmt=st.one_of(st.sampled_from(["table", "json", "csv"]), text),
)
def test_listing_filters_survive_anything(
    desk,
    codes,
    who,
    command,
    word,
    status,
    department,
    priority,
    assignee,
    account,
    since,
    limit,
    fmt,
):
    args = [command] + ([word] if command == "search" else [])
    args += optional("-d", department) + optional("-p", priority) + optional("--since", since)
    args += ["--format", fmt]
    if command != "stats":
        args += optional("--status", status) + optional("--assignee", assignee)
        args += optional("--account", account) + optional("--limit", limit)
    run(desk, args, who)


# -- setting up the desk ----------------------------------------------------------------------

ADMIN_COMMANDS = st.sampled_from(
    [
        lambda a, b: ["admin", "department", "add", a, "--name", b],
        lambda a, b: ["admin", "department", "add", "legal", "--name", "Legal", "--email", a],
        lambda a, b: ["admin", "agent", "add", a, "--name", b, "--department", "hosting"],
        lambda a, b: ["admin", "agent", "add", "new@host.test", "--name", "New", "--department", a],
        lambda a, b: ["admin", "account", "add", a, "--name", b, "--owner-email", "o@gamma.test"],
        lambda a, b: [
            "admin",
            "account",
            "add",
            "gamma",
            "--name",
            "G",
            "--owner-email",
            a,
            "--owner-name",
            b,
        ],
        lambda a, b: [
            "admin",
            "account",
            "add",
            "gamma",
            "--name",
            "G",
            "--owner-email",
            "o@gamma.test",
            "--reseller",
            a,
        ],
        lambda a, b: ["admin", "contact", "add", a, "x@alpha.test", "--name", b, "--login"],
        lambda a, b: ["admin", "contact", "add", "alpha", a, "--name", b],
        lambda a, b: ["admin", "service", "add", a, b],
        lambda a, b: ["admin", "token", "issue", a],
        lambda a, b: ["admin", "token", "revoke", a],
        lambda a, b: ["template", "add", a, "-m", b],
        lambda a, b: ["template", "edit", a, "-m", b],
    ]
)


@FUZZ
@given(
    who=st.sampled_from(["admin", "admin", "hosting_agent", "alpha"]),
    command=ADMIN_COMMANDS,
    first=text,
    second=text,
)
def test_admin_commands_survive_anything(desk, who, command, first, second):
    args = command(first, second)
    if args[:3] == ["admin", "token", "revoke"] and who == "admin":
        assume(first.strip().lower() != "admin@host.test")  # keep the fuzzer's own token alive
    run(desk, args, who)


# -- bodies, files, settings, tokens, store URLs ------------------------------------------------


@FUZZ
@given(
    who=who,
    data=st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [b"\xff\xfe", b"caf\xe9", b"\xed\xa0\x80", b"ok\x00nul", b"\xc0\xaf", b"x" * 200_000]
        ),
    ),
    reply=st.booleans(),
    pick=st.integers(0, 17),
)
def test_bodies_on_stdin_survive_any_bytes(desk, codes, who, data, reply, pick):
    if reply:
        args = ["reply", codes[pick % len(codes)]]
    else:
        args = ["create", "-d", "hosting", "-s", "From stdin", "--quiet"]
    run(desk, args, who, input=data)


@FUZZ
@example(path="\ud800")  # no file system name can hold it: was a crash in os.stat
@example(path="nul\x00byte")  # was a crash in os.stat
@example(path="/dev/zero")  # reports size 0 and never ends: was read to exhaustion
@given(
    path=st.one_of(
        st.sampled_from(
            [
                "/dev/zero",
                "/dev/null",
                "/",
                "/nonexistent/x",
                "/etc/shadow",
                "nul\x00byte",
                "",
                "caf\udce9.txt",
                "x" * 5000,
            ]
        ),
        text,
    )
)
def test_attaching_any_path_is_refused_or_read_within_the_limit(desk, codes, path):
    run(
        desk,
        ["reply", codes[0], "-m", "see file", "--attach", path],
        "alpha",
        env={"TIX_ATTACHMENT_MAX_BYTES": "1000"},
    )


SETTINGS = [
    "TIX_REMIND_AFTER",
    "TIX_CLOSE_AFTER",
    "TIX_OUTBOX_LIFETIME",
    "TIX_BODY_MAX_CHARS",
    "TIX_ATTACHMENT_MAX_BYTES",
    "TIX_BATCH_SIZE",
    "TIX_BUSY_TIMEOUT",
]


@FUZZ
@example(name="TIX_REMIND_AFTER", value="999999999w")  # past timedelta's range: was a crash
@given(name=st.sampled_from(SETTINGS), value=st.one_of(dates, text))
def test_settings_are_checked_with_a_clear_error(desk, name, value):
    assume("\x00" not in value and _environment_can_hold(value))
    run(
        desk,
        ["create", "-d", "hosting", "-s", "Settings", "-m", "x", "--quiet"],
        "alpha",
        env={name: value},
    )


@FUZZ
@given(token=text)
def test_a_bad_token_is_refused_and_never_echoed(desk, token):
    assume("\x00" not in token and token.strip() and token not in desk.tokens.values())
    assume(_environment_can_hold(token))
    result = run(desk, ["list"], None, env={"TIX_TOKEN": token}, allow=(4,))
    if len(token.strip()) >= 4:
        assert token.strip() not in result.stderr.replace("tix: error: ", "")


def _environment_can_hold(value: str) -> bool:
    """Environment values come from bytes: only the surrogates of undecodable bytes occur."""
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


PASSWORD = "S3cr3t-pässwörd"


@FUZZ
@given(
    user=st.text(string.ascii_letters, min_size=1, max_size=8),
    port=st.sampled_from(["1", "9", "65535"]),
    dbname=text,
    command=st.sampled_from(
        [["list"], ["db", "status"], ["db", "upgrade"], ["init"], ["whoami"], ["db", "path"]]
    ),
)
def test_a_password_in_the_store_url_never_appears(desk, user, port, dbname, command):
    from urllib.parse import quote

    assume("\x00" not in dbname)  # argv and the environment cannot carry NUL
    url = f"postgresql://{user}:{quote(PASSWORD)}@127.0.0.1:{port}/{dbname}"
    result = desk.runner.invoke(
        cli, ["--db", url, *command], env={"TIX_TOKEN": "tix_x"}, catch_exceptions=False
    )
    assert result.exit_code in (0, 1, 2), result.stderr
    for secret in (PASSWORD, quote(PASSWORD)):
        assert secret not in result.stdout + result.stderr
    # The password in --db is warned about first (it shows in `ps`), then one error line.
    warning, *rest = result.stderr.splitlines()
    assert warning.startswith("tix: warning: the password in --db")
    if result.exit_code:
        assert len(rest) == 1 and rest[0].startswith("tix: error: ")


# -- emails from hostile subjects and names -------------------------------------------------------


def _parsed(raw: str):
    return email.message_from_string(raw, policy=email.policy.default)


HEADERS = {
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Date",
    "In-Reply-To",
    "References",
    "X-Tix-Ticket",
    "Auto-Submitted",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
}


@settings(max_examples=300, deadline=None, database=None)
@given(subject=text, name=text, body=text)
def test_a_built_email_reparses_to_exactly_the_expected_headers(subject, name, body):
    assume(
        "\x00" not in body and not any(0xD800 <= ord(c) <= 0xDFFF for c in subject + name + body)
    )
    conf = load_settings()
    recipient = mail.Recipient("owner@alpha.test", name)
    stored_subject, raw = mail.raw_message(
        kind="closed",
        code="K7QD-4MZP",
        subject=subject,
        body=body,
        recipient=recipient,
        message_id="<abc@tix.test>",
        conf=conf,
        now=datetime(2025, 1, 1),
    )
    parsed = _parsed(raw)
    assert set(parsed.keys()) == HEADERS and len(parsed.keys()) == len(HEADERS)
    assert stored_subject == f"[K7QD-4MZP] {mail.header_safe(subject)}"
    assert same_text(str(parsed["Subject"]), stored_subject)
    (address,) = parsed["To"].addresses
    assert address.addr_spec == "owner@alpha.test"
    assert same_text(address.display_name, mail.display_name(name))
    assert parsed["X-Tix-Ticket"] == "K7QD-4MZP" and parsed["Message-ID"] == "<abc@tix.test>"


def same_text(parsed: str, expected: str) -> bool:
    """Equal; or, for text long enough to be folded into several RFC 2047 encoded words, equal
    but for whitespace: Python's email package puts a space that falls between two encoded words
    into the fold, where decoders (rightly) drop it. Left to the mail module's owner; nothing
    else can differ, and no header can be added."""
    if parsed.strip() == expected.strip():
        return True
    return expected.isascii() is False and "".join(parsed.split()) == "".join(expected.split())


NAMES = st.one_of(
    st.sampled_from(
        [
            "Smith, John <boss@alpha.test>",
            "=?utf-8?b?SGk=?= Eve",
            "\u202eevil",
            "Long Name Of A Company Partnership, attacker@evil.test, Ann",
            "O'Brien (CEO)",
            "\x85Ann\u2028Bcc: x@evil.test",
            "🙂" * 40,
        ]
    ),
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=120),
)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@given(
    subject=st.one_of(text, st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1)),
    name=NAMES,
)
def test_queued_emails_from_hostile_tickets_reparse_to_the_expected_headers(desk, subject, name):
    """The real path: a contact with a hostile name opens a ticket with a hostile subject;
    every email queued for it re-parses to the same headers and no more."""
    from tix import admin

    try:
        clean_name = admin.check_name(name)
    except Exception:  # refused names are the other tests' business
        assume(False)
    email_address = f"c{abs(hash(name)) % 10**9}@alpha.test"
    created = run(
        desk,
        ["admin", "contact", "add", "alpha", email_address, "--name", clean_name, "--login"],
        "admin",
    )
    assume(created.exit_code == 0)
    desk.tokens["fuzzed"] = run(
        desk, ["admin", "token", "issue", email_address, "--quiet"], "admin"
    ).stdout.strip()
    result = run(desk, ["create", "-d", "hosting", "-s", subject, "-m", "x", "--quiet"], "fuzzed")
    assume(result.exit_code == 0)
    code = result.stdout.strip().splitlines()[-1]
    rows = deskdb.outbox(desk.url, code)
    assert rows
    for row in rows:
        parsed = _parsed(row.raw)
        # Each email to a person also carries their reply key (tix/replykeys.py).
        keyed = HEADERS | {"Reply-To"}
        assert set(parsed.keys()) == keyed and len(parsed.keys()) == len(keyed)
        (reply_to,) = parsed["Reply-To"].addresses
        assert re.fullmatch(r"support\+[a-z2-7]{32}@tix\.test", reply_to.addr_spec)
        assert same_text(str(parsed["Subject"]), row.subject)
        assert row.subject.startswith(f"[{code}] ") and mail.header_safe(subject) in row.subject
        (address,) = parsed["To"].addresses
        assert address.addr_spec == row.recipient
        if row.recipient == email_address:
            assert same_text(address.display_name, mail.display_name(clean_name))


def test_a_long_name_with_a_comma_cannot_add_an_address_to_the_to_header():
    """Found by the fuzzer: folding a long quoted display name dropped its quotes, so this name
    put attacker@evil.test into To (a reply-all would have gone there)."""
    name = "Support Team of the Hosting Company Limited Partnership, attacker@evil.test, Ann"
    for make in (mail.raw_message, mail.build):
        made = make(
            kind="closed",
            code="K7QD-4MZP",
            subject="x",
            body="b",
            recipient=mail.Recipient("owner@alpha.test", name),
            message_id="<a@b>",
            conf=load_settings(),
            now=datetime(2025, 1, 1),
        )
        raw = made[1] if isinstance(made, tuple) else made.as_string()
        assert [a.addr_spec for a in _parsed(raw)["To"].addresses] == ["owner@alpha.test"]
