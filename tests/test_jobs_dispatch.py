"""Email dispatch against a real SMTP server on loopback: what is sent, what is retried, what is
given up on, and what is never sent twice."""

import ssl
from datetime import datetime, timedelta

import pytest
from freezegun import freeze_time
from jobs_support import jobs, opened, outbox, set_ticket
from smtp_server import (  # noqa: F401  (smtp and tls_files are fixtures)
    FREEZE_IGNORE,
    Accept,
    AlwaysTempFail,
    DropConnection,
    HangAfterData,
    Reject,
    Server,
    TempFailOnce,
    free_port,
    smtp,
    tls_files,
)

from tix.models import Outbox

START = datetime(2025, 1, 6, 9, 0, 0)
MIN = timedelta(minutes=1)


def frozen(at):
    return freeze_time(at, ignore=FREEZE_IGNORE)


def test_every_queued_message_is_delivered_once_with_its_threading_headers(desk, smtp):
    server = smtp(Accept())
    url = desk.url
    code = desk.create("alpha", subject="Correo caído")
    desk.tix("reply", code, "-m", "Lo estamos mirando.", as_="hosting_agent")
    rows = {r.message_id: r for r in outbox(url)}
    result = jobs(url, "notify", env=server.env())
    assert (
        result.stdout
        == f"reminded 0, closed 0, sent {len(rows)}, retrying 0, dead 0, uncertain 0\n"
    )
    assert sorted(server.handler.ids()) == sorted(rows)
    for item in server.handler.received:
        row, message = rows[item["message_id"]], item["message"]
        assert item["rcpt_tos"] == [row.recipient]
        assert item["mail_from"] == "support@tix.test"
        assert message["Subject"].startswith(f"[{code}] ")
        assert message["In-Reply-To"] == f"<ticket-{code}@tix.test>"
        # The thread id, then the recipient's reply key (tix/replykeys.py).
        root, key_ref = message["References"].split()
        assert root == f"<ticket-{code}@tix.test>" and key_ref.startswith("<reply-")
    spanish = [i for i in server.handler.received if i["rcpt_tos"] == ["owner@alpha.test"]]
    assert any("Lo estamos mirando." in i["message"].get_content() for i in spanish)
    assert {r.status for r in outbox(url)} == {"sent"}

    assert "sent 0," in jobs(url, "notify", env=server.env()).stdout
    assert len(server.handler.ids()) == len(rows)


def test_a_451_is_retried_after_the_backoff(desk, smtp):
    server = smtp(TempFailOnce())
    url = desk.url
    with frozen(START) as clock:
        desk.create("beta")
        ids = sorted(r.message_id for r in outbox(url))
        result = jobs(url, "notify", env=server.env(), expect=1)
        assert f"sent 0, retrying {len(ids)}, dead 0" in result.stdout
        assert "451 4.3.0 Try again later" in result.stderr
        for row in outbox(url):
            assert (row.status, row.attempts, row.next_attempt_at) == (
                "failed",
                1,
                START + 15 * MIN,
            )

        clock.move_to(START + 14 * MIN)
        assert "sent 0, retrying 0" in jobs(url, "notify", env=server.env()).stdout
        clock.move_to(START + 15 * MIN)
        assert f"sent {len(ids)}, retrying 0" in jobs(url, "notify", env=server.env()).stdout
    assert sorted(server.handler.ids()) == ids
    assert {(r.status, r.attempts) for r in outbox(url)} == {("sent", 2)}


def test_a_message_still_failing_after_the_outbox_lifetime_is_dead(desk, smtp):
    """Giving up is by age, like an MTA's queue lifetime (TIX_OUTBOX_LIFETIME), not by count."""
    server = smtp(AlwaysTempFail())
    url = desk.url
    env = server.env(TIX_OUTBOX_LIFETIME="2h")
    with frozen(START) as clock:
        desk.create("beta")
        for minutes in (0, 15, 45, 105):  # 15 min after the first failure, doubling
            clock.move_to(START + minutes * MIN)
            jobs(url, "notify", env=env, expect=1)
        assert {(r.status, r.attempts) for r in outbox(url)} == {("failed", 4)}
        clock.move_to(START + 225 * MIN)  # the fifth failure is past the 2 hours
        result = jobs(url, "notify", env=env, expect=1)
        assert f"retrying 0, dead {len(outbox(url))}" in result.stdout
        assert {(r.status, r.attempts) for r in outbox(url)} == {("dead", 5)}
        assert all(
            r.last_error.startswith("gave up after 3h undelivered (5 attempts): end of DATA: 451")
            for r in outbox(url)
        )
        clock.move_to(START + 30 * 24 * 60 * MIN)
        assert "sent 0, retrying 0, dead 0" in jobs(url, "notify", env=env).stdout


