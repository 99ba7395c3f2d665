"""`tix-jobs escalate` and the escalate step of `tix-jobs run`: a rule fires once per
ticket per waiting period, its changes, event and emails in one go; bad rules change nothing."""

import json
from datetime import datetime, timedelta

import deskdb
import pytest
from freezegun import freeze_time
from jobs_support import jobs

T0 = datetime(2025, 3, 3, 10, 0, 0)

RULES = """
[[rule]]
name = "emergency-waiting"
department = "hosting"
priority = ["high", "emergency"]
waiting = "15m"
raise_priority = "emergency"
notify = "billing@host.test"

[[rule]]
name = "stale-medium"
priority = "medium"
status = ["open", "customer-reply", "in-progress"]
waiting = "2h"
reassign = "hosting@host.test"
"""


@pytest.fixture
def rules(tmp_path, monkeypatch):
    path = tmp_path / "escalation.toml"
    path.write_text(RULES)
    monkeypatch.setenv("TIX_ESCALATION_RULES", str(path))
    return path


@pytest.fixture
def frozen():
    with freeze_time(T0) as frozen_time:
        yield frozen_time


def escalations(desk, code):
    return [
        (json.loads(e.before), json.loads(e.after))
        for e in deskdb.events(desk.url, code)
        if e.kind == "escalated"
    ]


def test_a_rule_fires_once_per_waiting_period(desk, rules, frozen):
    code = desk.create("alpha", "Server down", priority="high")
    frozen.tick(timedelta(minutes=14, seconds=59))
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 0"

    frozen.tick(timedelta(seconds=1))
    before = deskdb.last_outbox_id(desk.url)
    out = jobs(desk.url, "escalate", "-vv").stdout
    assert out.splitlines() == [
        f"escalated {code} (emergency-waiting: priority emergency, notified billing@host.test)",
        "escalated 1",
    ]
    assert deskdb.ticket(desk.url, code).priority == "emergency"
    assert escalations(desk, code) == [
        (
            {"priority": "high"},
            {"rule": "emergency-waiting", "priority": "emergency", "notified": "billing@host.test"},
        )
    ]
    assert deskdb.mails(desk.url, after_id=before) == [("agent-escalated", "billing@host.test")]
    escalated_mail = deskdb.outbox(desk.url)[-1]
    assert "Escalado (emergency-waiting)" in escalated_mail.raw  # billing@ reads Spanish

    # Later runs, and the ticket changing in ways that are not a new customer message, do not
    # fire it again: the customer is still in the same wait.
    frozen.tick(timedelta(minutes=30))
    desk.tix("status", code, "in-progress", as_="admin")
    desk.tix("status", code, "on-hold", as_="admin")
    desk.tix("reply", code, "--internal", "-m", "looking", as_="admin")
    desk.tix("reassign", code, "--agent", "admin@host.test", as_="hosting_agent")
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 0"
    assert len(escalations(desk, code)) == 1

    # An agent answers; the customer writes again: a new wait, and after 15 minutes a new firing.
    desk.tix("reply", code, "-m", "Restarted, better?", as_="admin")
    frozen.tick(timedelta(hours=3))
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 0"  # answered: not waiting on us
    desk.tix("reply", code, "-m", "No, still down", as_="alpha")
    frozen.tick(timedelta(minutes=10))
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 0"
    frozen.tick(timedelta(minutes=5))
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 1"
    # Already emergency: the second firing only notifies.
    assert escalations(desk, code)[-1] == (
        {},
        {"rule": "emergency-waiting", "notified": "billing@host.test"},
    )
    assert jobs(desk.url, "escalate").stdout.strip() == "escalated 0"


