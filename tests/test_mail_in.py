"""`tix-jobs mail-in`: real .eml files (tests/data/mail/) fed through the command on both
databases, checking what a user would notice: the ticket's messages, status, events and
attachments, and the emails queued in the outbox.

The .eml files hold `{{CODE}}` (a ticket code), `{{MSGID}}` (the Message-ID of an email tix
queued) and `{{N}}` (to make each Message-ID unique); `eml()` fills them in.
"""

import email
import email.policy
import json
from datetime import datetime, timedelta
from pathlib import Path

import deskdb
import pytest
from freezegun import freeze_time
from tix.jobs.cli import cli as jobs_cli

from tix import codes
from tix.inbound import auto_reason, trim_reply
from tix.models import Attachment, InboundMail, Message, Ticket

DATA = Path(__file__).parent / "data" / "mail"
T0 = datetime(2025, 3, 3, 10, 0, 0)


def eml(name: str, *, replace: dict | None = None, **values) -> bytes:
    text = (DATA / name).read_text(encoding="utf-8")
    values.setdefault("N", "1")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    return text.encode("utf-8")


@pytest.fixture
def desk(desk):
    """The standard desk plus a department with an address for incoming mail."""
    desk.tix(
        "admin",
        "department",
        "add",
        "webhelp",
        "--name",
        "Web help",
        "--name-es",
        "Ayuda web",
        "--email",
        "help@host.test",
    )
    return desk


# As a deployment sets it: the Authentication-Results our MTA (mx.tix.test) writes are trusted.
TRUSTED_MTA = {"TIX_MAIL_TRUSTED_AUTHSERV": "mx.tix.test"}


def mail_in(desk, raw: bytes, *args, expect: int = 0, env: dict | None = None):
    result = desk.runner.invoke(
        jobs_cli,
        ["mail-in", *args],
        input=raw,
        env={"TIX_DATABASE_URL": desk.url, **TRUSTED_MTA, **(env or {})},
        catch_exceptions=False,
    )
    assert result.exit_code == expect, (result.exit_code, result.stdout, result.stderr)
    return result


def sent_id(desk, code: str, kind: str, recipient: str) -> str:
    """The Message-ID of an email tix queued for this ticket."""
    rows = [r for r in deskdb.outbox(desk.url, code) if r.kind == kind and r.recipient == recipient]
    assert rows, f"no {kind} email to {recipient}"
    return rows[-1].message_id


def reply_address(desk, code: str, kind: str, recipient: str) -> str:
    """The keyed Reply-To address of an email tix queued for this ticket."""
    rows = [r for r in deskdb.outbox(desk.url, code) if r.kind == kind and r.recipient == recipient]
    assert rows, f"no {kind} email to {recipient}"
    message = email.message_from_string(rows[-1].raw, policy=email.policy.default)
    return message["Reply-To"].addresses[0].addr_spec


def shown(desk, code: str) -> dict:
    return json.loads(desk.tix("show", code, "--history", "--format", "json", as_="admin").stdout)


def free_code(desk) -> str:
    with deskdb.opened(desk.url):
        while True:
            code = codes.new_code()
            if not Ticket.select().where(Ticket.code == code).exists():
                return code


def new_outbox(desk, after_id: int) -> list:
    return [row for row in deskdb.outbox(desk.url) if row.id > after_id]


def ticket_tables(desk) -> dict:
    """Everything that belongs to tickets: equal before and after means nothing was added."""
    dump = deskdb.dump(desk.url)
    return {name: dump[name] for name in ("tickets", "messages", "events", "attachments")}


def ticket_fields(desk, code: str) -> dict:
    row = deskdb.ticket(desk.url, code)
    return {
        name: getattr(row, name)
        for name in (
            "status",
            "updated_at",
            "waiting_since",
            "reminded_at",
            "last_customer_activity_at",
            "closed_at",
            "close_reason",
        )
    }


# -- replies ---------------------------------------------------------------------------------


