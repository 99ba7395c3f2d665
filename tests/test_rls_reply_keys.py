"""Reply keys and held mail under row-level security (migration 0013): raw SQL as the application
role can neither read a key (nor the outbox text that carries one) nor mint one it could mail in
with; tix itself, as that role and as tix_system, still keys every email and files by key.

PostgreSQL only, like tests/test_rls.py, whose fixtures these reuse.
"""

import email
import email.policy
import hashlib

import deskdb
import psycopg2
from jobs_support import jobs
from test_rls import (  # noqa: F401 (fixtures)
    SYSTEM_LOGIN,
    backend,
    desk,
    ensure_login_role,
    raw,
    url_as,
)
from tix.jobs.cli import cli as jobs_cli

KEY_HASH = hashlib.sha256(b"k" * 32).hexdigest()


def key_insert(s, ticket_id, *, contact_id=None, agent_id=None, held_id=None, used="NULL"):
    s.cur.execute(
        "INSERT INTO reply_keys (key_hash, ticket_id, held_id, contact_id, agent_id, created_at,"
        f" used_at) VALUES (%s, %s, %s, %s, %s, now(), {used})",
        (KEY_HASH, ticket_id, held_id, contact_id, agent_id),
    )
    return s.cur.rowcount


def test_no_application_session_reads_a_reply_key_or_the_text_of_an_email(raw):
    code = raw.ids["codes"]["alpha"]
    raw.desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")  # keyed emails queued
    for who in (None, "alpha", "hosting_agent", "admin"):
        with raw.session(who) as s:
            s.refused("SELECT key_hash FROM reply_keys")
            s.refused("SELECT count(*) FROM reply_keys")
            s.refused("SELECT raw FROM outbox")
            s.refused("UPDATE reply_keys SET revoked_at = NULL")
            s.refused("DELETE FROM reply_keys")
    with raw.session("hosting_agent") as s:  # the rest of the outbox reads as before
        assert s.column("SELECT kind FROM outbox WHERE ticket_id = %s", raw.ids[code]) >= {
            "agent-reply"
        }


def test_only_an_agent_adds_a_key_and_only_a_fresh_one_for_a_ticket(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    alpha_ticket, olga = ids[codes["alpha"]], ids["owner@alpha.test"]
    with raw.session("hosting_agent") as s:
        assert key_insert(s, alpha_ticket, contact_id=olga) == 1
    with raw.session("hosting_agent") as s:
        s.refused(
            "INSERT INTO reply_keys (key_hash, ticket_id, contact_id, created_at, used_at)"
            " VALUES (%s, %s, %s, now(), now())",
            KEY_HASH,
            alpha_ticket,
            olga,
        )
        s.refused(  # a held message's key is mail-in's alone
            "INSERT INTO reply_keys (key_hash, held_id, contact_id, created_at)"
            " VALUES (%s, 1, %s, now())",
            KEY_HASH,
            olga,
        )
        s.refused(
            "INSERT INTO held_mail (sender, received_at, kind, contact_id, subject, reason,"
            " raw) VALUES ('x@y', now(), 'new', %s, 's', 'r', 'x')",
            olga,
        )
    # A customer (or nobody) who chose a key would hold a credential: the agent's, even.
    for who in ("alpha", None):
        with raw.session(who) as s:
            s.refused(
                "INSERT INTO reply_keys (key_hash, ticket_id, agent_id, created_at)"
                " VALUES (%s, %s, %s, now())",
                KEY_HASH,
                alpha_ticket,
                ids["hosting@host.test"],
            )


def test_held_mail_is_for_agents_and_tix_system(raw, tmp_path):
    code = raw.ids["codes"]["alpha"]
    forged = (
        f"From: owner@alpha.test\nTo: support@tix.test\nSubject: Re: [{code}] x\n"
        "Message-ID: <forged-1@evil.test>\n\nSend the password.\n"
    ).encode()
    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    result = raw.desk.runner.invoke(
        jobs_cli,
        ["mail-in"],
        input=forged,
        env={"TIX_DATABASE_URL": url_as(raw.desk.url, SYSTEM_LOGIN)},
        catch_exceptions=False,
    )
    assert result.stdout.startswith("held: "), result.output
    with raw.session("hosting_agent") as s:
        assert s.column("SELECT sender FROM held_mail") == {"owner@alpha.test"}
    for who in ("alpha", None):
        with raw.session(who) as s:
            assert s.rows("SELECT id FROM held_mail") == []
    listed = jobs(url_as(raw.desk.url, SYSTEM_LOGIN), "mail-in", "--held").stdout
    assert "owner@alpha.test" in listed and "1 held message" in listed


def test_keys_made_by_the_application_role_and_by_tix_jobs_file_replies(desk):
    """An agent's `tix reply` (tix_app) keys the customer's email; a customer's `tix reply`
    (tix_app, rendered by tix-jobs as tix_system) keys the agent's. Both keys file by mail."""
    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    system = url_as(desk.url, SYSTEM_LOGIN)
    code = desk.create("alpha", subject="Site down")
    desk.tix("reassign", code, "--agent", "hosting@host.test", as_="admin")
    desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")
    desk.tix("reply", code, "-m", "Still down", as_="alpha_dev")
    jobs(system, "run")

    def keyed(kind, recipient):
        [row] = [
            r for r in deskdb.outbox(desk.url, code) if (r.kind, r.recipient) == (kind, recipient)
        ]
        return email.message_from_string(row.raw, policy=email.policy.default)["Reply-To"]

    for address, body in (
        (keyed("agent-reply", "owner@alpha.test"), "Customer by mail."),
        (keyed("agent-customer-reply", "hosting@host.test"), "Agent by mail."),
    ):
        raw_mail = (
            f"From: someone@else.example\nTo: {address}\nSubject: Re: Site down\n"
            f"Message-ID: <{abs(hash(body))}@else.example>\n\n{body}\n"
        ).encode()
        result = desk.runner.invoke(
            jobs_cli, ["mail-in"], input=raw_mail, env={"TIX_DATABASE_URL": system}
        )
        assert result.stdout.startswith("reply: "), result.output
    with deskdb.opened(desk.url) as db:
        authors = db.execute_sql(
            "SELECT coalesce(c.email, a.email) FROM messages m JOIN tickets t ON t.id = m.ticket_id"
            " LEFT JOIN contacts c ON c.id = m.author_contact_id"
            " LEFT JOIN agents a ON a.id = m.author_agent_id WHERE t.code = %s ORDER BY m.id",
            (code,),
        ).fetchall()
    assert [a for (a,) in authors][-2:] == ["owner@alpha.test", "hosting@host.test"]
    conn = psycopg2.connect(system)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM reply_keys WHERE used_at IS NULL")
        assert cur.fetchone()[0] > 0  # tix_system reads the keys (mail-in's lookup)
    finally:
        conn.close()
