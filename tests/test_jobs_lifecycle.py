"""tix-jobs and the ticket lifecycle: reminders and auto-close as a customer lives them, with the
clock moved by freezegun. With no SMTP server configured, mail goes to the mail folder, which
counts as delivered (the embedded default)."""

import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from freezegun import freeze_time
from jobs_support import events, jobs, opened, outbox, set_ticket, snapshot, ticket

from tix import paths, settings, tickets

H = timedelta(hours=1)
M = timedelta(minutes=1)
START = datetime(2025, 1, 6, 9, 0, 0)  # a Monday, UTC


def mail_folder():
    return paths.data_dir() / "mail"


def folder_mail(kind_subject: str) -> list:
    """The emails in the mail folder whose subject contains `kind_subject`."""
    found = []
    for path in sorted(mail_folder().glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if kind_subject in message["Subject"]:
            found.append(message)
    return found


def answered_ticket(desk, subject="Site down") -> str:
    code = desk.create("alpha", subject=subject)
    desk.tix("reply", code, "-m", "We restarted it; does it work now?", as_="hosting_agent")
    return code


def test_whole_life_of_a_ticket_waiting_on_the_customer(desk):
    url = desk.url
    with freeze_time(START) as frozen:
        code = answered_ticket(desk)
        jobs(url, "run")  # the notices of the creation and the answer go out

        frozen.move_to(START + 47 * H + 59 * M)
        assert "reminded 0," in jobs(url, "run").stdout
        assert outbox(url, kind="reminder") == []

        frozen.move_to(START + 48 * H)
        result = jobs(url, "run", "-vv")
        assert "reminded 1, closed 0" in result.stdout
        assert f"reminded {code}" in result.stdout
        # One reminder each to the owner and the contact with ticket emails; not the quiet one.
        reminders = outbox(url, kind="reminder")
        assert sorted(r.recipient for r in reminders) == ["dev@alpha.test", "owner@alpha.test"]
        assert all(r.status == "sent" for r in reminders)
        # Both contacts of alpha read Spanish (the account's language).
        spanish = folder_mail("Esperamos su respuesta")
        assert sorted(m["To"].addresses[0].addr_spec for m in spanish) == [
            "dev@alpha.test",
            "owner@alpha.test",
        ]
        assert all(m["Subject"].startswith(f"[{code}] ") for m in spanish)
        assert "se cerrará en 24 horas si no contesta" in spanish[0].get_content()
        assert ticket(url, code).reminder_delivered_at == START + 48 * H

        # A second run the same hour (or the next) sends no second reminder.
        frozen.move_to(START + 49 * H)
        assert "reminded 0, closed 0, sent 0" in jobs(url, "run").stdout
        assert len(outbox(url, kind="reminder")) == 2

        # The customer answers: the clock and the reminder are cleared.
        frozen.move_to(START + 50 * H)
        desk.tix("reply", code, "-m", "Still broken.", as_="alpha")
        t = ticket(url, code)
        assert (t.status, t.waiting_since, t.reminded_at, t.reminder_delivered_at) == (
            "customer-reply",
            None,
            None,
            None,
        )
        frozen.move_to(START + 80 * H)
        assert "reminded 0, closed 0" in jobs(url, "run").stdout

        # The agent answers again: a fresh 48 h wait, a fresh reminder.
        desk.tix("reply", code, "-m", "Try now, please.", as_="hosting_agent")
        second_wait = START + 80 * H
        frozen.move_to(second_wait + 47 * H)
        assert "reminded 0," in jobs(url, "run").stdout
        frozen.move_to(second_wait + 48 * H)
        assert "reminded 1," in jobs(url, "run").stdout
        delivered = ticket(url, code).reminder_delivered_at
        assert delivered == second_wait + 48 * H

        # Closed 24 h after the reminder was delivered, not a minute before.
        frozen.move_to(delivered + 23 * H + 59 * M)
        assert "closed 0," in jobs(url, "run").stdout
        frozen.move_to(delivered + 24 * H)
        result = jobs(url, "run", "-vv")
        assert "closed 1," in result.stdout and f"closed {code}" in result.stdout
        t = ticket(url, code)
        assert (t.status, t.close_reason, t.closed_at) == ("closed", "auto", delivered + 24 * H)
        assert [e.actor for e in events(url, code, "closed")] == ["system:tix-jobs"]
        assert len(outbox(url, kind="auto-closed")) == 2
        assert len(folder_mail("Cerrado:")) == 2

        frozen.move_to(delivered + 30 * H)
        assert "reminded 0, closed 0, sent 0" in jobs(url, "run").stdout
        assert len(outbox(url, kind="auto-closed")) == 2

        # Reopening works, and the reopened ticket is not waiting on anyone.
        desk.tix("reopen", code, "-m", "It broke again.", as_="alpha")
        t = ticket(url, code)
        assert (t.status, t.close_reason, t.reminded_at) == ("open", None, None)
        frozen.move_to(delivered + 100 * H)
        assert "reminded 0, closed 0" in jobs(url, "run").stdout


@pytest.fixture
def madrid(monkeypatch):
    """The server's local zone is Europe/Madrid (CET/CEST) for this test."""
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.mark.parametrize(
    "answered_at, label",
    [
        # 11:00 CET on the Saturday before clocks go forward (31 March 2024, 02:00 -> 03:00).
        (datetime(2024, 3, 30, 10, 0), "spring forward"),
        # 12:00 CEST on the Saturday before clocks go back (27 October 2024, 03:00 -> 02:00).
        (datetime(2024, 10, 26, 10, 0), "fall back"),
    ],
)
def test_waits_are_real_hours_across_dst_changes(desk, madrid, answered_at, label):
    """48 h means 48 elapsed hours, whatever the wall clock of the server says: in spring the
    wall clock shows 49 h at that moment, in autumn 47 h."""
    url = desk.url
    with freeze_time(answered_at) as frozen:
        code = answered_ticket(desk)
        frozen.move_to(answered_at + 48 * H - M)
        assert "reminded 0," in jobs(url, "run").stdout, label
        frozen.move_to(answered_at + 48 * H)
        assert "reminded 1," in jobs(url, "run").stdout, label
        delivered = ticket(url, code).reminder_delivered_at
        frozen.move_to(delivered + 24 * H - M)
        assert "closed 0," in jobs(url, "run").stdout, label
        frozen.move_to(delivered + 24 * H)
        assert "closed 1," in jobs(url, "run").stdout, label


def test_catch_up_after_downtime_reminds_first_and_closes_nothing_unreminded(desk):
    url = desk.url
    down = {"TIX_SMTP_HOST": "127.0.0.1", "TIX_SMTP_PORT": "9", "TIX_SMTP_SECURITY": "none"}
    with freeze_time(START) as frozen:
        codes = [answered_ticket(desk, f"Ticket {n}") for n in range(3)]
        # Five days without a single run, then the mail server is down for the first ones.
        frozen.move_to(START + 5 * 24 * H)
        result = jobs(url, "run", env=down, expect=1)
        assert "reminded 3, closed 0," in result.stdout
        assert "cannot connect to SMTP server 127.0.0.1:9" in result.stderr
        frozen.move_to(START + 7 * 24 * H)
        assert "reminded 0, closed 0," in jobs(url, "run", env=down, expect=1).stdout
        assert all(ticket(url, c).reminder_delivered_at is None for c in codes)

        # The mail flows again: the reminders go out now, the close comes 24 h later.
        back = START + 7 * 24 * H + H
        frozen.move_to(back)
        result = jobs(url, "run")
        assert "reminded 0, closed 0," in result.stdout
        assert all(ticket(url, c).reminder_delivered_at == back for c in codes)
        frozen.move_to(back + 23 * H)
        assert "closed 0," in jobs(url, "run").stdout
        frozen.move_to(back + 24 * H)
        assert "closed 3," in jobs(url, "run").stdout


def test_work_is_done_in_bounded_batches_within_one_run(desk):
    url = desk.url
    with freeze_time(START) as frozen:
        codes = [answered_ticket(desk, f"Ticket {n}") for n in range(5)]
        frozen.move_to(START + 48 * H)
        result = jobs(url, "run", env={"TIX_BATCH_SIZE": "2"})
        rows = outbox(url)
        assert f"reminded 5, closed 0, sent {len(rows)}," in result.stdout
        assert {r.status for r in rows} == {"sent"} and len(outbox(url, kind="reminder")) == 10
        assert all(ticket(url, c).reminder_delivered_at for c in codes)


def test_a_reply_between_select_and_update_wins(desk):
    """The job selected the ticket, then the customer answered: the compare-and-set matches
    nothing, so no reminder, no event, no email."""
    url = desk.url
    conf = settings.load()
    with freeze_time(START) as frozen:
        code = answered_ticket(desk)
        frozen.move_to(START + 48 * H)
        with opened(url):
            stale = tickets.due_for_reminder(conf, START + 48 * H)
        assert [t.code for t in stale] == [code]
        desk.tix("reply", code, "-m", "Here I am.", as_="alpha")
        with opened(url):
            assert tickets.remind(stale[0], conf=conf) is False
        assert outbox(url, kind="reminder") == [] and events(url, code, "reminded") == []

        # Same for the close: a reply lands after the job picked the ticket.
        desk.tix("reply", code, "-m", "Answered.", as_="hosting_agent")
        frozen.move_to(START + 96 * H)
        jobs(url, "run")
        frozen.move_to(START + 120 * H)
        with opened(url):
            stale = tickets.due_for_autoclose(conf, START + 120 * H)
        assert [t.code for t in stale] == [code]
        desk.tix("reply", code, "-m", "Wait, one more thing.", as_="alpha")
        with opened(url):
            assert tickets.autoclose(stale[0], conf=conf) is False
        assert ticket(url, code).status == "customer-reply"
        assert outbox(url, kind="auto-closed") == [] and events(url, code, "closed") == []


def test_a_reminder_stuck_in_the_queue_is_cancelled_by_the_reply_and_arms_nothing(desk):
    """A reminder stuck in the queue while the customer replied and the agent answered again is
    cancelled by the reply (never sent late: it would announce a close that is not coming), and
    the new wait is not shortened by it. (A reminder already being handed over when the reply
    lands: tests/test_jobs_batching.py.)"""
    url = desk.url
    down = {"TIX_SMTP_HOST": "127.0.0.1", "TIX_SMTP_PORT": "9", "TIX_SMTP_SECURITY": "none"}
    with freeze_time(START) as frozen:
        code = answered_ticket(desk)
        frozen.move_to(START + 48 * H)
        jobs(url, "run", env=down, expect=1)  # reminder queued, not delivered
        desk.tix("reply", code, "-m", "Sorry, was away.", as_="alpha")
        desk.tix("reply", code, "-m", "No problem, try this.", as_="hosting_agent")
        frozen.move_to(START + 50 * H)
        jobs(url, "run")  # the mail flows again; the old reminder stays unsent
        reminders = outbox(url, kind="reminder")
        assert [(r.status, r.attempts) for r in reminders] == [("cancelled", 1)] * 2
        assert {r.status for r in outbox(url) if r.kind != "reminder"} == {"sent"}
        listing = jobs(url, "outbox", "--status", "cancelled", "--format", "json").stdout
        assert listing.count('"kind": "reminder"') == 2 and "stopped waiting" in listing
        t = ticket(url, code)
        assert (t.status, t.reminded_at, t.reminder_delivered_at) == ("answered", None, None)
        frozen.move_to(START + 75 * H)
        assert "reminded 0, closed 0," in jobs(url, "run").stdout
        assert ticket(url, code).status == "answered"


def test_dry_run_changes_nothing(desk):
    url = desk.url
    with freeze_time(START) as frozen:
        due_reminder = answered_ticket(desk, "Needs a reminder")
        due_close = answered_ticket(desk, "Needs closing")
        set_ticket(url, due_close, reminded_at=START - 30 * H, reminder_delivered_at=START - 25 * H)
        frozen.move_to(START + 48 * H)
        before = snapshot(url)
        for command in ("run", "remind", "autoclose", "notify"):
            result = jobs(url, command, "--dry-run", "-vv")
            assert "dry run:" in result.stdout
        result = jobs(url, "run", "--dry-run", "-vv")
        assert f"would remind {due_reminder}" in result.stdout
        assert f"would close {due_close}" in result.stdout
        assert f"dry run: would remind 1, close 1, send {len(outbox(url))}" in result.stdout
        assert snapshot(url) == before
        assert not mail_folder().exists()


@pytest.mark.parametrize(
    "name, value",
    [
        ("TIX_REMIND_AFTER", "0h"),
        ("TIX_REMIND_AFTER", "-5h"),
        ("TIX_REMIND_AFTER", "soon"),
        ("TIX_REMIND_AFTER", "48"),
        ("TIX_CLOSE_AFTER", "0m"),
        ("TIX_CLOSE_AFTER", ""),
        ("TIX_OUTBOX_LIFETIME", "0d"),
        ("TIX_SMTP_CONNECTIONS", "0"),
        ("TIX_SMTP_SECURITY", "ssl3"),
        ("TIX_OUTBOX_LEASE", "never"),
    ],
)
def test_bad_settings_are_refused_at_start_up(desk, name, value):
    url = desk.url
    with freeze_time(START) as frozen:
        answered_ticket(desk)
        frozen.move_to(START + 72 * H)
        before = snapshot(url)
        env = {name: value}
        if name.startswith("TIX_SMTP"):
            env["TIX_SMTP_HOST"] = "127.0.0.1"
        result = jobs(url, "run", env=env, expect=2)
        assert result.stdout == ""
        assert result.stderr.startswith(f"tix-jobs: error: {name}")
        assert result.stderr.count("\n") == 1
        assert snapshot(url) == before