def test_gmail_reply_is_added_trimmed_with_the_raw_email_attached(desk):
    code = desk.create("alpha", subject="Site down")
    desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")
    raw = eml(
        "gmail_reply.eml", CODE=code, MSGID=sent_id(desk, code, "agent-reply", "owner@alpha.test")
    )
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, raw)

    assert result.stdout.startswith("reply: ") and code in result.stdout
    ticket = shown(desk, code)
    assert ticket["status"] == "customer-reply"
    last = ticket["messages"][-1]
    # Signature and Gmail's quoted history are gone; the customer's words are kept exactly.
    assert last["body"] == "Ya funciona otra vez, ¡gracias!\n\nOlga"
    assert last["author"] == "owner@alpha.test" and not last["internal"]
    assert [e["kind"] for e in ticket["events"]][-1] == "customer-reply"
    assert ticket["events"][-1]["actor"] == "contact:owner@alpha.test"
    queued = new_outbox(desk, before)
    assert sorted((r.kind, r.recipient) for r in queued) == [
        ("agent-customer-reply", "admin@host.test"),
        ("agent-customer-reply", "hosting@host.test"),
    ]
    with deskdb.opened(desk.url):
        kept = Attachment.get(Attachment.content_type == "message/rfc822")
        assert bytes(kept.data) == raw and kept.filename.endswith(".eml")


def test_reply_by_email_reopens_a_closed_ticket_like_the_cli(desk):
    code = desk.create("alpha", subject="Site down")
    msgid = sent_id(desk, code, "ticket-created", "owner@alpha.test")
    desk.tix("close", code, as_="hosting_agent")

    mail_in(desk, eml("gmail_reply.eml", CODE=code, MSGID=msgid))

    ticket = shown(desk, code)
    assert ticket["status"] == "open" and ticket["closed_at"] is None
    assert [e["kind"] for e in ticket["events"]][-2:] == ["closed", "reopened"]  # one event


def test_outlook_reply_found_by_subject_code_alone_is_trimmed(desk):
    code = desk.create("alpha", subject="Site down")

    mail_in(desk, eml("outlook_reply.eml", CODE=code))

    last = shown(desk, code)["messages"][-1]
    assert last["author"] == "dev@alpha.test"
    assert last["body"] == (
        'The shop shows "500 Internal Server Error" again at https://alpha.test/tienda since 11:15.'
        "\n\nSteps: open the page, add any product, press Pagar.\n\nRegards,\nDev"
    )


def test_the_same_email_delivered_twice_is_filed_once(desk):
    code = desk.create("alpha", subject="Site down")
    raw = eml("outlook_reply.eml", CODE=code)

    mail_in(desk, raw)
    again = mail_in(desk, raw)

    assert again.stdout.startswith("ignored: ") and "already handled" in again.stdout
    assert len(shown(desk, code)["messages"]) == 2


def test_the_assigned_agent_may_answer_by_email_and_other_agents_may_not(desk):
    code = desk.create("alpha", subject="Site down")
    desk.tix("reassign", code, "--agent", "hosting@host.test", as_="admin")
    # An agent answers the email tix sent them: its reply key, in the address they reply to.
    keyed = reply_address(desk, code, "agent-assigned", "hosting@host.test")
    as_agent = {
        "Dev Alpha <dev@alpha.test>": "Hana Hosting <hosting@host.test>",
        "To: Hosting Support <support@tix.test>": f"To: Hosting Support <{keyed}>",
    }
    before = deskdb.last_outbox_id(desk.url)

    mail_in(desk, eml("outlook_reply.eml", CODE=code, replace=as_agent))

    ticket = shown(desk, code)
    assert (
        ticket["status"] == "answered" and ticket["messages"][-1]["author"] == "hosting@host.test"
    )
    assert {(r.kind, r.recipient) for r in new_outbox(desk, before)} == {
        ("agent-reply", "owner@alpha.test"),
        ("agent-reply", "dev@alpha.test"),
    }

    unchanged = ticket_tables(desk)
    other = {"Dev Alpha <dev@alpha.test>": "Bill Billing <billing@host.test>"}
    result = mail_in(desk, eml("outlook_reply.eml", CODE=code, N=2, replace=other))
    assert result.stdout.startswith("refused: ")
    assert ticket_tables(desk) == unchanged


# -- automatic mail --------------------------------------------------------------------------


def test_out_of_office_is_logged_and_changes_nothing(desk):
    code = desk.create("alpha", subject="Site down")
    desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")  # now waiting on the customer
    msgid = sent_id(desk, code, "agent-reply", "owner@alpha.test")
    fields, messages = ticket_fields(desk, code), shown(desk, code)["messages"]
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, eml("out_of_office.eml", CODE=code, MSGID=msgid))

    assert result.stdout.startswith("auto-reply: ")
    # Not customer activity: the wait, its clock and the status are exactly as they were.
    assert ticket_fields(desk, code) == fields
    ticket = shown(desk, code)
    assert ticket["messages"] == messages
    event = ticket["events"][-1]
    assert event["kind"] == "auto-reply" and event["actor"] == "contact:owner@alpha.test"
    assert event["after"]["reason"] == "Auto-Submitted: auto-replied"
    assert new_outbox(desk, before) == []  # never answered


