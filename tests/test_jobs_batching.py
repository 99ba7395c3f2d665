"""The hourly job in batches: one transaction per batch that is still a
compare-and-set per ticket, emails written without EmailMessage's cost but with the very same
text, and reminders that never go out once the wait they belong to is over."""

import dataclasses
import datetime
import re
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jobs_support import events, jobs, opened, outbox, set_ticket, ticket
from smtp_server import Accept, smtp  # noqa: F401  (smtp is a fixture)
from test_jobs_dispatch import EXPECTED_HEADERS, HOSTILE_SUBJECTS
from tix.jobs import dispatch

from tix import auth, clock, mail, mailsettings, migrations, paths, settings, store, tickets
from tix.models import Ticket

DAY = timedelta(days=1)


def waiting_ticket(desk, subject="Site down", account="alpha", waited=3 * DAY) -> str:
    """A ticket answered by an agent, its wait made `waited` old (due a reminder at 3 days)."""
    code = desk.create(account, subject=subject)
    desk.tix("reply", code, "-m", "Does it work now?", as_="hosting_agent")
    set_ticket(desk.url, code, waiting_since=clock.now() - waited)
    return code


def reminded_ticket(desk, subject="Site down", account="alpha") -> str:
    """A ticket whose reminder was delivered two days ago (due to be closed)."""
    code = waiting_ticket(desk, subject, account, waited=5 * DAY)
    set_ticket(
        desk.url,
        code,
        reminded_at=clock.now() - 2 * DAY,
        reminder_delivered_at=clock.now() - 2 * DAY,
    )
    return code


def mail_folder_subjects() -> list[str]:
    from email import message_from_bytes, policy

    folder = paths.data_dir() / "mail"
    return (
        [
            message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
            for p in sorted(folder.glob("*.eml"))
        ]
        if folder.exists()
        else []
    )


# -- a stale reminder is cancelled, never sent --------------------------------------------------

ENDS_THE_WAIT = {
    "the customer replies": lambda desk, code: desk.tix(
        "reply", code, "-m", "Still broken.", as_="alpha"
    ),
    "the agent replies again": lambda desk, code: desk.tix(
        "reply", code, "-m", "And now?", as_="hosting_agent"
    ),
    "the agent closes it": lambda desk, code: desk.tix("close", code, as_="hosting_agent"),
    "the customer closes it": lambda desk, code: desk.tix("close", code, as_="alpha"),
    "the agent puts it on hold": lambda desk, code: desk.tix(
        "status", code, "on-hold", as_="hosting_agent"
    ),
}


@pytest.mark.parametrize("change", ENDS_THE_WAIT)
def test_a_queued_reminder_is_cancelled_when_the_wait_ends(desk, change):
    url = desk.url
    code = waiting_ticket(desk)
    jobs(url, "notify")  # the creation and answer notices go out
    assert "reminded 1," in jobs(url, "remind").stdout  # queued, not yet sent
    assert {r.status for r in outbox(url, kind="reminder")} == {"pending"}

    ENDS_THE_WAIT[change](desk, code)

    reminders = outbox(url, kind="reminder")
    assert [r.status for r in reminders] == ["cancelled", "cancelled"]
    assert all("stopped waiting" in r.last_error for r in reminders)
    jobs(url, "notify")
    # The customer never reads "will be closed in 24 h" about a ticket that is not waiting.
    assert not any("Esperamos su respuesta" in s for s in mail_folder_subjects())
    assert [r.status for r in outbox(url, kind="reminder")] == ["cancelled", "cancelled"]
    listing = jobs(url, "outbox", "--status", "cancelled", "--format", "csv").stdout
    assert listing.count(",reminder,") == 2 and code in listing
    # A cancelled message is not something to retry.
    assert jobs(url, "outbox", "retry", str(reminders[0].id), expect=4).stderr.startswith(
        f"tix-jobs: error: outbox message {reminders[0].id} is cancelled"
    )


