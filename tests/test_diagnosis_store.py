"""Keeping a diagnosis with its ticket (migration 0011) on SQLite and PostgreSQL: saved in the
caller's transaction, read back whole by agents and without private rows, facts and fixes by
customers; on PostgreSQL the policies keep private rows from a customer even in raw SQL."""

import hashlib
from datetime import datetime

import deskdb
import pytest

from tix import store as tix_store
from tix.diagnosis import Fix, Result
from tix.diagnosis import store as diagnosis_store
from tix.models import Ticket

AT = datetime(2026, 3, 1, 9, 30)
RESULTS = [
    Result("dns.a", "alpha.test", "ok", {"A": ["198.51.100.10"]}, "resolves", "resuelve", True),
    Result(
        "web.page.database",
        "alpha.test",
        "fail",
        {"status": 500},
        "db error",
        "error de base de datos",
    ),
    Result(
        "firewall.banned",
        "203.0.113.7",
        "fail",
        {"jail": "sshd"},
        "banned",
        "bloqueada",
        fix=Fix(
            "fail2ban.unban",
            "firewall.banned",
            "203.0.113.7",
            {"jail": "sshd", "ip": "203.0.113.7"},
            "Unblock",
            "Desbloquear",
        ),
    ),
]


def ticket_id(desk, code: str) -> int:
    with deskdb.opened(desk.url):
        return Ticket.get(Ticket.code == code).id


def test_save_and_load_for_agents_and_customers(desk):
    code = desk.create("alpha", subject="Web caída")
    tid = ticket_id(desk, code)
    with deskdb.opened(desk.url) as db:
        with tix_store.transaction(db):
            first = diagnosis_store.save(tid, RESULTS, AT)
        with tix_store.transaction(db):
            second = diagnosis_store.save(tid, RESULTS[1:2], datetime(2026, 3, 1, 10, 0))
        agent = diagnosis_store.load(tid)
        customer = diagnosis_store.load(tid, customer=True)
    assert [r["run_id"] for r in agent] == [first] * 3 + [second]
    assert agent[0]["facts"] == {"A": ["198.51.100.10"]} and agent[0]["private"] is True
    assert agent[2]["fix"]["params"] == {"jail": "sshd", "ip": "203.0.113.7"}
    assert agent[0]["at"] == AT
    assert [r["check_id"] for r in customer] == [
        "web.page.database",
        "firewall.banned",
        "web.page.database",
    ]
    assert all("facts" not in r and "fix" not in r for r in customer)


@pytest.mark.postgres_only
def test_a_customer_files_a_diagnosis_and_reads_back_no_private_row(desk):
    """As the application role with the customer's own token: the rows go in with the ticket,
    and a raw SELECT sees the public ones only."""
    import psycopg2
    from test_rls import APP_LOGIN, ensure_login_role, present_identity, url_as

    ensure_login_role(APP_LOGIN, "tix_app")
    code = desk.create("alpha", subject="Web caída")
    tid = ticket_id(desk, code)
    digest = hashlib.sha256(desk.tokens["alpha"].encode()).hexdigest()
    db = tix_store.connect(url_as(desk.url, APP_LOGIN))
    try:
        tix_store.set_identity(digest)
        # Results go in only with the ticket they are about (the transaction that files it):
        # a customer cannot add "findings" to an older ticket for the technician to trust.
        with pytest.raises(Exception, match="not opened in this transaction"):
            with tix_store.transaction(db):
                diagnosis_store.save(tid, RESULTS, AT)
    finally:
        tix_store.set_identity(None)
        db.close()
    with deskdb.opened(desk.url), tix_store.transaction():
        diagnosis_store.save(tid, RESULTS, AT)
    db = tix_store.connect(url_as(desk.url, APP_LOGIN))
    try:
        tix_store.set_identity(digest)
        with tix_store.transaction(db):
            assert len(diagnosis_store.load(tid)) == 2  # the policy already hides private rows
    finally:
        tix_store.set_identity(None)
        db.close()
    conn = psycopg2.connect(url_as(desk.url, APP_LOGIN))
    try:
        cur = conn.cursor()
        present_identity(cur, desk.tokens["alpha"])
        cur.execute("SELECT check_id FROM diagnosis_results WHERE ticket_id = %s", (tid,))
        assert {row[0] for row in cur.fetchall()} == {"web.page.database", "firewall.banned"}
        conn.rollback()
        present_identity(cur, desk.tokens["beta"])
        cur.execute("SELECT count(*) FROM diagnosis_results")
        assert cur.fetchone()[0] == 0
    finally:
        conn.rollback()
        conn.close()
    with deskdb.opened(desk.url):
        assert len(diagnosis_store.load(tid)) == 3  # the owner (tix_system) sees every row