def test_a_550_is_dead_at_once_and_retry_requeues_it(desk, smtp):
    server = smtp(Reject(refused=["owner@beta.test"]))
    url = desk.url
    desk.create("beta")
    result = jobs(url, "notify", env=server.env(), expect=1)
    assert f"sent {len(outbox(url)) - 1}, retrying 0, dead 1" in result.stdout
    [dead] = outbox(url, status="dead")
    assert (dead.recipient, dead.attempts) == ("owner@beta.test", 1)
    assert "550 5.1.1 Mailbox unavailable" in dead.last_error
    assert "sent 0, retrying 0, dead 0" in jobs(url, "notify", env=server.env()).stdout
    assert server.handler.seen_ids().count(dead.message_id) == 1

    listing = jobs(url, "outbox", "--status", "dead", "--format", "json").stdout
    assert '"recipient": "owner@beta.test"' in listing and "hosting@host.test" not in listing
    assert jobs(url, "outbox", "retry", str(dead.id)).stdout.startswith(f"requeued {dead.id}")
    assert jobs(url, "outbox", "retry", str(dead.id), expect=4).stderr.startswith(
        f"tix-jobs: error: outbox message {dead.id} is pending"
    )
    jobs(url, "outbox", "retry", "999999", expect=3)

    fixed = smtp(Accept())
    assert "sent 1," in jobs(url, "notify", env=fixed.env()).stdout
    assert fixed.handler.ids() == [dead.message_id]


def test_no_answer_after_the_final_dot_is_uncertain_and_never_resent(desk, smtp):
    server = smtp(HangAfterData(nth=1))
    url = desk.url
    desk.create("beta")
    env = server.env(TIX_SMTP_TIMEOUT="1s")
    result = jobs(url, "notify", env=env, expect=1)
    assert f"sent {len(outbox(url)) - 1}, retrying 0, dead 0, uncertain 1" in result.stdout
    [unsure] = outbox(url, status="uncertain")
    assert "may have accepted it" in unsure.last_error
    assert "sent 0, retrying 0, dead 0, uncertain 0" in jobs(url, "notify", env=env).stdout
    assert server.handler.seen_ids().count(unsure.message_id) == 1

    # Only a person decides to send it again.
    jobs(url, "outbox", "retry", str(unsure.id))
    assert "sent 1," in jobs(url, "notify", env=env).stdout
    assert server.handler.ids().count(unsure.message_id) == 1


def test_a_connection_dropped_before_data_is_retried(desk, smtp):
    server = smtp(DropConnection(times=1))
    url = desk.url
    with frozen(START) as clock:
        desk.create("beta")
        result = jobs(url, "notify", env=server.env(), expect=1)
        assert f"sent {len(outbox(url)) - 1}, retrying 1" in result.stdout
        assert "connection lost before DATA" in outbox(url, status="failed")[0].last_error
        clock.move_to(START + 15 * MIN)
        assert "sent 1, retrying 0" in jobs(url, "notify", env=server.env()).stdout
    assert sorted(server.handler.ids()) == sorted(r.message_id for r in outbox(url))


HOSTILE_SUBJECTS = [
    "Help =?utf-8?q?=0D=0ABcc:_evil@evil.test?=",
    "Help =?utf-8?b?DQpCY2M6IGV2aWxAZXZpbC50ZXN0?=",  # base64 of "\r\nBcc: evil@evil.test"
    "Help\u2028Bcc: evil@evil.test",
    "Help\x85Bcc: evil@evil.test",
    "Help\u202eBcc: evil@evil.test",
    "Ünïcødé " + "very long " * 15 + "Bcc: evil@evil.test",
]
EXPECTED_HEADERS = {
    "from",
    "to",
    "reply-to",  # the recipient's reply key (tix/replykeys.py)
    "subject",
    "message-id",
    "date",
    "in-reply-to",
    "references",
    "x-tix-ticket",
    "auto-submitted",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}