def test_a_reminder_being_handed_over_when_the_customer_replies_arms_nothing(
    desk, smtp, monkeypatch
):
    """The one reminder that cannot be cancelled is the one already on its way to the server:
    it is delivered, and its delivery does not start a close countdown for the new state.
    Another reminder of the same ticket, claimed by the same run but not yet started, is
    cancelled and skipped, and the run goes on sending the rest (the server sees a RSET, not a
    second MAIL FROM in the same envelope)."""
    server = smtp(Accept())
    url = desk.url
    code = waiting_ticket(desk)
    jobs(url, "notify", env=server.env())
    earlier = len(server.handler.ids())
    jobs(url, "remind")
    other = desk.create("beta", subject="Unrelated")  # queued after the reminders
    first, second = outbox(url, kind="reminder")
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    conf = settings.load()

    class CustomerRepliesDuringTheFirstReminder(dispatch.SmtpTransport):
        def deliver(self, row):
            if row.id == first.id:
                customer = auth.principal_for_token(desk.tokens["alpha"])
                tickets.reply(customer, tickets.get_ticket(customer, code), "Here I am.")
            return super().deliver(row)

    with opened(url):
        transport = CustomerRepliesDuringTheFirstReminder(
            mailsettings.load_smtp(), "support@tix.test"
        )
        result = dispatch.notify(conf, transport)

    assert (result.sent, result.failed) == (len(server.handler.ids()) - earlier, 0)
    assert first.message_id in server.handler.ids()
    assert second.message_id not in server.handler.seen_ids()
    assert {r.id: r.status for r in outbox(url, kind="reminder")} == {
        first.id: "sent",
        second.id: "cancelled",
    }
    t = ticket(url, code)
    assert (t.status, t.reminded_at, t.reminder_delivered_at) == ("customer-reply", None, None)
    assert events(url, code, "reminder-delivered") == []
    # Everything queued after the cancelled reminder still went out, once.
    assert {r.status for r in outbox(url) if r.kind != "reminder"} == {"sent"}
    assert any(r.ticket_id == ticket(url, other).id for r in outbox(url, status="sent"))
    assert set(Counter(server.handler.seen_ids()).values()) == {1}


# -- one transaction per batch, still a compare-and-set per ticket ------------------------------


def test_a_reply_inside_a_batch_skips_that_ticket_and_the_rest_is_reminded(desk):
    url = desk.url
    conf = settings.load()
    codes = [
        waiting_ticket(desk, f"Ticket {n}", account="alpha" if n % 2 else "beta") for n in range(5)
    ]
    with opened(url):
        batch = tickets.due_for_reminder(conf, clock.now())
    assert [t.code for t in batch] == codes
    # Between the job's select and its update, the customer of the third ticket answers.
    desk.tix("reply", codes[2], "-m", "It works again.", as_="beta")

    with opened(url):
        done = tickets.remind_batch(batch, conf=conf)
    assert [t.code for t in done] == codes[:2] + codes[3:]
    assert ticket(url, codes[2]).reminded_at is None
    assert events(url, codes[2], "reminded") == []
    for code in codes[:2] + codes[3:]:
        assert len(events(url, code, "reminded")) == 1
        assert ticket(url, code).reminded_at is not None
    # One reminder per recipient of each reminded ticket (alpha: owner + dev; beta: owner),
    # none for the ticket that was answered.
    per_ticket = Counter(r.ticket_id for r in outbox(url, kind="reminder"))
    with opened(url):
        ids = {t.code: t.id for t in Ticket.select()}
    assert per_ticket == {ids[codes[0]]: 1, ids[codes[1]]: 2, ids[codes[3]]: 2, ids[codes[4]]: 1}

    # The same batch again (another run that selected it too): nothing is reminded twice.
    with opened(url):
        assert tickets.remind_batch(batch, conf=conf) == []
    assert len(outbox(url, kind="reminder")) == 6


def test_a_reply_inside_a_close_batch_keeps_that_ticket_open(desk):
    url = desk.url
    conf = settings.load()
    codes = [reminded_ticket(desk, f"Ticket {n}") for n in range(4)]
    with opened(url):
        batch = tickets.due_for_autoclose(conf, clock.now())
    assert [t.code for t in batch] == codes
    desk.tix("reply", codes[1], "-m", "Wait, not solved.", as_="alpha")

    with opened(url):
        done = tickets.autoclose_batch(batch, conf=conf)
    assert [t.code for t in done] == [codes[0], codes[2], codes[3]]
    assert ticket(url, codes[1]).status == "customer-reply"
    assert events(url, codes[1], "closed") == []
    for code in (codes[0], codes[2], codes[3]):
        t = ticket(url, code)
        assert (t.status, t.close_reason, t.closed_by) == ("closed", "auto", "tix-jobs")
        assert [e.actor for e in events(url, code, "closed")] == ["system:tix-jobs"]
    assert len(outbox(url, kind="auto-closed")) == 3 * 2
    with opened(url):
        assert tickets.autoclose_batch(batch, conf=conf) == []