def test_out_of_office_does_not_reopen_a_closed_ticket(desk):
    code = desk.create("alpha", subject="Site down")
    msgid = sent_id(desk, code, "ticket-created", "owner@alpha.test")
    desk.tix("close", code, as_="hosting_agent")
    fields = ticket_fields(desk, code)

    mail_in(desk, eml("out_of_office.eml", CODE=code, MSGID=msgid))

    assert ticket_fields(desk, code) == fields and fields["status"] == "closed"


def test_bounce_of_a_notification_is_logged_on_its_ticket_and_not_answered(desk):
    code = desk.create("alpha", subject="Site down")
    msgid = sent_id(desk, code, "ticket-created", "owner@alpha.test")
    fields = ticket_fields(desk, code)
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, eml("bounce_dsn.eml", CODE=code, MSGID=msgid))

    assert result.stdout.startswith("auto-reply: ")
    event = shown(desk, code)["events"][-1]
    # Found through its copy of the email tix sent (the DSN has no In-Reply-To).
    assert event["kind"] == "auto-reply" and event["actor"] == "mail:mailer-daemon@mx.alpha.test"
    assert event["after"]["subject"] == "Undelivered Mail Returned to Sender"
    assert ticket_fields(desk, code) == fields
    assert new_outbox(desk, before) == []


def test_auto_reply_from_a_stranger_is_dropped_without_an_answer(desk):
    code = desk.create("alpha", subject="Site down")
    unchanged = ticket_tables(desk)
    before = deskdb.last_outbox_id(desk.url)
    stranger = {"Olga Alpha <owner@alpha.test>": "Mallory <mallory@evil.test>"}

    result = mail_in(
        desk, eml("out_of_office.eml", CODE=code, MSGID="<nothing@evil.test>", replace=stranger)
    )

    assert result.stdout.startswith("ignored: ")
    assert ticket_tables(desk) == unchanged and new_outbox(desk, before) == []


# -- refused ---------------------------------------------------------------------------------


def refusal(desk, raw: bytes):
    """Feed a message that must be refused: nothing added to any ticket, one notice queued."""
    unchanged = ticket_tables(desk)
    before = deskdb.last_outbox_id(desk.url)
    result = mail_in(desk, raw)
    assert result.stdout.startswith("refused: ")
    assert ticket_tables(desk) == unchanged, "a refused email added something to a ticket"
    queued = new_outbox(desk, before)
    assert len(queued) == 1
    return queued[0]


def test_stranger_is_refused_and_learns_nothing_about_the_ticket(desk):
    code = desk.create("alpha", subject="Migrate alpha-secret-db", body="Password rotation plan.")
    missing = free_code(desk)

    real = refusal(desk, eml("stranger.eml", CODE=code))
    fake = refusal(desk, eml("stranger.eml", CODE=missing, N="2"))

    assert real.kind == "mail-refused" and real.recipient == "mallory@evil.test"
    assert real.ticket_id is None
    # A ticket that exists and one that does not read exactly the same.
    assert real.subject.replace(code, "CODE") == fake.subject.replace(missing, "CODE")
    real_body = email.message_from_string(real.raw, policy=email.policy.default).get_content()
    fake_body = email.message_from_string(fake.raw, policy=email.policy.default).get_content()
    assert real_body.replace(code, "CODE") == fake_body.replace(missing, "CODE")
    for secret in ("alpha-secret", "Password rotation", "Alpha SL", "alpha.test", "X-Tix-Ticket"):
        assert secret not in real.raw
    assert "Auto-Submitted: auto-generated" in real.raw


def test_code_of_another_accounts_ticket_is_refused_like_a_missing_one(desk):
    code = desk.create("alpha", subject="Migrate alpha-secret-db")
    missing = free_code(desk)

    real = refusal(desk, eml("foreign_code.eml", CODE=code))
    fake = refusal(desk, eml("foreign_code.eml", CODE=missing, N="2"))

    assert (real.kind, real.recipient, real.ticket_id) == ("mail-refused", "owner@beta.test", None)
    assert real.raw.count(code) == fake.raw.count(missing)
    assert "alpha" not in real.raw.lower().replace(code.lower(), "")