def test_hostile_subjects_cannot_add_a_header(desk, smtp):
    server = smtp(Accept())
    url = desk.url
    codes = [desk.create("beta", subject=subject) for subject in HOSTILE_SUBJECTS]
    # A subject from before validation existed, with a real line break in it.
    set_ticket(url, codes[0], subject="Legacy\r\nBcc: evil@evil.test\r\nX-Evil: 1")
    desk.tix("reply", codes[0], "-m", "Answer.", as_="hosting_agent")
    jobs(url, "notify", env=server.env())
    received = server.handler.received
    assert len(received) == len(outbox(url)) > len(HOSTILE_SUBJECTS)
    for item in received:
        message = item["message"]
        assert {name.lower() for name in message} <= EXPECTED_HEADERS
        assert all("evil" not in rcpt for rcpt in item["rcpt_tos"])
        subject = str(message["Subject"])
        assert "\n" not in subject and "\r" not in subject and "\u2028" not in subject
        # (The folded `Subject:` line unfolds with a leading blank in Python's parser.)
        assert subject.lstrip().startswith("[") and "X-Evil" not in message
        header_block = item["raw"].split(b"\r\n\r\n", 1)[0]
        assert not any(
            line.lower().startswith((b"bcc", b"x-evil")) for line in header_block.split(b"\r\n")
        )


@pytest.fixture
def server_tls(tls_files):
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def login_checker(logins, password=b"s3cret-pw"):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"tix"
            and auth_data.password == password
        )
        logins.append(ok)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    return authenticator


def test_starttls_and_login_with_the_keyring_password_which_is_never_shown(
    desk, smtp, tls_files, server_tls
):
    import keyring

    logins = []
    server = smtp(
        Accept(),
        tls_context=server_tls,
        require_starttls=True,
        auth_required=True,
        authenticator=login_checker(logins),
    )
    url = desk.url
    keyring.set_password("tix-smtp", "tix", "s3cret-pw")
    desk.create("beta")
    env = server.env(
        TIX_SMTP_SECURITY="starttls",
        TIX_SMTP_USER="tix",
        TIX_SMTP_CAFILE=str(tls_files[0]),
        TIX_SMTP_CONNECTIONS="1",
    )
    result = jobs(url, "notify", "-v", env=env)
    assert f"sent {len(outbox(url))}, retrying 0" in result.stdout
    assert logins == [True]  # one login: a connection is kept for every message it sends
    assert "s3cret-pw" not in result.stdout + result.stderr

    # A wrong password (here from the environment, which wins over the keyring) is a
    # configuration error: exit 2, and the queued messages are left as they were.
    desk.tix("reply", desk.create("beta"), "-m", "Hi", as_="hosting_agent")
    result = jobs(url, "notify", env={**env, "TIX_SMTP_PASSWORD": "wrong-pw"}, expect=2)
    assert "refused the login of 'tix'" in result.stderr
    assert "wrong-pw" not in result.stdout + result.stderr
    assert {(r.attempts, r.claimed_by) for r in outbox(url, status="pending")} == {(0, None)}
    assert outbox(url, status="sending") == []


def test_a_user_without_any_password_is_refused_at_start_up(desk, smtp):
    server = smtp(Accept())
    desk.create("beta")
    result = jobs(desk.url, "run", env=server.env(TIX_SMTP_USER="nobody"), expect=2)
    assert "no password" in result.stderr and "keyring set tix-smtp nobody" in result.stderr
    assert server.handler.ids() == []


def test_implicit_tls_and_an_untrusted_certificate(desk, smtp, tls_files, server_tls):
    server = smtp(Accept(), ssl_context=server_tls)
    url = desk.url
    desk.create("beta")
    env = server.env(TIX_SMTP_SECURITY="tls")
    result = jobs(url, "notify", env=env, expect=2)
    assert "certificate not trusted" in result.stderr and "TIX_SMTP_CAFILE" in result.stderr
    assert {r.status for r in outbox(url)} == {"pending"}
    result = jobs(url, "notify", env={**env, "TIX_SMTP_CAFILE": str(tls_files[0])})
    assert f"sent {len(outbox(url))}," in result.stdout