def test_batches_are_bounded_and_each_recipient_gets_the_template_of_their_language(desk, tmp_path):
    """TIX_BATCH_SIZE tickets per batch; the template (including a file override, read once a
    batch) is the recipient's."""
    url = desk.url
    override = paths.config_dir() / "templates"
    override.mkdir(parents=True)
    (override / "reminder.en.txt").write_text(
        "Subject: Still there? {subject}\n\nHi {name}, {code} closes in {close_after}.\n",
        encoding="utf-8",
    )
    codes = [waiting_ticket(desk, f"Ticket {n}", account="beta") for n in range(7)]
    spanish = waiting_ticket(desk, "Ticket es", account="alpha")
    result = jobs(url, "remind", "-vv", env={"TIX_BATCH_SIZE": "3"})
    assert "reminded 8," in result.stdout
    rows = outbox(url, kind="reminder")
    english = [r for r in rows if r.recipient == "owner@beta.test"]
    assert len(english) == 7 and all(
        r.subject.startswith("[") and "Still there? Ticket" in r.subject for r in english
    )
    assert all("closes in 24 hours." in r.raw for r in english)
    assert {r.subject for r in rows if r.recipient.endswith("@alpha.test")} == {
        f"[{spanish}] Esperamos su respuesta: Ticket es"
    }
    assert sorted(c for c in codes) == sorted(t for t in result.stdout.split() if t in codes)


def test_hostile_subjects_in_reminders_and_closing_notices_add_no_header(desk, smtp):
    server = smtp(Accept())
    url = desk.url
    due_reminder = [waiting_ticket(desk, s, account="beta") for s in HOSTILE_SUBJECTS]
    due_close = [reminded_ticket(desk, s, account="beta") for s in HOSTILE_SUBJECTS]
    set_ticket(url, due_reminder[0], subject="Legacy\r\nBcc: evil@evil.test\r\nX-Evil: 1")
    set_ticket(url, due_close[0], subject="Legacy\nBcc: evil@evil.test")
    jobs(url, "run", env=server.env())
    received = [
        i
        for i in server.handler.received
        if i["message"]["Auto-Submitted"]
        and (
            "Waiting for your answer" in str(i["message"]["Subject"])
            or "Closed:" in str(i["message"]["Subject"])
        )
    ]
    assert len(received) == 2 * len(HOSTILE_SUBJECTS)
    for item in received:
        message = item["message"]
        assert {name.lower() for name in message} <= EXPECTED_HEADERS
        assert all("evil" not in rcpt for rcpt in item["rcpt_tos"])
        assert "X-Evil" not in message and "Bcc" not in message
        header_block = item["raw"].split(b"\r\n\r\n", 1)[0]
        assert not any(
            line.lower().startswith((b"bcc", b"x-evil")) for line in header_block.split(b"\r\n")
        )


# -- emails written directly are the very text EmailMessage writes ------------------------------

PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
ANY_TEXT = st.text(max_size=220)


@pytest.mark.sqlite_only
@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    name=st.one_of(
        PRINTABLE, ANY_TEXT, st.sampled_from(["Olga Alpha", "", "José Pérez", "Smith, J."])
    ),
    email=st.one_of(
        st.sampled_from(["owner@alpha.test", "a.b+c@x-y.example", '"q"@x.y']), st.emails()
    ),
    subject=st.one_of(PRINTABLE, ANY_TEXT, st.sampled_from(HOSTILE_SUBJECTS)),
    body=st.one_of(PRINTABLE, ANY_TEXT),
    code=st.sampled_from([None, "K7QD-4MZP"]),
    kind=st.sampled_from(["reminder", "agent-reply"]),
    reply_key=st.sampled_from([None, "abcdefghijklmnopqrstuvwxyz234567"]),
    mail_from=st.one_of(
        st.sampled_from(
            [
                "support@acme.example",
                "Acme Hosting Support <support@acme.example>",
                "Soporte Técnico <soporte@acme.example>",
                '"Acme, Inc." <support@acme.example>',
                "Acme " + "Hosting " * 9 + "<support@acme.example>",
            ]
        ),
        st.builds(
            "{} <{}>".format,
            st.from_regex(r"[A-Za-z][A-Za-z' -]{0,70}[A-Za-z]", fullmatch=True),
            st.emails(),
        ),
    ),
    now=st.datetimes(
        min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1)
    ),
)
def test_raw_message_is_exactly_what_email_message_writes(
    backend, name, email, subject, body, code, kind, reply_key, mail_from, now
):
    conf = dataclasses.replace(settings.load(), mail_from=mail_from)
    recipient = mail.Recipient(email, name, "en")
    fast = mail.raw_message(
        kind=kind,
        code=code,
        subject=subject,
        body=body,
        recipient=recipient,
        message_id="<0123abcd@tix.test>",
        conf=conf,
        now=now,
        reply_key=reply_key,
    )
    message = mail.build(
        kind=kind,
        code=code,
        subject=subject,
        body=body,
        recipient=recipient,
        message_id="<0123abcd@tix.test>",
        conf=conf,
        now=now,
        reply_key=reply_key,
    )
    assert fast == (str(message["Subject"]), message.as_string())