def test_stranger_writing_to_a_department_address_is_refused(desk):
    raw = eml(
        "new_ticket.eml", replace={"Beta Owner <owner@beta.test>": "Eve <eve@elsewhere.test>"}
    )
    notice = refusal(desk, raw)
    assert (notice.kind, notice.recipient) == ("mail-refused", "eve@elsewhere.test")


def test_refusal_notices_to_one_address_are_capped(desk):
    limit = {"TIX_MAIL_IN_FLOOD_LIMIT": "2"}
    before = deskdb.last_outbox_id(desk.url)
    for n in range(4):
        mail_in(desk, eml("stranger.eml", CODE=free_code(desk), N=n), env=limit)
    assert len(new_outbox(desk, before)) == 2  # a loop with a robot stays bounded


# -- new tickets -----------------------------------------------------------------------------


def test_mail_to_a_department_address_opens_a_ticket(desk):
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, eml("new_ticket.eml"))

    assert result.stdout.startswith("created: ")
    code = result.stdout.split(" opened ")[1].split()[0]
    ticket = shown(desk, code)
    assert (ticket["account"], ticket["department"], ticket["contact"]) == (
        "beta",
        "webhelp",
        "owner@beta.test",
    )
    assert ticket["subject"] == "Website slow 1" and ticket["status"] == "open"
    assert ticket["messages"][0]["body"] == "Our website is very slow since this morning."
    assert ticket["events"][0]["actor"] == "contact:owner@beta.test"
    assert [(r.kind, r.recipient) for r in new_outbox(desk, before)] == [
        ("ticket-created", "owner@beta.test")
    ]


def test_mail_attachments_are_stored_like_cli_attachments(desk):
    result = mail_in(desk, eml("with_attachment.eml"))

    code = result.stdout.split(" opened ")[1].split()[0]
    ticket = shown(desk, code)
    assert ticket["subject"] == "Error en la página de pago"
    assert (
        ticket["messages"][0]["body"]
        == "Al pagar en https://www.alpha.test/pago sale el error de la captura."
    )
    names = [(a["filename"], a["content_type"]) for a in ticket["attachments"]]
    assert names[:2] == [("captura.png", "image/png"), ("error.log", "text/plain")]
    assert names[2][1] == "message/rfc822"
    png = desk.tix(
        "attachment", "get", code, str(ticket["attachments"][0]["id"]), "-o", "-", as_="alpha"
    )
    assert png.stdout_bytes.startswith(b"\x89PNG\r\n")


def test_mail_over_the_attachment_limit_is_not_filed_and_the_sender_told(desk):
    unchanged = ticket_tables(desk)
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, eml("with_attachment.eml"), env={"TIX_ATTACHMENT_MAX_BYTES": "600"})

    assert result.stdout.startswith("refused: ")
    assert ticket_tables(desk) == unchanged
    [notice] = new_outbox(desk, before)
    assert (notice.kind, notice.recipient) == ("mail-not-filed", "owner@alpha.test")
    assert notice.subject.startswith("No registrado:")  # the owner of alpha reads Spanish
    assert (
        "the limit is 600"
        in email.message_from_string(notice.raw, policy=email.policy.default).get_content()
    )


def test_flood_of_new_tickets_from_one_sender_is_capped_per_window(desk):
    with freeze_time(T0) as frozen:
        outcomes = [
            mail_in(desk, eml("new_ticket.eml", N=n)).stdout.split(":")[0] for n in range(12)
        ]
        assert outcomes == ["created"] * 10 + ["flood", "flood"]
        flood_notices = [r for r in deskdb.outbox(desk.url) if r.kind == "mail-flood"]
        assert [r.recipient for r in flood_notices] == ["owner@beta.test"]  # one, not one each
        with deskdb.opened(desk.url):
            assert (
                Ticket.select().join(Message).where(Message.body.contains("very slow")).count()
                == 10
            )

        frozen.tick(timedelta(minutes=16))
        assert mail_in(desk, eml("new_ticket.eml", N=99)).stdout.startswith("created: ")


# -- Maildir, exit codes ---------------------------------------------------------------------