def test_reassign_rule_conditions_and_run_step(desk, rules, frozen):
    stale = desk.create("beta", "Slow site", priority="medium")
    billing = desk.create("beta", "Invoice", department="billing", priority="medium")
    low = desk.create("beta", "Question", priority="low")
    answered = desk.create("beta", "Answered one", priority="medium")
    desk.tix("reply", answered, "-m", "Done", as_="admin")
    frozen.tick(timedelta(hours=2))

    dry = jobs(desk.url, "escalate", "--dry-run", "-vv").stdout.splitlines()
    assert sorted(dry[:-1]) == sorted(
        f"would escalate {c} (stale-medium: reassign to hosting@host.test)"
        for c in (stale, billing)
    )
    assert dry[-1] == "dry run: would escalate 2"
    assert escalations(desk, stale) == []

    before = deskdb.last_outbox_id(desk.url)
    run = jobs(desk.url, "run", "-vv").stdout.splitlines()
    assert f"escalated {stale} (stale-medium: assigned to hosting@host.test)" in run
    assert run[-1].startswith("reminded 0, closed 0, escalated 2, sent ")
    for code in (stale, billing):
        assert escalations(desk, code) == [
            ({"assignee": None}, {"rule": "stale-medium", "assignee": "hosting@host.test"})
        ]
        assert deskdb.ticket(desk.url, code).assignee_id is not None
    assert escalations(desk, low) == [] and escalations(desk, answered) == []
    # The run's notify step sent the assignment emails the escalation queued.
    assignment = [
        r for r in deskdb.outbox(desk.url) if r.id > before and r.kind == "agent-assigned"
    ]
    assert [(r.recipient, r.status) for r in assignment] == [("hosting@host.test", "sent")] * 2
    assert jobs(desk.url, "run").stdout.startswith("reminded 0, closed 0, escalated 0, sent 0")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[rule]]\nname = 'x'\nwaiting = '1h'\n", "give at least one of raise_priority"),
        ("[[rule]]\nname = 'x'\nwaiting = 'soon'\nnotify = 'admin@host.test'\n", "not a duration"),
        (
            "[[rule]]\nname = 'x'\nwaiting = '1h'\nnotify = 'nobody@host.test'\n",
            "no active agent 'nobody@host.test'",
        ),
        (
            "[[rule]]\nname = 'x'\nwaiting = '1h'\ndepartment = 'nope'\nnotify = 'admin@host.test'\n",
            "unknown department 'nope'",
        ),
        (
            "[[rule]]\nname = 'x'\nwaiting = '1h'\npriority = 'urgent'\nnotify = 'admin@host.test'\n",
            "unknown 'urgent'",
        ),
        (
            "[[rule]]\nname = 'x'\nwaiting = '1h'\nnotfy = 'admin@host.test'\n",
            "unknown key(s) notfy",
        ),
        (
            "[[rule]]\nname = 'x'\nwaiting = '1h'\nraise_priority = 'high'\n[[rule]]\nname = 'x'\n"
            "waiting = '2h'\nraise_priority = 'high'\n",
            "used twice",
        ),
        ("rule = [", "not valid TOML"),
    ],
)
def test_a_bad_rules_file_is_refused_before_anything_changes(
    desk, tmp_path, monkeypatch, frozen, text, message
):
    code = desk.create("alpha", "Old", priority="high")
    frozen.tick(timedelta(days=3))
    path = tmp_path / "bad.toml"
    path.write_text(text)
    monkeypatch.setenv("TIX_ESCALATION_RULES", str(path))
    before = deskdb.dump(desk.url)
    for command in ("escalate", "run"):
        result = jobs(desk.url, command, expect=2)
        assert message in result.stderr and result.stderr.startswith("tix-jobs: error: ")
    assert deskdb.dump(desk.url) == before
    assert deskdb.ticket(desk.url, code).priority == "high"


def test_no_rules_file_means_nothing_to_do(desk, tmp_path, monkeypatch):
    # No TIX_ESCALATION_RULES and no <config>/escalation.toml: escalation is simply not used.
    default = tmp_path / "config" / "tix" / "escalation.toml"
    assert jobs(desk.url, "escalate").stdout.strip() == (
        f"no escalation rules in {default}: nothing to do"
    )
    assert "escalated" not in jobs(desk.url, "run").stdout


def test_a_rules_file_named_explicitly_must_exist(desk, tmp_path, monkeypatch):
    """TIX_ESCALATION_RULES pointing nowhere (a typo in cron's environment) is a configuration
    error, exit 2, for `escalate` and for `run`, not a quiet "nothing to do"."""
    monkeypatch.setenv("TIX_ESCALATION_RULES", str(tmp_path / "absent.toml"))
    before = deskdb.dump(desk.url)
    for command in ("escalate", "run"):
        result = jobs(desk.url, command, expect=2)
        assert "TIX_ESCALATION_RULES: no such file" in result.stderr and result.stdout == ""
    assert deskdb.dump(desk.url) == before
