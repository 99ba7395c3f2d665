"""Raw SQL as the application role, against a store set up as docs/security.md says: each test is
an attack that once worked (a login granted tix_app, psql, and some identity or none), now
refused by the database itself. The jobs' locks and the identity handshake are in
tests/test_rls_sessions.py.

PostgreSQL only, like tests/test_rls.py, whose fixtures these reuse.
"""

import re

import deskdb
import psycopg2
import pytest
from test_rls import (  # noqa: F401 (fixtures)
    APP_LOGIN,
    SYSTEM_LOGIN,
    backend,
    desk,
    ensure_login_role,
    raw,
    url_as,
)

VICTIM = "victim@elsewhere.test"


def outbox_insert(s, ticket_id, recipient=VICTIM):
    return s.refused(
        "INSERT INTO outbox (message_id, ticket_id, kind, recipient, subject, raw, "
        "next_attempt_at, created_at) VALUES ('<forged@x>', %s, 'agent-reply', %s, 'Invoice',"
        " 'From: support@tix.test\nTo: victim\n\nPay here', now(), now())",
        ticket_id,
        recipient,
    )


# -- 1. a temporary table named like a table the policies read ---------------------------------


def test_a_temporary_table_cannot_stand_in_for_the_tickets_the_policies_read(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    shadow = "CREATE TEMP TABLE tickets AS SELECT generate_series(1, 100000)::bigint AS id"
    with raw.session(None) as s:
        s.cur.execute(shadow)
        for table in ("messages", "attachments", "events", "outbox"):
            assert s.rows(f"SELECT count(*) FROM public.{table}") == [(0,)], table
    with raw.session("alpha") as s:
        s.cur.execute(shadow)
        beta_ticket = ids[codes["beta"]]
        s.refused(
            "INSERT INTO public.messages (ticket_id, author_contact_id, body, created_at)"
            " VALUES (%s, %s, 'injected', now())",
            beta_ticket,
            ids["owner@alpha.test"],
        )
        s.refused(
            "INSERT INTO public.events (ticket_id, at, actor, kind)"
            " VALUES (%s, now(), 'agent:hosting@host.test', 'customer-reply')",
            beta_ticket,
        )
        outbox_insert(s, beta_ticket, "owner@beta.test")
        assert s.column("SELECT ticket_id FROM public.messages") <= {ids[codes["alpha"]]}


def test_nothing_a_policy_or_view_runs_can_be_shadowed_by_a_sessions_own_objects(raw):
    """Every function in the schema pins its search_path with pg_temp last; policies and views
    call only such functions (or pg_catalog's); the application role cannot create objects in
    the schema."""
    with deskdb.opened(raw.desk.url) as db:
        schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
        pinned = f"search_path={schema}, pg_temp"
        functions = db.execute_sql(
            "SELECT p.oid::regprocedure::text, p.proconfig FROM pg_proc p"
            " WHERE p.pronamespace = current_schema()::regnamespace"
        ).fetchall()
        assert len(functions) > 5
        for name, config in functions:
            assert pinned in (config or []), f"{name} resolves names through the caller's path"
        # What this schema's policies and views depend on: only this schema and pg_catalog.
        deps = db.execute_sql(
            "SELECT d.classid::regclass::text, d.objid, d.refclassid::regclass::text,"
            " CASE WHEN d.refclassid = 'pg_proc'::regclass THEN"
            "   (SELECT pronamespace::regnamespace::text FROM pg_proc WHERE oid = d.refobjid)"
            "  WHEN d.refclassid = 'pg_class'::regclass THEN"
            "   (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = d.refobjid)"
            "  WHEN d.refclassid = 'pg_type'::regclass THEN"
            "   (SELECT typnamespace::regnamespace::text FROM pg_type WHERE oid = d.refobjid)"
            "  WHEN d.refclassid = 'pg_operator'::regclass THEN"
            "   (SELECT oprnamespace::regnamespace::text FROM pg_operator WHERE oid = d.refobjid)"
            " END FROM pg_depend d"
            " WHERE (d.classid = 'pg_policy'::regclass AND d.objid IN (SELECT p.oid FROM pg_policy p"
            "   JOIN pg_class c ON c.oid = p.polrelid"
            "   WHERE c.relnamespace = current_schema()::regnamespace))"
            " OR (d.classid = 'pg_rewrite'::regclass AND d.objid IN (SELECT r.oid FROM pg_rewrite r"
            "   JOIN pg_class c ON c.oid = r.ev_class"
            "   WHERE c.relnamespace = current_schema()::regnamespace))"
        ).fetchall()
        assert any(dep[0] == "pg_policy" for dep in deps)
        for kind, objid, refkind, namespace in deps:
            if namespace is not None:
                assert namespace in (schema, "pg_catalog"), (kind, objid, refkind, namespace)
        for role in ("tix_app", APP_LOGIN):
            assert db.execute_sql(
                "SELECT has_schema_privilege(%s, current_schema(), 'CREATE')", (role,)
            ).fetchone() == (False,), role


# -- 2. a customer's own email ---------------------------------------------------------------------


def test_a_customer_cannot_queue_an_email_of_their_choosing(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    alpha_ticket = ids[codes["alpha"]]
    for who in ("alpha", "resel"):
        with raw.session(who) as s:
            outbox_insert(s, alpha_ticket if who == "alpha" else ids[codes["client"]])
    with raw.session("alpha") as s:
        # Nor make tix's own path queue one for a change they did not make.
        for kind in ("agent-customer-reply", "closed", "ticket-created", "agent-reply"):
            s.refused("SELECT tix_request_mail(%s, %s)", kind, alpha_ticket)
        # Nor rewrite a queued email as they cancel it.
        s.cur.execute(
            "UPDATE outbox SET recipient = %s, raw = 'x' WHERE ticket_id = %s",
            (VICTIM, alpha_ticket),
        )
        assert s.cur.rowcount == 0


# -- 3. columns that point at other accounts' rows; lifecycle columns ----------------------------


def test_a_customer_cannot_point_their_rows_at_another_accounts(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    raw.desk.tix("admin", "service", "add", "beta", "beta.test", "--kind", "domain")
    with deskdb.opened(raw.desk.url) as db:
        beta_service = db.execute_sql("SELECT id FROM services WHERE name = 'beta.test'").fetchone()
        beta_message = db.execute_sql(
            "SELECT min(id) FROM messages WHERE ticket_id = %s", (ids[codes["beta"]],)
        ).fetchone()
    alpha_ticket, beta_ticket = ids[codes["alpha"]], ids[codes["beta"]]
    with raw.session("alpha") as s:
        s.refused("UPDATE tickets SET merged_into_id = %s WHERE id = %s", beta_ticket, alpha_ticket)
        s.refused(
            "UPDATE tickets SET contact_id = %s WHERE id = %s", ids["owner@beta.test"], alpha_ticket
        )
        s.refused("UPDATE tickets SET service_id = %s WHERE id = %s", beta_service[0], alpha_ticket)
        s.refused(
            "INSERT INTO attachments (ticket_id, message_id, filename, content_type, size, sha256,"
            " data, created_at) VALUES (%s, %s, 'a.txt', 'text/plain', 1, 'x', 'x', now())",
            alpha_ticket,
            beta_message[0],
        )
        s.refused(
            "INSERT INTO tickets (code, subject, department_id, priority, status, account_id,"
            " contact_id, service_id, created_at, updated_at) VALUES ('ZZZZ-ZZZZ', 'x', 1, 2,"
            " 'open', %s, %s, %s, now(), now())",
            ids["alpha"],
            ids["owner@beta.test"],
            beta_service[0],
        )
    # The same customer's own tix still works, and an emailed reply lands on their own ticket.
    raw.desk.tix("reply", codes["alpha"], "-m", "Still here.", as_="alpha")


def test_a_customer_changes_lifecycle_columns_only_as_the_lifecycle_does(raw):
    code = raw.ids["codes"]["alpha"]
    alpha_ticket = raw.ids[code]
    with raw.session("alpha") as s:  # an open ticket: no one has answered it
        s.refused(
            "UPDATE tickets SET status = 'answered', waiting_since = now() WHERE id = %s",
            alpha_ticket,
        )
    raw.desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")  # answered, clock running
    with raw.session("alpha") as s:
        for change in (
            "status = 'on-hold'",
            "waiting_since = NULL, reminded_at = NULL, reminder_delivered_at = NULL",
            "reminded_at = now(), reminder_delivered_at = now()",
            "reminder_delivered_at = now()",
            "assignee_id = 1",
            "last_agent_reply_at = now()",
            "status = 'closed', closed_at = now(), closed_by = 'admin@host.test', close_reason = 'auto'",
            # A reply's change without the reply.
            "status = 'customer-reply', waiting_since = NULL, reminded_at = NULL",
        ):
            s.refused(f"UPDATE tickets SET {change} WHERE id = %s", alpha_ticket)
    # The lifecycle's own changes go through, as the application role.
    raw.desk.tix("reply", code, "-m", "Not fixed.", as_="alpha")
    raw.desk.tix("close", code, as_="alpha")
    raw.desk.tix("reopen", code, "-m", "Again.", as_="alpha_dev")
    assert deskdb.ticket(raw.desk.url, code).status == "open"


# -- 4. the assistant's note -------------------------------------------------------------------------


def new_ticket_sql(s, raw, who="alpha"):
    """Open a ticket in raw SQL as a contact of alpha (as tix would); its id."""
    ids = raw.ids
    email = {"alpha": "owner@alpha.test"}[who]
    (ticket_id,) = s.rows(
        "INSERT INTO tickets (code, subject, department_id, priority, status, account_id,"
        " contact_id, created_at, updated_at) VALUES ('QQQQ-QQQQ', 'raw', 1, 2, 'open', %s, %s,"
        " now(), now()) RETURNING id",
        ids["alpha"],
        ids[email],
    )[0]
    s.cur.execute(
        "INSERT INTO messages (ticket_id, author_contact_id, body, created_at)"
        " VALUES (%s, %s, 'help', now())",
        (ticket_id, ids[email]),
    )
    return ticket_id


def test_the_assistant_note_names_no_one_and_is_dated_now(raw):
    with raw.session("alpha", commit=True) as s:
        ticket_id = new_ticket_sql(s, raw)
        s.cur.execute(
            "SELECT tix_add_assistant_note(%s, 'Verified by phone.', '2020-01-01',"
            " 'agent:admin@host.test')",
            (ticket_id,),
        )
    with deskdb.opened(raw.desk.url) as db:
        ((actor, at),) = db.execute_sql(
            "SELECT actor, at FROM events WHERE ticket_id = %s AND kind = 'note'", (ticket_id,)
        ).fetchall()
        ((created,),) = db.execute_sql(
            "SELECT created_at FROM messages WHERE ticket_id = %s AND internal", (ticket_id,)
        ).fetchall()
    assert actor == "system:assistant"
    assert at.year > 2020 and created.year > 2020
    # Only in the transaction that opened the ticket: not on any older one-message ticket.
    code = raw.desk.create("beta", subject="quiet")
    with raw.session("beta") as s:
        s.refused(
            "SELECT tix_add_assistant_note(%s, 'x', now()::timestamp, 'x')", raw_id(raw, code)
        )


def raw_id(raw, code):
    return deskdb.ticket(raw.desk.url, code).id


# -- 5. deletes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hosting_agent", "admin", "alpha"])
def test_nobody_but_tix_system_deletes(raw, who):
    for table in (
        "attachments",
        "outbox",
        "messages",
        "tickets",
        "events",
        "contacts",
        "accounts",
        "tokens",
        "services",
        "inbound_mail",
        "escalation_firings",
        "reply_templates",
    ):
        with raw.session(who) as s:
            s.refused(f"DELETE FROM {table}")
    # What tix itself deletes as an agent: a watcher (`tix unwatch`, and `tix merge`).
    code = raw.ids["codes"]["beta"]
    raw.desk.tix("watch", code, as_="hosting_agent")
    raw.desk.tix("unwatch", code, as_="hosting_agent")


# -- 7. what the application role can learn without seeing rows --------------------------------


def test_no_sequence_value_reaches_the_application_role(raw):
    for who in (None, "alpha", "hosting_agent"):
        with raw.session(who) as s:
            s.refused("SELECT last_value FROM tickets_id_seq")
            s.refused("SELECT nextval('tickets_id_seq')")
            s.refused("SELECT pg_sequence_last_value('messages_id_seq')")
            s.refused("SELECT currval('outbox_id_seq')")


def test_errors_do_not_tell_which_ids_exist_in_other_accounts(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    alpha_ticket = ids[codes["alpha"]]
    other_ticket, missing = ids[codes["beta"]], 10**9
    with deskdb.opened(raw.desk.url) as db:
        other_message = db.execute_sql(
            "SELECT min(id) FROM messages WHERE ticket_id = %s", (other_ticket,)
        ).fetchone()[0]
    probes = [
        ("UPDATE tickets SET merged_into_id = {} WHERE id = %s", other_ticket, (alpha_ticket,)),
        (
            "UPDATE tickets SET contact_id = {} WHERE id = %s",
            ids["owner@beta.test"],
            (alpha_ticket,),
        ),
        (
            "UPDATE tickets SET service_id = {} WHERE id = %s",
            ids["owner@beta.test"],
            (alpha_ticket,),
        ),
        (
            "INSERT INTO attachments (ticket_id, message_id, filename, content_type, size, sha256,"
            " data, created_at) VALUES (%s, {}, 'a', 'text/plain', 1, 'x', 'x', now())",
            other_message,
            (alpha_ticket,),
        ),
        (
            "INSERT INTO messages (id, ticket_id, author_contact_id, body, created_at)"
            " VALUES ({}, %s, %s, 'x', now())",
            other_message,
            (alpha_ticket, ids["owner@alpha.test"]),
        ),
    ]
    with raw.session("alpha") as s:
        for sql, existing, params in probes:
            answers = []
            for value in (existing, missing):
                s.cur.execute("SAVEPOINT probe")
                try:
                    s.cur.execute(sql.format(value), params)
                    answers.append("accepted")
                except psycopg2.Error as exc:
                    answers.append(re.sub(r"\d+", "N", exc.pgerror or str(exc)))
                s.cur.execute("ROLLBACK TO SAVEPOINT probe")
            assert answers[0] == answers[1] != "accepted", (sql, answers)


def test_the_system_login_still_reads_and_writes_every_row(raw):
    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    conn = psycopg2.connect(url_as(raw.desk.url, SYSTEM_LOGIN))
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM tickets")
        assert cur.fetchone()[0] == 5
        cur.execute("DELETE FROM outbox WHERE false")
    finally:
        conn.rollback()
        conn.close()
