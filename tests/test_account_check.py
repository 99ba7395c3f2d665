"""The account check from `tix create` to `tix show`, on real servers on loopback: a site that
answers 500 with WordPress's database error page is in the new ticket's diagnosis and on the
customer's terminal in Spanish; a banned IP is found and, with consent, unbanned in a real
fail2ban; a URL aimed at cloud metadata or loopback makes no connection there."""

import json

import deskdb
import pytest
from diagfixtures import connections, world  # noqa: F401
from diagworld import Page
from test_diagnosis_firewall import JAIL, f2b, fail2ban  # noqa: F401

DB_ERROR = "<html><body><h1>Error establishing a database connection</h1></body></html>"


@pytest.fixture
def checked(desk, world, monkeypatch):
    """The alpha account's site is alpha.test of the loopback world, on its own server."""
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TIX_DIAGNOSIS", "on")
    with deskdb.opened(desk.url):
        from tix.models import Service

        Service.update(kind="hosting", server_ip=world.web.ip).where(
            Service.name == "alpha.test"
        ).execute()
    return desk


def test_a_database_error_page_is_in_the_diagnosis_and_told_in_spanish(checked, world):
    world.serve("alpha.test", "/", Page(500, DB_ERROR), scheme="https")
    args = ["create", "-d", "hosting", "-s", "No veo mi web", "-m", "No veo www.alpha.test"]
    created = json.loads(checked.tix(*args, "--yes", "--format", "json", as_="alpha").stdout)
    failures = {r["check_id"] for r in created["diagnosis"]["results"] if r["status"] == "fail"}
    assert "web.page.database" in failures
    assert created["diagnosis"]["checks"] > 40
    # What the customer reads: problems only, no facts, no private rows, in their language.
    assert all(
        set(r) == {"run_id", "at", "check_id", "target", "status", "text_en", "text_es"}
        for r in created["diagnosis"]["results"]
    )
    human = checked.tix(*args, "--yes", as_="alpha").stdout
    assert "comprobación de la cuenta" in human and "base de datos" in human
    # The technician sees every result with its facts, and the check's summary in the note.
    shown = json.loads(checked.tix("show", created["code"], "--format", "json").stdout)
    assert len(shown["diagnosis"]["results"]) == shown["diagnosis"]["checks"] > 40
    assert any(r["facts"] for r in shown["diagnosis"]["results"])
    notes = [m["body"] for m in shown["messages"] if m["internal"]]
    assert any("Account check:" in n and "web.page.database" in n for n in notes)
    # The customer's own `tix show` hides the internal note and the facts alike.
    theirs = json.loads(
        checked.tix("show", created["code"], "--format", "json", as_="alpha").stdout
    )
    assert not any(m["internal"] for m in theirs["messages"])
    assert all("facts" not in r for r in theirs["diagnosis"]["results"])


def test_a_banned_ip_is_unbanned_in_fail2ban_with_consent(checked, fail2ban, monkeypatch):
    monkeypatch.setenv("TIX_FAIL2BAN_CLIENT", " ".join(fail2ban))
    f2b(fail2ban, "set", JAIL, "banip", "203.0.113.7")
    text = "Mi IP 203.0.113.7 está bloqueada, no entro en https://alpha.test/wp-admin"
    args = ["create", "-d", "hosting", "-s", "IP bloqueada", "-m", text, "--format", "json"]
    # Without consent (a script, no --fix): the fix is offered, nothing is unbanned.
    offered = json.loads(checked.tix(*args, "--yes", as_="alpha").stdout)
    [fix] = offered["diagnosis"]["fixes"]
    assert fix["kind"] == "fail2ban.unban" and "203.0.113.7" in fix["text"]
    assert "203.0.113.7" in f2b(fail2ban, "status", JAIL)
    # With --fix: unbanned in fail2ban itself, and logged on the ticket for the technician.
    result = checked.tix(*args, "--yes", "--fix", as_="alpha")
    code = json.loads(result.stdout)["code"]
    assert "fixed: 203.0.113.7 unblocked" in result.stderr
    assert "203.0.113.7" not in f2b(fail2ban, "status", JAIL)
    history = json.loads(checked.tix("show", code, "--history", "--format", "json").stdout)
    assert "fix-applied" in [e["kind"] for e in history["events"]]
    assert any("fail2ban.unban" in m["body"] for m in history["messages"] if m["internal"])
    # A fix is applied once: the ticket's fix no longer finds the ban, and a made-up one is 3.
    checked.tix("fix", offered["code"], "7", as_="alpha", expect=3)


def test_a_named_metadata_or_loopback_url_makes_no_connection_there(checked, connections):
    text = "Mirad http://169.254.169.254/latest/meta-data y http://127.0.0.1:5432/ por favor"
    checked.tix("create", "-d", "hosting", "-s", "Raro", "-m", text, "--yes", as_="alpha")
    reached = {ip for _, ip, _ in connections}
    assert "169.254.169.254" not in reached and "127.0.0.1" not in reached


def test_a_department_with_nothing_to_check_runs_no_probe(checked, connections):
    created = json.loads(
        checked.tix(
            "create",
            "-d",
            "billing",
            "-s",
            "Factura",
            "-m",
            "alpha.test",
            "--format",
            "json",
            as_="alpha",
        ).stdout
    )
    assert created["diagnosis"] is None and list(connections) == []


def test_a_new_ticket_by_email_is_diagnosed_too(checked, world):
    from test_mail_in import mail_in

    checked.tix(
        "admin", "department", "add", "webhelp", "--name", "Web help", "--email", "help@host.test"
    )
    world.serve("alpha.test", "/", Page(500, DB_ERROR), scheme="https")
    raw = (
        b"Authentication-Results: mx.tix.test; dkim=pass header.d=alpha.test;"
        b" dmarc=pass header.from=alpha.test\n"
        b"From: Alpha Owner <owner@alpha.test>\nTo: help@host.test\n"
        b"Subject: Web caida\nMessage-ID: <diag-1@alpha.test>\n\nNo veo alpha.test desde hoy.\n"
    )
    assert "created" in mail_in(checked, raw).stdout
    with deskdb.opened(checked.url):
        from tix.diagnosis import store
        from tix.models import Ticket

        ticket = Ticket.select().order_by(Ticket.id.desc()).first()
        found = {(r["check_id"], r["status"]) for r in store.load(ticket.id)}
    assert ("web.page.database", "fail") in found