def test_maildir_mode_moves_each_message_to_cur_or_rejected(desk, tmp_path):
    code = desk.create("alpha", subject="Site down")
    box = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (box / sub).mkdir(parents=True)
    (box / "new" / "1741000000.M1P1.mx").write_bytes(eml("outlook_reply.eml", CODE=code))
    (box / "new" / "1741000001.M2P1.mx").write_bytes(eml("stranger.eml", CODE=code))
    (box / "new" / "1741000002.M3P1.mx").write_bytes(eml("new_ticket.eml"))

    result = mail_in(desk, b"", "--maildir", str(box))

    assert sorted(p.name for p in (box / "cur").iterdir()) == [
        "1741000000.M1P1.mx:2,S",
        "1741000002.M3P1.mx:2,S",
    ]
    assert [p.name for p in (box / ".Rejected" / "cur").iterdir()] == ["1741000001.M2P1.mx:2,S"]
    assert list((box / "new").iterdir()) == []
    assert (
        result.stdout.strip().splitlines()[-1]
        == "mail-in: 3 message(s): 1 reply, 1 created, 1 refused"
    )
    assert len(shown(desk, code)["messages"]) == 2


def test_pipe_mode_defers_the_message_when_the_store_is_down(runner):
    result = runner.invoke(
        jobs_cli,
        ["mail-in"],
        input=eml("new_ticket.eml"),
        env={"TIX_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/tix"},
    )
    assert result.exit_code == 75  # EX_TEMPFAIL: the MTA keeps the message and retries
    assert result.stderr.startswith("tix-jobs: error: ") and len(result.stderr.splitlines()) == 1
    assert "deferred" in result.stderr


def test_input_that_is_no_email_is_invalid(runner, tmp_path):
    result = runner.invoke(
        jobs_cli,
        ["mail-in"],
        input=b"",
        env={"TIX_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"},
    )
    assert result.exit_code == 2 and "no message on input" in result.stderr


# -- the text rules, without a store ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, kept",
    [
        (
            "Thanks!\n\nEl lun, 3 mar 2025 a las 11:00, Soporte (<s@tix.test>)\nescribió:\n> Hola",
            "Thanks!",
        ),
        ("Done.\n\n-----Original Message-----\nFrom: Support\nSent: today\n\nold", "Done."),
        ("Done.\r\n\r\nFrom: Support <s@tix.test>\r\nSent: Monday\r\nTo: me\r\n\r\nold", "Done."),
        (
            "> Which domain?\nalpha.test\n> And since when?\nThis morning",
            "alpha.test\nThis morning",
        ),
        ("Fixed.\n-- \nOlga\nAlpha SL", "Fixed."),
        (
            "On Monday the site was down and I wrote: nothing.\nStill down.",
            "On Monday the site was down and I wrote: nothing.\nStill down.",
        ),
    ],
)
def test_trim_reply(text, kept):
    assert trim_reply(text) == kept


@pytest.mark.parametrize(
    "headers, reason",
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: no", None),
        ("X-Autorespond: vacation", "X-Autorespond"),
        ("Precedence: list", "Precedence: list"),
        ("Precedence: first-class", None),
        ("Return-Path: <>", "null sender"),
    ],
)
def test_automatic_mail_is_recognised(headers, reason):
    msg = email.message_from_string(
        f"From: a@b.test\n{headers}\nSubject: x\n\nbody\n", policy=email.policy.default
    )
    assert auto_reason(msg) == reason


def test_inbound_log_model_matches_its_migration(store_url):
    from tix import store

    db = store.connect(store_url)
    try:
        columns = {c.name for c in db.get_columns("inbound_mail")}
        assert columns == {f.column_name for f in InboundMail._meta.sorted_fields}
    finally:
        db.close()


def test_an_existing_department_gets_an_address_for_incoming_mail(desk):
    desk.tix("admin", "department", "email", "hosting", "hosting-help@host.test")
    listed = json.loads(desk.tix("admin", "department", "list", "--format", "json").stdout)
    assert {d["slug"]: d["email"] for d in listed}["hosting"] == "hosting-help@host.test"
    before = deskdb.dump(desk.url)
    refused = desk.tix("admin", "department", "email", "billing", "help@host.test", expect=2)
    assert "already another department's address" in refused.stderr
    desk.tix("admin", "department", "email", "hosting", "none", as_="hosting_agent", expect=4)
    assert deskdb.dump(desk.url) == before

    raw = eml(
        "new_ticket.eml",
        replace={
            "To: Web help <help@host.test>": "To: hosting-help@host.test",
            "Delivered-To: help@host.test": "Delivered-To: hosting-help@host.test",
        },
    )
    code = mail_in(desk, raw).stdout.split(" opened ")[1].split()[0]
    assert shown(desk, code)["department"] == "hosting"