@pytest.mark.parametrize("connections", [1, 4])
def test_an_smtp_outage_of_days_loses_no_mail(desk, smtp, connections):
    """Nothing listens for four days of hourly runs on an ever-longer backoff: each run tries
    a message per connection, finds the server unreachable and leaves the rest as they were
    (no attempt charged), nothing is given up before TIX_OUTBOX_LIFETIME (5 days), and once
    the server is back every one of the 15 messages is delivered exactly once."""
    url = desk.url
    down = {**Server(None, free_port(), None).env(), "TIX_SMTP_CONNECTIONS": str(connections)}
    with frozen(START) as clock:
        for n in range(5):
            desk.create("beta", subject=f"Ticket {n}")  # three emails each
        assert len(outbox(url)) == 15
        jobs(url, "notify", env=down, expect=1)
        tried = [r for r in outbox(url) if r.attempts]
        assert 1 <= len(tried) <= connections
        assert {(r.status, r.attempts) for r in outbox(url) if not r.attempts} == {("pending", 0)}
        assert {r.status for r in tried} == {"failed"}
        for hours in (1, 3, 7, 15, 31, 63, 95):
            clock.move_to(START + timedelta(hours=hours))
            jobs(url, "notify", env=down, expect=None)
            assert outbox(url, status="dead") == []
        assert sum(r.attempts for r in outbox(url)) <= 8 * connections

        clock.move_to(START + timedelta(hours=119))
        server = smtp(Accept())
        result = jobs(url, "notify", env=server.env())
        assert "sent 15, retrying 0, dead 0, uncertain 0" in result.stdout
    assert sorted(server.handler.ids()) == sorted(r.message_id for r in outbox(url))
    assert {r.status for r in outbox(url)} == {"sent"}


def non_ascii_recipient(url: str) -> Outbox:
    """A queued row to an address with a non-ASCII local part (older data, or mail-in)."""
    with opened(url):
        row = Outbox.select().order_by(Outbox.id).first()
        Outbox.update(recipient="jösé@beta.test").where(Outbox.id == row.id).execute()
        return Outbox.get_by_id(row.id)


def test_a_message_that_cannot_be_sent_is_dead_and_the_others_go_on(desk, smtp):
    server = smtp(Accept(), enable_SMTPUTF8=False)  # (aiosmtpd offers it by default)
    url = desk.url
    desk.create("beta")
    desk.create("alpha")
    bad = non_ascii_recipient(url)
    result = jobs(url, "notify", env=server.env(), expect=1)
    others = len(outbox(url)) - 1
    assert f"sent {others}, retrying 0, dead 1, uncertain 0" in result.stdout
    [dead] = outbox(url, status="dead")
    assert dead.id == bad.id and "SMTPUTF8" in dead.last_error
    assert "internal error" not in result.stderr
    assert bad.message_id not in server.handler.seen_ids()
    assert len(server.handler.ids()) == others
    assert "sent 0, retrying 0, dead 0" in jobs(url, "notify", env=server.env()).stdout


def test_a_non_ascii_address_goes_out_where_the_server_offers_smtputf8(desk, smtp):
    server = smtp(Accept(), enable_SMTPUTF8=True)
    url = desk.url
    desk.create("beta")
    bad = non_ascii_recipient(url)
    result = jobs(url, "notify", env=server.env())
    assert f"sent {len(outbox(url))}, retrying 0, dead 0" in result.stdout
    [item] = [i for i in server.handler.received if i["message_id"] == bad.message_id]
    assert item["rcpt_tos"] == ["jösé@beta.test"]


def test_retry_all_uncertain_requeues_every_uncertain_message_and_only_those(desk, smtp):
    server = smtp(HangAfterData(nth=1))
    url = desk.url
    desk.create("beta")
    env = server.env(TIX_SMTP_TIMEOUT="1s", TIX_SMTP_CONNECTIONS="1")
    jobs(url, "notify", env=env, expect=1)
    [unsure] = outbox(url, status="uncertain")
    others = {r.id: r.status for r in outbox(url) if r.id != unsure.id}
    assert set(others.values()) == {"sent"}
    assert jobs(url, "outbox", "retry", "--all-uncertain").stdout == (
        "requeued 1 uncertain message(s)\n"
    )
    assert {r.id: r.status for r in outbox(url) if r.id != unsure.id} == others
    assert [(r.status, r.attempts) for r in outbox(url, id=unsure.id)] == [("pending", 0)]
    jobs(url, "outbox", "retry", "--all-uncertain", "--all-dead", expect=2)
    assert "sent 1," in jobs(url, "notify", env=env).stdout
