"""The application role against the jobs' locks and other sessions' identities, and the emails a
customer's commands cause when tix runs as the application role (tix-jobs writes them).

PostgreSQL only, like tests/test_rls.py, whose fixtures these reuse.
"""

import subprocess
import sys
import time

import deskdb
import psycopg2
import psycopg2.errors
from conftest import Desk
from jobs_support import jobs, process_env
from test_rls import (  # noqa: F401 (fixtures)
    SYSTEM_LOGIN,
    backend,
    desk,
    ensure_login_role,
    raw,
    url_as,
)

STRANGER = "stranger@else.test"
STRANGER_MAIL = (
    f"From: Stranger <{STRANGER}>\nTo: support@tix.test\nSubject: hello\n"
    "Message-ID: <one@else.test>\n\nHi there.\n"
).encode()


def app_connection(desk, autocommit=True):
    conn = psycopg2.connect(desk.app_url)
    conn.autocommit = autocommit
    return conn


def system_url(desk):
    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    return url_as(desk.url, SYSTEM_LOGIN)


def mail_in_process(url, raw: bytes, **env):
    return subprocess.Popen(
        [sys.executable, "-m", "tix.jobs.cli", "mail-in"],
        env=process_env(url, **env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finished(proc, raw: bytes, timeout: float):
    try:
        out, err = proc.communicate(raw, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"tix-jobs mail-in still waiting after {timeout}s") from None
    return proc.returncode, out.decode(), err.decode()


# -- 6. the locks jobs and mail-in depend on ----------------------------------------------------


def test_an_application_session_cannot_stall_tix_jobs_runs(desk):
    url = system_url(desk)
    conn = app_connection(desk)
    try:
        cur = conn.cursor()
        cur.execute("SELECT pg_advisory_lock(7411)")  # the run lock as it was
        assert "skipped" not in jobs(url, "run").stdout
        cur.execute("BEGIN")
        for sql in (
            "SELECT * FROM job_locks FOR UPDATE NOWAIT",
            "LOCK TABLE job_locks IN ACCESS SHARE MODE NOWAIT",
        ):
            cur.execute("SAVEPOINT probe")
            try:
                cur.execute(sql)
                raise AssertionError(f"the application role took {sql}")
            except psycopg2.errors.InsufficientPrivilege:
                cur.execute("ROLLBACK TO SAVEPOINT probe")
        cur.execute("ROLLBACK")
    finally:
        conn.close()
    # Two runs of tix-jobs still exclude each other.
    from tix.jobs.lock import run_lock

    from tix import store

    db = store.connect(url)
    try:
        with run_lock(db, url) as held:
            assert held
            assert "skipped: another tix-jobs run is in progress" in jobs(url, "run").stdout
    finally:
        db.close()


def test_an_application_session_cannot_hold_up_mail_in(desk):
    url = system_url(desk)
    conn = app_connection(desk, autocommit=False)
    try:
        conn.cursor().execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"tix-mail-in:{STRANGER}",)
        )
        code, out, err = finished(mail_in_process(url, STRANGER_MAIL), STRANGER_MAIL, 30)
    finally:
        conn.close()
    assert code == 0 and out.startswith("refused:"), (code, out, err)


def test_mail_in_defers_a_message_while_its_sender_is_locked(desk):
    """Another mail-in holds the sender (here: this test, through tix's own lock): the message is
    deferred with exit 75 once TIX_BUSY_TIMEOUT has passed, for the MTA to deliver again."""
    from tix import inbound, store

    url = system_url(desk)
    db = store.connect(url)
    try:
        with store.transaction(db):
            inbound._lock_sender(STRANGER)
            start = time.monotonic()
            proc = mail_in_process(url, STRANGER_MAIL, TIX_BUSY_TIMEOUT="1s")
            code, out, err = finished(proc, STRANGER_MAIL, 30)
            waited = time.monotonic() - start
    finally:
        db.close()
    assert code == 75 and "message deferred" in err, (code, out, err)
    assert waited < 20
    code, out, err = finished(mail_in_process(url, STRANGER_MAIL), STRANGER_MAIL, 30)
    assert code == 0 and out.startswith("refused:"), (code, out, err)


# -- 8. one session's identity, seen by another session of the same login -------------------------


def test_the_identity_a_session_presents_cannot_be_read_and_replayed(raw):
    """Everything tix sends while an admin signs in, lists tickets and issues a token, as another
    session of the same login role sees it in pg_stat_activity: no token hash, and nothing that
    gives an identity when sent again."""
    from tix import auth, store, tickets
    from tix.models import Contact

    admin_hash = auth.hash_token(raw.desk.tokens["admin"])
    db = store.connect(raw.desk.app_url)
    watcher = app_connection(raw.desk)
    seen = []
    try:
        pid = db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        wcur = watcher.cursor()
        execute_sql = db.execute_sql

        def spied(sql, params=None, *args, **kwargs):
            cursor = execute_sql(sql, params, *args, **kwargs)
            wcur.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,))
            seen.append(wcur.fetchone()[0])
            return cursor

        db.execute_sql = spied
        with store.command_transaction(db):
            principal = auth.principal_for_token(raw.desk.tokens["admin"])
            assert principal.is_admin
            assert len(tickets.list_tickets(principal)) == 5
            issued = auth.issue_token(contact=Contact.get(Contact.email == "owner@beta.test"))
        secrets = {admin_hash, auth.hash_token(issued), issued}
        assert len(seen) > 5
        for text in seen:
            assert not any(secret in text for secret in secrets), text
        watcher.autocommit = False
        for text in seen:
            wcur.execute("SAVEPOINT replay")
            try:
                wcur.execute(text.replace("%", "%%"))
            except psycopg2.Error:
                wcur.execute("ROLLBACK TO SAVEPOINT replay")
            wcur.execute("SELECT tix_session_is_admin(), (SELECT count(*) FROM tokens)")
            assert wcur.fetchone() == (False, 0), text
        watcher.rollback()
    finally:
        store.set_identity(None)
        watcher.close()
        db.close()


# -- 2. what a customer's commands send, as the application role -----------------------------------


def test_a_customers_emails_go_where_tix_sends_them_and_say_what_tix_says(desk):
    """The same customer commands through the application role and through the owner: tix-jobs
    sends the same kinds of email to the same people."""
    codes = {}
    for via, tix in (("app", desk.tix), ("owner", lambda *a, **k: Desk.tix(desk, *a, **k))):
        code = tix(
            "create",
            "--department",
            "hosting",
            "--subject",
            f"Down via {via}",
            "-m",
            "Help.",
            "--quiet",
            as_="alpha",
        ).stdout.strip()
        tix("reply", code, "-m", "More detail.", as_="alpha_dev")
        tix("close", code, as_="alpha")
        tix("reopen", code, "-m", "Back again.", as_="alpha")
        codes[via] = code
    jobs(system_url(desk), "notify")
    sent = {}
    for via, code in codes.items():
        rows = deskdb.outbox(desk.url, code)
        assert rows and {row.status for row in rows} == {"sent"}, via
        sent[via] = sorted((row.kind, row.recipient) for row in rows)
        created = next(row for row in rows if row.kind == "ticket-created")
        assert f"Down via {via}" in created.raw and "Help." in created.raw
        reply = next(row for row in rows if row.kind == "agent-customer-reply")
        assert "More detail." in reply.raw
    assert sent["app"] == sent["owner"]
