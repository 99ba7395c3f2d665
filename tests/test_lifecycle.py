"""Every transition of a ticket, allowed and refused: the status it leaves, the one event it
writes, the emails it queues (and to whom), and that a refused command writes nothing.

The desk (tests/conftest.py): account `alpha` (Spanish) has its owner, `dev@` (ticket emails on)
and `quiet@` (ticket emails off); the hosting department's agents are the admin and `hosting@`.
"""

import json
from datetime import datetime, timedelta

import deskdb
import pytest
from freezegun import freeze_time

T0 = datetime(2025, 3, 3, 10, 0, 0)
ALPHA_MAIL = ["dev@alpha.test", "owner@alpha.test"]  # owner + ticket-emails contacts
HOSTING_AGENTS = ["admin@host.test", "hosting@host.test"]


@pytest.fixture
def frozen():
    with freeze_time(T0) as frozen_time:
        yield frozen_time


class Watch:
    """What one command wrote: new events (kind, actor, before, after) and new outbox rows."""

    def __init__(self, desk, code):
        self.desk, self.code = desk, code
        self.events_before = len(deskdb.events(desk.url, code)) if code else 0
        self.outbox_before = deskdb.last_outbox_id(desk.url)

    @property
    def events(self):
        return [
            (e.kind, e.actor, json.loads(e.before or "null"), json.loads(e.after or "null"))
            for e in deskdb.events(self.desk.url, self.code)[self.events_before :]
        ]

    def mail(self):
        """{kind: sorted recipients} of the emails queued since the watch began."""
        result = {}
        for row in deskdb.outbox(self.desk.url):
            if row.id > self.outbox_before:
                result.setdefault(row.kind, []).append(row.recipient)
        return {kind: sorted(people) for kind, people in result.items()}


def status_of(desk, code):
    return deskdb.ticket(desk.url, code).status


def refused(desk, *args, as_, expect, message):
    """Run a command that must be refused: its exit code, its one-line message, and no writes."""
    before = deskdb.dump(desk.url)
    result = desk.tix(*args, as_=as_, expect=expect)
    assert result.stdout == ""
    assert result.stderr.startswith("tix: error: ") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert deskdb.dump(desk.url) == before, f"tix {' '.join(args)} was refused but wrote something"
    return result


# -- allowed transitions ---------------------------------------------------------------------


def test_create_opens_the_ticket_and_tells_customers_and_department(desk, frozen):
    code = desk.create("alpha", subject="Web down", priority="high")
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.status == "open"
    assert (ticket.priority, ticket.subject, ticket.created_at) == ("high", "Web down", T0)
    assert ticket.last_customer_activity_at == T0
    assert ticket.waiting_since is None and ticket.closed_at is None
    events = Watch(desk, code)
    events.events_before = 0
    assert events.events == [
        (
            "created",
            "contact:owner@alpha.test",
            None,
            {"department": "hosting", "priority": "high", "status": "open", "subject": "Web down"},
        )
    ]
    mail = {row.kind: [] for row in deskdb.outbox(desk.url, code)}
    for row in deskdb.outbox(desk.url, code):
        mail[row.kind].append(row.recipient)
    assert {k: sorted(v) for k, v in mail.items()} == {
        "ticket-created": ALPHA_MAIL,
        "agent-new-ticket": HOSTING_AGENTS,
    }


def test_opener_without_ticket_emails_still_gets_mail_about_own_ticket(desk, frozen):
    code = desk.create("alpha_quiet")
    recipients = sorted(
        r.recipient for r in deskdb.outbox(desk.url, code) if r.kind == "ticket-created"
    )
    assert recipients == ["dev@alpha.test", "owner@alpha.test", "quiet@alpha.test"]
    # ...but not about somebody else's ticket on the same account.
    other = desk.create("alpha_dev")
    recipients = sorted(
        r.recipient for r in deskdb.outbox(desk.url, other) if r.kind == "ticket-created"
    )
    assert recipients == ALPHA_MAIL


def test_ticket_filed_by_agent_does_not_mail_that_agent(desk, frozen):
    code = desk.create(
        "hosting_agent",
        "Renewal",
        "hosting",
        "medium",
        "Your domain expires.",
        "--account",
        "alpha",
    )
    mail = sorted((r.kind, r.recipient) for r in deskdb.outbox(desk.url, code))
    assert mail == [
        ("agent-new-ticket", "admin@host.test"),
        ("ticket-created", "dev@alpha.test"),
        ("ticket-created", "owner@alpha.test"),
    ]
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.last_customer_activity_at is None  # nobody on the customer side has spoken


