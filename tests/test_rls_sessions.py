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


# -- 9. who a session is: the functions the policies ask (migration 0016) -------------------------

SESSION_FUNCTIONS = {  # name -> (SECURITY DEFINER, volatility), as 0009-0012 made them
    "tix_session_is_system()": (False, "s"),
    "tix_identity_challenge()": (False, "s"),
    "tix_session_token()": (True, "s"),
    "tix_session_token_hash()": (True, "s"),
    "tix_session_agent()": (True, "s"),
    "tix_session_is_admin()": (True, "s"),
    "tix_session_contact()": (True, "s"),
    "tix_session_accounts()": (True, "s"),
    "tix_session_actor()": (True, "s"),
    "tix_session_is_customer()": (False, "s"),
    "tix_ticket_visible(bigint)": (False, "s"),
    "tix_ticket_visible_to_caller(bigint)": (True, "s"),
    "tix_written_here(xid)": (False, "v"),
    "tix_replied_here(bigint)": (False, "v"),
}


def test_the_session_functions_are_plpgsql_pinned_and_for_the_two_roles_only(raw):
    """PL/pgSQL keeps their plans for the backend's life (a SQL function with SET is re-planned
    at every call); nothing else about them changed: not who they run as, not their volatility,
    not their search_path, not who may call them."""
    with deskdb.opened(raw.desk.url) as db:
        schema, owner = db.execute_sql("SELECT current_schema(), current_user").fetchone()
        for signature, (definer, volatility) in SESSION_FUNCTIONS.items():
            language, secdef, volatile, config, grantees = db.execute_sql(
                "SELECT l.lanname, p.prosecdef, p.provolatile, p.proconfig,"
                " ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text"
                "       END || ':' || a.privilege_type FROM aclexplode(p.proacl) a ORDER BY 1)"
                " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
                " WHERE p.oid = %s::regprocedure",
                (signature,),
            ).fetchone()
            assert (language, secdef, volatile) == ("plpgsql", definer, volatility), signature
            assert config == [f"search_path={schema}, pg_temp"], signature
            assert grantees == sorted(
                f"{role}:EXECUTE" for role in (owner, "tix_app", "tix_system")
            ), signature


def test_each_identity_is_answered_as_before(raw):
    """What the session functions answer, as the application role, for each kind of session:
    agents, an admin, customers, a reseller, a deactivated contact, a replayed or forged
    identity, none."""
    from test_rls import present_identity

    from tix import auth

    ids, codes = raw.ids, raw.ids["codes"]
    raw.desk.tix("admin", "contact", "deactivate", "dev@alpha.test")
    tickets = {handle: ids[codes[handle]] for handle in ("alpha", "client")}
    handles = {ids[handle]: handle for handle in ("alpha", "beta", "resel", "client")}

    def answers(s, token=None):
        (row,) = s.rows(
            "SELECT tix_session_token() IS NOT NULL, tix_session_token_hash(),"
            " tix_session_agent(), tix_session_is_admin(), tix_session_contact(),"
            " tix_session_accounts(), tix_session_actor(), tix_session_is_customer(),"
            " tix_session_is_system(), tix_ticket_visible(%s), tix_ticket_visible(%s),"
            " tix_ticket_visible_to_caller(%s), tix_ticket_visible_to_caller(%s)",
            tickets["alpha"],
            tickets["client"],
            tickets["alpha"],
            tickets["client"],
        )
        proven, hash_, agent, admin, contact, accounts, actor, customer, system, *seen = row
        assert hash_ == (auth.hash_token(token) if proven else None)
        return (
            proven,
            agent,
            admin,
            contact,
            sorted(handles.get(a, a) for a in accounts),
            actor,
            customer,
            system,
            *seen,
        )

    nobody = (False, None, False, None, [], None, False, False, False, False, False, False)
    agent = ids["hosting@host.test"]
    expected = {
        "hosting_agent": (
            *(True, agent, False, None, [], "agent:hosting@host.test", False, False),
            *(True, True, True, True),
        ),
        "admin": (
            *(True, ids["admin@host.test"], True, None, [], "agent:admin@host.test", False),
            *(False, True, True, True, True),
        ),
        "alpha": (
            *(True, None, False, ids["owner@alpha.test"], ["alpha"], "contact:owner@alpha.test"),
            *(True, False, True, False, True, False),
        ),
        "resel": (
            *(True, None, False, ids["owner@resel.test"], ["client", "resel"]),
            *("contact:owner@resel.test", True, False, False, True, False, True),
        ),
        "client": (
            *(True, None, False, ids["owner@client.test"], ["client"]),
            *("contact:owner@client.test", True, False, False, True, False, True),
        ),
        # Deactivated: the token is still valid and proven, but names nobody.
        "alpha_dev": (True, *nobody[1:]),
    }
    for who, want in expected.items():
        with raw.session(who) as s:
            assert answers(s, raw.desk.tokens[who]) == want, who
    with raw.session(None) as s:
        assert answers(s) == nobody
    # Another backend's proof, replayed; a locator with a proof made with the wrong key.
    with raw.session("alpha") as s:
        (presented,) = s.column("SELECT current_setting('tix.identity')")
    with raw.session(None) as s:
        s.rows("SELECT set_config('tix.identity', %s, true)", presented)
        assert answers(s) == nobody
        present_identity(s.cur, raw.desk.tokens["beta"])
        locator = s.column("SELECT split_part(current_setting('tix.identity'), ':', 1)").pop()
        s.rows("SELECT set_config('tix.identity', %s, true)", f"{locator}:{'0' * 64}")
        assert answers(s) == nobody
        s.rows("SELECT set_config('tix.identity', %s, true)", f"{locator}:")
        assert answers(s) == nobody


def test_an_agent_reading_every_row_is_not_checked_as_a_customer_row_by_row(raw):
    """Permissive policies are OR-ed: an agent's rows come from tix_agent_all, and the customer's
    condition (a ticket look-up per row) must not run for them (0017); a customer's still does."""
    with deskdb.opened(raw.desk.url) as db:
        (name,) = db.execute_sql("SELECT current_database()").fetchone()
        db.execute_sql(f"ALTER DATABASE \"{name}\" SET track_functions = 'pl'")
    calls = (
        "SELECT COALESCE(sum(calls), 0) FROM pg_stat_xact_user_functions"
        " WHERE funcname = 'tix_ticket_visible'"
    )
    counts = "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM events)"
    with raw.session("hosting_agent") as s:
        (messages, events), *_ = s.rows(counts)
        assert messages >= 6 and events >= 6  # every ticket's, the internal note's too
        assert s.rows(calls) == [(0,)]
    with raw.session("alpha") as s:
        (messages, events), *_ = s.rows(counts)
        assert 0 < messages < 6 and events > 0  # alpha's own, without the internal note
        assert s.rows(calls)[0][0] >= messages