# -- migration 0007 ---------------------------------------------------------------------------


def test_migration_0007_keeps_every_outbox_row_and_accepts_cancelled(backend, tmp_path, request):
    import peewee as pw

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        from conftest import pg_url

        url = pg_url(request.getfixturevalue("empty_pg_database"))
    db = store.connect(url)
    try:
        kind = store.dialect(db)
        migrations._ensure_migrations_table(db)
        apply = migrations._apply_sqlite if kind == "sqlite" else migrations._apply_postgresql
        for version, name, sql in migrations.available_migrations(kind):
            if version < 7:
                apply(db, version, name, sql)
        p = db.param
        now = clock.now()
        db.execute_sql(
            "INSERT INTO outbox (message_id, kind, recipient, subject, raw, status, attempts,"
            f" next_attempt_at, created_at, reminder_of, attempt_started_at) VALUES"
            f" ({p}, 'reminder', 'a@b.test', 'S', 'raw text', 'failed', 3, {p}, {p}, {p}, {p})",
            ("<old@x>", now, now, now, now),
        )
        before = db.execute_sql("SELECT * FROM outbox").fetchall()
        assert "0007_outbox_cancelled" in migrations.upgrade(db)
        assert db.execute_sql("SELECT * FROM outbox").fetchall() == before
        db.execute_sql("UPDATE outbox SET status = 'cancelled'")
        with pytest.raises(pw.IntegrityError):
            with db.atomic():
                db.execute_sql("UPDATE outbox SET status = 'bogus'")
    finally:
        db.close()


# -- the dispatcher reads indexes, never the whole outbox ----------------------------------------


def test_every_dispatcher_statement_reads_an_index_not_the_whole_outbox(desk, caplog):
    """The outbox grows by every email ever sent; what a run reads (claims, lease upkeep,
    expiry, the per-message writes, a dry run's list) must cost the same at 1M rows as at 100."""
    import logging

    url = desk.url
    code = waiting_ticket(desk)
    desk.tix("reply", desk.create("beta"), "-m", "Hi", as_="hosting_agent")
    jobs(url, "remind")
    with opened(url) as db:
        if store.dialect(db) == "postgresql":
            db.execute_sql("SET enable_seqscan = off")  # tiny tables: show what indexes can do
        conf = settings.load()
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            dispatch.notify(conf, dispatch.FolderTransport(paths.data_dir() / "mail"))
            tickets.cancel_pending_reminders([ticket(url, code).id])
            from tix import outbox as queue

            queue.retry_all_dead()
            queue.listing("dead", 10)
            queue.due(clock.now())  # what --dry-run lists
        statements = [
            r.msg
            for r in caplog.records
            if isinstance(r.msg, tuple)
            and "outbox" in r.msg[0]
            and not r.msg[0].startswith(("BEGIN", "COMMIT", "SELECT set_config"))
        ]
        assert len(statements) > 10
        for sql, params in statements:
            if store.dialect(db) == "sqlite":
                rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)
                plan = " | ".join(str(r[-1]) for r in rows)
                # A search, or a walk of a partial index (it holds the few rows in flight).
                assert not re.search(
                    r"\bSCAN (outbox|t1)\b(?! USING (COVERING )?INDEX "
                    r"outbox_(leases|claimable|attention))",
                    plan,
                ), (sql, plan)
            else:
                plan = " | ".join(r[0] for r in db.execute_sql("EXPLAIN " + sql, params))
                assert "Seq Scan on outbox" not in plan, (sql, plan)