def test_agent_reply_answers_and_starts_the_waiting_clock(desk, frozen):
    code = desk.create("alpha")
    frozen.tick(timedelta(minutes=30))
    watch = Watch(desk, code)
    out = desk.tix("reply", code, "-m", "Fixed, please check.", as_="hosting_agent")
    assert "status answered" in out.stdout
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.status == "answered"
    assert ticket.waiting_since == T0 + timedelta(minutes=30)
    assert ticket.last_agent_reply_at == T0 + timedelta(minutes=30)
    assert watch.events == [
        ("agent-reply", "agent:hosting@host.test", {"status": "open"}, {"status": "answered"})
    ]
    assert watch.mail() == {"agent-reply": ALPHA_MAIL}


def test_customer_reply_clears_the_clock_and_the_reminder(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
    # A reminder went out while waiting (the jobs set these fields).
    with deskdb.opened(desk.url):
        from tix.models import Ticket

        Ticket.update(reminded_at=T0, reminder_delivered_at=T0).where(Ticket.code == code).execute()
    frozen.tick(timedelta(hours=5))
    watch = Watch(desk, code)
    desk.tix("reply", code, "-m", "Still broken.", as_="alpha_dev")
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.status == "customer-reply"
    assert (ticket.waiting_since, ticket.reminded_at, ticket.reminder_delivered_at) == (
        None,
        None,
        None,
    )
    assert ticket.last_customer_activity_at == T0 + timedelta(hours=5)
    assert watch.events == [
        (
            "customer-reply",
            "contact:dev@alpha.test",
            {"status": "answered"},
            {"status": "customer-reply"},
        )
    ]
    assert watch.mail() == {"agent-customer-reply": HOSTING_AGENTS}


def test_customer_reply_goes_to_the_assignee_only_once_assigned(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reassign", code, "--agent", "hosting@host.test", as_="admin")
    watch = Watch(desk, code)
    desk.tix("reply", code, "-m", "Any news?", as_="alpha")
    assert watch.mail() == {"agent-customer-reply": ["hosting@host.test"]}


def test_customer_reply_to_a_closed_ticket_reopens_it(desk, frozen):
    code = desk.create("alpha")
    desk.tix("close", code, as_="hosting_agent")
    frozen.tick(timedelta(days=2))
    watch = Watch(desk, code)
    desk.tix("reply", code, "-m", "It broke again.", as_="alpha")
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.status == "open"
    assert (ticket.closed_at, ticket.closed_by, ticket.close_reason) == (None, None, None)
    # One change, one event: the reply reopened the ticket, and the agents hear it reopened.
    assert watch.events == [
        ("reopened", "contact:owner@alpha.test", {"status": "closed"}, {"status": "open"}),
    ]
    assert watch.mail() == {"reopened": HOSTING_AGENTS}


def test_internal_note_changes_nothing_and_mails_nobody(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
    before = deskdb.ticket(desk.url, code)
    frozen.tick(timedelta(hours=1))
    watch = Watch(desk, code)
    desk.tix("reply", code, "--internal", "-m", "Customer's PHP is ancient", as_="hosting_agent")
    after = deskdb.ticket(desk.url, code)
    assert after.__data__ == before.__data__  # not even updated_at: customers see that field
    assert watch.events == [
        ("note", "agent:hosting@host.test", {"status": "answered"}, {"status": "answered"})
    ]
    assert watch.mail() == {}


def test_close_by_agent_records_who_and_why(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
    frozen.tick(timedelta(hours=1))
    watch = Watch(desk, code)
    assert desk.tix("close", code, as_="hosting_agent").stdout.strip() == f"closed {code}"
    ticket = deskdb.ticket(desk.url, code)
    assert ticket.status == "closed"
    assert (ticket.closed_at, ticket.closed_by, ticket.close_reason) == (
        T0 + timedelta(hours=1),
        "hosting@host.test",
        "agent",
    )
    assert ticket.waiting_since is None  # nothing to remind about any more
    assert watch.events == [
        (
            "closed",
            "agent:hosting@host.test",
            {"status": "answered"},
            {"reason": "agent", "status": "closed"},
        )
    ]
    assert watch.mail() == {"closed": ALPHA_MAIL}


def test_close_by_customer_records_who_and_why(desk, frozen):
    code = desk.create("alpha")
    watch = Watch(desk, code)
    desk.tix("close", code, as_="alpha_dev")
    ticket = deskdb.ticket(desk.url, code)
    assert (ticket.status, ticket.closed_by, ticket.close_reason) == (
        "closed",
        "dev@alpha.test",
        "customer",
    )
    assert watch.events == [
        (
            "closed",
            "contact:dev@alpha.test",
            {"status": "open"},
            {"reason": "customer", "status": "closed"},
        )
    ]
    assert watch.mail() == {"closed": ALPHA_MAIL}


def test_reopen_by_customer_tells_the_agents(desk, frozen):
    code = desk.create("alpha")
    desk.tix("close", code, as_="hosting_agent")
    frozen.tick(timedelta(days=1))
    watch = Watch(desk, code)
    desk.tix("reopen", code, "-m", "Not fixed after all.", as_="alpha")
    ticket = deskdb.ticket(desk.url, code)
    assert (ticket.status, ticket.closed_at, ticket.close_reason) == ("open", None, None)
    assert ticket.last_customer_activity_at == T0 + timedelta(days=1)
    assert watch.events == [
        ("reopened", "contact:owner@alpha.test", {"status": "closed"}, {"status": "open"})
    ]
    assert watch.mail() == {"reopened": HOSTING_AGENTS}
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="alpha").stdout)
    assert shown["messages"][-1]["body"] == "Not fixed after all."


def test_reopen_by_agent_tells_the_customers(desk, frozen):
    code = desk.create("alpha")
    desk.tix("close", code, as_="alpha")
    watch = Watch(desk, code)
    desk.tix("reopen", code, as_="hosting_agent")
    assert status_of(desk, code) == "open"
    assert watch.events == [
        ("reopened", "agent:hosting@host.test", {"status": "closed"}, {"status": "open"})
    ]
    assert watch.mail() == {"reopened": ALPHA_MAIL}


def test_agent_sets_in_progress_or_on_hold(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reply", code, "-m", "Looking", as_="hosting_agent")
    previous = "answered"
    for new_status in ("in-progress", "on-hold", "in-progress"):
        watch = Watch(desk, code)
        desk.tix("status", code, new_status, as_="hosting_agent")
        ticket = deskdb.ticket(desk.url, code)
        assert ticket.status == new_status
        assert ticket.waiting_since is None  # only `answered` waits on the customer
        assert watch.events == [
            ("status", "agent:hosting@host.test", {"status": previous}, {"status": new_status})
        ]
        assert watch.mail() == {"status-changed": ALPHA_MAIL}
        previous = new_status


def test_reassign_department_agent_and_priority(desk, frozen):
    code = desk.create("alpha")
    watch = Watch(desk, code)
    desk.tix(
        "reassign",
        code,
        "--department",
        "billing",
        "--agent",
        "billing@host.test",
        "--priority",
        "emergency",
        as_="hosting_agent",
    )
    ticket = deskdb.ticket(desk.url, code)
    with deskdb.opened(desk.url):
        assert (ticket.department.slug, ticket.assignee.email, ticket.priority) == (
            "billing",
            "billing@host.test",
            "emergency",
        )
    assert ticket.status == "open"
    assert watch.events == [
        (
            "reassigned",
            "agent:hosting@host.test",
            {"assignee": None, "department": "hosting", "priority": "medium"},
            {"assignee": "billing@host.test", "department": "billing", "priority": "emergency"},
        )
    ]
    assert watch.mail() == {"agent-assigned": ["billing@host.test"]}


def test_reassign_priority_alone_and_unassign_mail_nobody(desk, frozen):
    code = desk.create("alpha")
    desk.tix("reassign", code, "--agent", "hosting@host.test", as_="hosting_agent")
    watch = Watch(desk, code)
    desk.tix("reassign", code, "--priority", "low", as_="hosting_agent")
    desk.tix("reassign", code, "--agent", "none", as_="hosting_agent")
    assert [e[0] for e in watch.events] == ["reassigned", "reassigned"]
    assert watch.events[1][2:] == ({"assignee": "hosting@host.test"}, {"assignee": None})
    assert watch.mail() == {}
    ticket = deskdb.ticket(desk.url, code)
    assert (ticket.priority, ticket.assignee_id) == ("low", None)


def test_a_failure_while_queueing_mail_undoes_the_whole_change(desk, frozen, tmp_path):
    """The ticket update, its event and its emails are one transaction: the third recipient's
    email fails to render, and the status, the event and the first two emails are all undone."""
    code = desk.create("alpha_quiet")  # recipients: owner (es), dev (es), quiet (en)
    broken = tmp_path / "config" / "tix" / "templates" / "agent-reply.en.txt"
    broken.parent.mkdir(parents=True)
    broken.write_text("Subject: {subject}\n\n{0} is not a field\n")
    before = deskdb.dump(desk.url)
    with pytest.raises(ValueError):
        desk.tix("reply", code, "-m", "Done", as_="hosting_agent")
    assert deskdb.dump(desk.url) == before
    assert status_of(desk, code) == "open"


# -- refused transitions ---------------------------------------------------------------------


def test_agent_cannot_reply_to_a_closed_ticket(desk, frozen):
    code = desk.create("alpha")
    desk.tix("close", code, as_="alpha")
    refused(desk, "reply", code, "-m", "hello", as_="hosting_agent", expect=4, message="closed")


def test_cannot_close_a_closed_ticket(desk, frozen):
    code = desk.create("alpha")
    desk.tix("close", code, as_="alpha")
    refused(desk, "close", code, as_="alpha", expect=4, message="already closed")
    refused(desk, "close", code, as_="hosting_agent", expect=4, message="already closed")


def test_cannot_reopen_a_ticket_that_is_not_closed(desk, frozen):
    for status in ("open", "answered", "customer-reply", "in-progress", "on-hold"):
        code = desk.create("alpha")
        if status == "answered":
            desk.tix("reply", code, "-m", "x", as_="hosting_agent")
        elif status == "customer-reply":
            desk.tix("reply", code, "-m", "x", as_="hosting_agent")
            desk.tix("reply", code, "-m", "y", as_="alpha")
        elif status != "open":
            desk.tix("status", code, status, as_="hosting_agent")
        assert status_of(desk, code) == status
        refused(desk, "reopen", code, as_="alpha", expect=4, message="nothing to reopen")
        refused(
            desk,
            "reopen",
            code,
            "-m",
            "why",
            as_="hosting_agent",
            expect=4,
            message="nothing to reopen",
        )


def test_status_refusals(desk, frozen):
    code = desk.create("alpha")
    refused(desk, "status", code, "on-hold", as_="alpha", expect=4, message="only agents")
    for lifecycle_status in ("open", "answered", "customer-reply", "closed"):
        refused(
            desk,
            "status",
            code,
            lifecycle_status,
            as_="hosting_agent",
            expect=2,
            message="not by hand",
        )
    refused(
        desk, "status", code, "waiting", as_="hosting_agent", expect=2, message="unknown status"
    )
    desk.tix("status", code, "on-hold", as_="hosting_agent")
    refused(
        desk, "status", code, "on-hold", as_="hosting_agent", expect=4, message="already on-hold"
    )
    desk.tix("close", code, as_="hosting_agent")
    refused(desk, "status", code, "in-progress", as_="hosting_agent", expect=4, message="closed")


def test_reassign_refusals(desk, frozen):
    code = desk.create("alpha")
    refused(
        desk, "reassign", code, "--priority", "high", as_="alpha", expect=4, message="only agents"
    )
    refused(
        desk,
        "reassign",
        code,
        "--department",
        "billing",
        as_="alpha_dev",
        expect=4,
        message="only agents",
    )
    refused(desk, "reassign", code, as_="hosting_agent", expect=2, message="nothing to change")
    refused(
        desk,
        "reassign",
        code,
        "--department",
        "nope",
        as_="hosting_agent",
        expect=2,
        message="unknown department",
    )
    refused(
        desk,
        "reassign",
        code,
        "--agent",
        "ghost@host.test",
        as_="hosting_agent",
        expect=3,
        message="no agent",
    )
    refused(
        desk,
        "reassign",
        code,
        "--agent",
        "owner@alpha.test",
        as_="hosting_agent",
        expect=3,
        message="no agent",
    )
    refused(
        desk,
        "reassign",
        code,
        "--priority",
        "urgent",
        as_="hosting_agent",
        expect=2,
        message="unknown priority",
    )
    # A valid department with an invalid agent changes neither.
    refused(
        desk,
        "reassign",
        code,
        "--department",
        "billing",
        "--agent",
        "ghost@host.test",
        as_="hosting_agent",
        expect=3,
        message="no agent",
    )
    refused(
        desk,
        "reassign",
        code,
        "--department",
        "hosting",
        "--priority",
        "medium",
        as_="hosting_agent",
        expect=4,
        message="already has those values",
    )


def test_customers_cannot_write_internal_notes(desk, frozen):
    code = desk.create("alpha")
    refused(
        desk,
        "reply",
        code,
        "--internal",
        "-m",
        "psst",
        as_="alpha",
        expect=4,
        message="only agents",
    )


def test_empty_reply_is_refused(desk, frozen):
    code = desk.create("alpha")
    refused(desk, "reply", code, "-m", "  \n ", as_="hosting_agent", expect=2, message="empty")
    refused(desk, "reply", code, "-m", "", as_="alpha", expect=2, message="empty")
