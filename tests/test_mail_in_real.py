"""`tix-jobs mail-in` with mail in the shapes that broke it: what the store ends up with and
what is (never) sent back. The parsing rules themselves are in tests/test_mailparse.py."""

import deskdb
import pytest
from tix.jobs.cli import cli as jobs_cli

from tix.models import InboundMail, Message, Ticket


@pytest.fixture
def desk(desk):
    desk.tix(
        "admin", "department", "add", "webhelp", "--name", "Web help", "--email", "help@host.test"
    )
    return desk


def mail_in(desk, raw: bytes, expect: int = 0):
    result = desk.runner.invoke(
        jobs_cli,
        ["mail-in"],
        input=raw,
        env={"TIX_DATABASE_URL": desk.url, "TIX_MAIL_TRUSTED_AUTHSERV": "mx.tix.test"},
        catch_exceptions=False,
    )
    assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
    return result


def new_ticket(
    *,
    sender: str = "Beta Owner <owner@beta.test>",
    msgid: str = "<n1@beta.test>",
    headers: str = "",
    body: str = "Our website is very slow.",
) -> bytes:
    domain = sender.rpartition("@")[2].rstrip(">")
    return (
        # What our MTA (a trusted authserv-id, as deployed) found: DMARC passed for the domain.
        f"Authentication-Results: mx.tix.test; dmarc=pass header.from={domain}\n"
        f"From: {sender}\nTo: Web help <help@host.test>\nSubject: Website slow\n"
        f"Message-ID: {msgid}\nMIME-Version: 1.0\n{headers}"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{body}\n"
    ).encode()


def test_a_message_id_of_any_length_is_filed_once(desk):
    raw = new_ticket(msgid=f"<{'x' * 1000}@beta.test>")

    outcomes = [mail_in(desk, raw).stdout.split(":")[0] for _ in range(3)]

    assert outcomes == ["created", "ignored", "ignored"]
    with deskdb.opened(desk.url):
        [row] = InboundMail.select()
        assert row.message_id.startswith("<sha256-") and len(row.message_id) < 100


def test_a_utf8_address_is_read_and_refused_like_any_stranger(desk):
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, new_ticket(sender="Jörg <jörg@bücher.test>"))

    # Read, not a crash; no notice either: an RFC 6532 address needs SMTPUTF8 to be written to.
    assert result.stdout == "refused: jörg@bücher.test is not a contact; not answered\n"
    assert [r for r in deskdb.outbox(desk.url) if r.id > before] == []


def test_deep_nesting_is_refused_cleanly_in_pipe_mode(desk):
    nested = "".join(
        f"--b{i}\nContent-Type: multipart/mixed; boundary=b{i + 1}\n\n" for i in range(3000)
    )
    raw = (
        new_ticket(headers="").replace(
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Type: multipart/mixed; boundary=b0",
        )
        + nested.encode()
    )

    result = mail_in(desk, raw, expect=2)

    assert "nests 3001 MIME parts" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "headers",
    ["X-Spam-Flag: YES\n", "List-Id: <users.lists.test>\n", "Return-Path: <>\n"],
)
def test_spam_list_mail_and_null_senders_get_no_notice(desk, headers):
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, new_ticket(sender="Mallory <mallory@evil.test>", headers=headers))

    assert result.stdout.split(":")[0] in ("refused", "ignored")
    assert [r for r in deskdb.outbox(desk.url) if r.id > before] == []


def test_an_address_in_the_display_name_is_refused_without_a_notice(desk):
    before = deskdb.last_outbox_id(desk.url)
    forged = '"owner@beta.test" <attacker@evil.test>'

    result = mail_in(desk, new_ticket(sender=forged))

    assert result.stdout.startswith("refused: <> ")
    assert [r for r in deskdb.outbox(desk.url) if r.id > before] == []


def test_a_bottom_posted_gbk_reply_is_filed_whole(desk):
    body = "你好\nOn Mon, 3 Mar 2025 at 11:00, Web help <help@host.test> wrote:\n> 什么问题？\n\n网站打不开。镕\n"
    raw = new_ticket(body="").replace(b"charset=utf-8", b"charset=gb2312") + body.encode("gbk")

    code = mail_in(desk, raw).stdout.split(" opened ")[1].split()[0]

    with deskdb.opened(desk.url):
        [first] = Message.select().join(Ticket).where(Ticket.code == code)
        assert first.body == "你好\n\n网站打不开。镕"
