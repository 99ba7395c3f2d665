"""Row-level security on PostgreSQL (migration 0009): connected as the application role, with raw
SQL and no help from tix, customer A, customer B, reseller R with client C and an agent each see
and change only what is theirs; the catalogue shows every table forced under RLS and an
application role that owns nothing and bypasses nothing; and tix itself works end to end when
connected as that role (the whole of tests/test_permissions.py is run again that way, below).

PostgreSQL only: SQLite has no roles; tests/test_permissions.py proves the same boundaries there
through the CLI.
"""

import hashlib
import hmac
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import deskdb
import psycopg2
import psycopg2.errors
import pytest
from conftest import BACKENDS, Desk, _pg_admin_connection
from freezegun import freeze_time

# The same boundaries through the CLI, now with tix connected as the application role: these
# tests run here once more with the `desk` fixture below (a desk whose `tix` connects as tix_app).
from test_permissions import *  # noqa: F403

APP_LOGIN = "tix_app_test"  # a LOGIN role granted tix_app, as a deployment would create
SYSTEM_LOGIN = "tix_system_test"  # ... and one granted tix_system, for tix-jobs


@pytest.fixture(params=["postgresql"])
def backend(request):
    if "postgresql" not in BACKENDS:
        pytest.skip("row-level security is PostgreSQL's (TIX_TEST_BACKENDS has no postgresql)")
    return request.param


def ensure_login_role(name: str, member_of: str) -> None:
    """Roles are cluster-wide and other test runs share the cluster: create once, tolerate races."""
    admin = _pg_admin_connection()
    try:
        cur = admin.cursor()
        cur.execute(f"""DO $$ BEGIN
            CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$""")
        cur.execute(f"GRANT {member_of} TO {name}")
    finally:
        admin.close()


def url_as(url: str, user: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port or 5432}"))


@dataclass
class AppDesk(Desk):
    """A desk set up by the owner whose `tix` connects as the application role. `url` stays the
    owner's, so tests/deskdb.py still reads (and dumps) every row."""

    app_url: str = ""

    def tix(self, *args, **kwargs):
        owner_url, self.url = self.url, self.app_url
        try:
            return super().tix(*args, **kwargs)
        finally:
            self.url = owner_url


@pytest.fixture
def desk(store_url, runner):
    from conftest import build_desk

    ensure_login_role(APP_LOGIN, "tix_app")
    built = build_desk(store_url, runner)
    return AppDesk(
        url=built.url,
        runner=built.runner,
        tokens=built.tokens,
        app_url=url_as(built.url, APP_LOGIN),
    )


# -- raw SQL as the application role ------------------------------------------------------------


def present_identity(cur, token: str) -> None:
    """Prove a token for the current transaction, the way tix does (tix.store): an HMAC of the
    backend's challenge keyed by the token's stored hash, and the locator naming the token."""
    from tix.store import token_locator

    digest = hashlib.sha256(token.encode()).hexdigest()
    cur.execute("SELECT tix_identity_challenge()")
    challenge = cur.fetchone()[0]
    proof = hmac.new(bytes.fromhex(digest), challenge.encode(), hashlib.sha256).hexdigest()
    cur.execute(
        "SELECT set_config('tix.identity', %s, true)", (f"{token_locator(digest)}:{proof}",)
    )


class Session:
    """One transaction as the application role, for one person's token (or none)."""

    def __init__(self, cur):
        self.cur = cur

    def rows(self, sql, *params):
        self.cur.execute(sql, params)
        return self.cur.fetchall()

    def column(self, sql, *params) -> set:
        return {row[0] for row in self.rows(sql, *params)}

    def rowcount(self, sql, *params) -> int:
        self.cur.execute(sql, params)
        return self.cur.rowcount

    def refused(self, sql, *params) -> str:
        """Run a statement that must fail on a policy or a privilege; the transaction goes on."""
        self.cur.execute("SAVEPOINT probe")
        try:
            self.cur.execute(sql, params)
        except psycopg2.errors.InsufficientPrivilege as exc:
            self.cur.execute("ROLLBACK TO SAVEPOINT probe")
            return str(exc)
        raise AssertionError(f"not refused: {sql} {params}")


@dataclass
class Raw:
    desk: AppDesk
    ids: dict  # handle -> account id, code -> ticket id, email -> person id

    @contextmanager
    def session(self, who: str | None, *, token: str | None = None, commit: bool = False):
        """A transaction as tix_app; `who` names a desk token, `token` a raw one. Rolled back
        unless `commit`."""
        token = token or (self.desk.tokens[who] if who else None)
        conn = psycopg2.connect(self.desk.app_url.replace("postgresql://", "postgres://"))
        try:
            cur = conn.cursor()
            if token is not None:
                present_identity(cur, token)
            yield Session(cur)
            if commit:
                conn.commit()
        finally:
            conn.rollback()
            conn.close()


@pytest.fixture
def raw(desk, tmp_path):
    """The desk with one ticket per account, an internal note (with a file) on alpha's ticket,
    and the ids raw SQL needs, read as the owner."""
    codes = {
        who: desk.create(who, subject=f"{who} problem")
        for who in ("alpha", "beta", "resel", "client", "other_client")
    }
    secret = tmp_path / "internal.txt"
    secret.write_text("root password is hunter2")
    desk.tix(
        "reply",
        codes["alpha"],
        "--internal",
        "-m",
        "Customer is difficult.",
        "--attach",
        str(secret),
        as_="hosting_agent",
    )
    ids = {}
    with deskdb.opened(desk.url) as db:
        for handle, account_id in db.execute_sql("SELECT handle, id FROM accounts"):
            ids[handle] = account_id
        for code, ticket_id in db.execute_sql("SELECT code, id FROM tickets"):
            ids[code] = ticket_id
        for email, person_id in db.execute_sql(
            "SELECT email, id FROM contacts UNION ALL SELECT email, id FROM agents"
        ):
            ids[email] = person_id
    return Raw(desk, dict(ids, codes=codes))


DATA_TABLES_WITH_ACCOUNT_ROWS = [
    "tickets",
    "messages",
    "attachments",
    "events",
    "outbox",
    "accounts",
    "contacts",
    "services",
    "tokens",
]

SEES = {  # who -> the accounts whose rows they see
    "alpha": {"alpha"},
    "alpha_dev": {"alpha"},
    "beta": {"beta"},
    "resel": {"resel", "client"},
    "client": {"client"},
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_a_contact_reads_only_the_rows_of_their_accounts(raw, who):
    codes = raw.ids["codes"]
    with raw.session(who) as s:
        assert s.column("SELECT a.handle FROM accounts a") == SEES[who]
        assert (
            s.column("SELECT a.handle FROM tickets t JOIN accounts a ON a.id = t.account_id")
            <= SEES[who]
        )
        assert s.column("SELECT code FROM tickets") == {codes[h] for h in codes if h in SEES[who]}
        assert (
            s.column("SELECT a.handle FROM contacts c JOIN accounts a ON a.id = c.account_id")
            == SEES[who]
        )
        assert (
            s.column("SELECT a.handle FROM services v JOIN accounts a ON a.id = v.account_id")
            <= SEES[who]
        )
        visible_ids = s.column("SELECT id FROM tickets")
        for table in ("messages", "attachments", "events", "outbox"):
            assert s.column(f"SELECT ticket_id FROM {table}") <= visible_ids, table
        # Internal notes, their files and their events stay with the agents.
        assert s.column("SELECT internal FROM messages") <= {False}
        assert s.column("SELECT filename FROM attachments") == set()
        assert "note" not in s.column("SELECT kind FROM events")
        # The one token row a session sees is its own (that is how tix verifies it).
        assert len(s.rows("SELECT id FROM tokens")) == 1


def test_an_agent_reads_every_account_but_no_other_token(raw):
    with raw.session("hosting_agent") as s:
        assert s.column("SELECT code FROM tickets") == set(raw.ids["codes"].values())
        assert s.column("SELECT handle FROM accounts") == set(SEES) - {"alpha_dev"} | {
            "other-resel",
            "other-client",
        }
        assert True in s.column("SELECT internal FROM messages")
        assert s.column("SELECT filename FROM attachments") == {"internal.txt"}
        assert s.rows("SELECT agent_id FROM tokens") == [(raw.ids["hosting@host.test"],)]
    with raw.session("admin") as s:  # admins issue and revoke, so they read every token row
        assert len(s.rows("SELECT id FROM tokens")) == len(raw.desk.tokens)


def test_a_contact_cannot_write_into_another_account(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    beta_ticket, alpha_ticket = ids[codes["beta"]], ids[codes["alpha"]]
    alpha_owner = ids["owner@alpha.test"]
    before = deskdb.dump(raw.desk.url)
    with raw.session("alpha") as s:
        # Rows of another account are not there to update; nobody but tix_system deletes (0010).
        assert s.rowcount("UPDATE tickets SET subject = 'pwned' WHERE id = %s", beta_ticket) == 0
        assert s.rowcount("UPDATE tickets SET subject = 'pwned'") == 1  # only alpha's own
        s.refused("DELETE FROM tickets WHERE id = %s", beta_ticket)
        s.refused("DELETE FROM messages WHERE ticket_id = %s", beta_ticket)
        assert (
            s.rowcount("UPDATE contacts SET can_login = false WHERE account_id = %s", ids["beta"])
            == 0
        )
        assert s.rowcount("UPDATE tokens SET revoked_at = NULL") == 0
        # Nothing can be put into another account, nor one's own ticket moved there.
        s.refused(
            "INSERT INTO messages (ticket_id, author_contact_id, body, created_at) "
            "VALUES (%s, %s, 'injected', now())",
            beta_ticket,
            alpha_owner,
        )
        s.refused(
            "INSERT INTO tickets (code, subject, department_id, priority, status, account_id,"
            " contact_id, created_at, updated_at) VALUES ('AAAA-AAAA', 'x', 1, 2, 'open', %s,"
            " %s, now(), now())",
            ids["beta"],
            ids["owner@beta.test"],
        )
        s.refused("UPDATE tickets SET account_id = %s WHERE id = %s", ids["beta"], alpha_ticket)
        s.refused(
            "INSERT INTO events (ticket_id, at, actor, kind) VALUES (%s, now(), 'x', 'closed')",
            beta_ticket,
        )
        s.refused(
            "INSERT INTO outbox (message_id, ticket_id, kind, recipient, subject, raw, "
            "next_attempt_at, created_at) VALUES ('<x@y>', %s, 'k', 'r', 's', 'raw', now(), "
            "now())",
            beta_ticket,
        )
        # Nor, in their own account, write as an agent, write a note, or touch people and tokens.
        s.refused(
            "INSERT INTO messages (ticket_id, author_agent_id, body, created_at) "
            "VALUES (%s, %s, 'I am staff', now())",
            alpha_ticket,
            ids["hosting@host.test"],
        )
        s.refused(
            "INSERT INTO messages (ticket_id, author_contact_id, body, internal, created_at) "
            "VALUES (%s, %s, 'note', true, now())",
            alpha_ticket,
            alpha_owner,
        )
        s.refused(
            "INSERT INTO contacts (account_id, email, name, created_at) "
            "VALUES (%s, 'x@alpha.test', 'X', now())",
            ids["alpha"],
        )
        s.refused(
            "INSERT INTO tokens (token_hash, contact_id, created_at) VALUES ('h', %s, now())",
            alpha_owner,
        )
        s.refused(
            "INSERT INTO agents (email, name, is_admin, created_at) "
            "VALUES ('me@host.test', 'Me', true, now())"
        )
    assert deskdb.dump(raw.desk.url) == before  # (each session is rolled back besides)


def test_a_reseller_writes_for_a_client_and_the_client_not_for_the_reseller(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    with raw.session("resel") as s:
        assert (
            s.rowcount("UPDATE tickets SET priority = 3 WHERE id = %s", ids[codes["client"]]) == 1
        )
        assert (
            s.rowcount("UPDATE tickets SET priority = 3 WHERE id = %s", ids[codes["other_client"]])
            == 0
        )
        s.refused(
            "INSERT INTO messages (ticket_id, author_contact_id, body, created_at) "
            "VALUES (%s, %s, 'x', now())",
            ids[codes["other_client"]],
            ids["owner@resel.test"],
        )
        s.cur.execute(
            "INSERT INTO messages (ticket_id, author_contact_id, body, created_at) "
            "VALUES (%s, %s, 'for my client', now())",
            (ids[codes["client"]], ids["owner@resel.test"]),
        )
    with raw.session("client") as s:
        assert s.rowcount("UPDATE tickets SET priority = 3 WHERE id = %s", ids[codes["resel"]]) == 0
        assert s.column("SELECT handle FROM accounts") == {"client"}


def test_an_agent_writes_everywhere_but_only_admins_manage_staff_and_tokens(raw):
    ids, codes = raw.ids, raw.ids["codes"]
    with raw.session("hosting_agent") as s:
        assert s.rowcount("UPDATE tickets SET priority = 4 WHERE id = %s", ids[codes["beta"]]) == 1
        s.refused(
            "INSERT INTO agents (email, name, is_admin, created_at) "
            "VALUES ('me2@host.test', 'Me', true, now())"
        )
        assert s.rowcount("UPDATE agents SET is_admin = true") == 0
        s.refused(
            "INSERT INTO tokens (token_hash, agent_id, created_at) VALUES ('h', %s, now())",
            ids["hosting@host.test"],
        )
    with raw.session("admin") as s:
        assert (
            s.rowcount(
                "UPDATE tokens SET revoked_at = now() WHERE contact_id = %s", ids["owner@beta.test"]
            )
            == 1
        )


def test_without_a_valid_token_a_session_sees_nothing(raw):
    forged = [None, "tix_guessed-token", "' OR true --"]
    for token in forged:
        with raw.session(None, token=token) as s:
            for table in DATA_TABLES_WITH_ACCOUNT_ROWS + ["agents", "departments", "watchers"]:
                assert s.rows(f"SELECT count(*) FROM {table}") == [(0,)], (token, table)
            assert s.rowcount("UPDATE tickets SET subject = 'x'") == 0
            assert len(s.rows("SELECT version FROM schema_migrations")) > 0  # tix checks it first
    # Ids a session could set for itself mean nothing: only a token's hash names a principal.
    with raw.session(None) as s:
        s.cur.execute(
            "SELECT set_config('tix.agent_id', %s, true), set_config('tix.contact_id', %s, true)",
            (str(raw.ids["admin@host.test"]), str(raw.ids["owner@beta.test"])),
        )
        assert s.rows("SELECT count(*) FROM tickets") == [(0,)]
    # A revoked token, a deactivated agent, a contact who may not log in: nothing either.
    raw.desk.tix("admin", "token", "revoke", "owner@beta.test")
    with raw.session("beta") as s:
        assert s.rows("SELECT count(*) FROM tickets") == [(0,)]
    with deskdb.opened(raw.desk.url) as db:
        db.execute_sql("UPDATE agents SET active = false WHERE email = 'hosting@host.test'")
        db.execute_sql("UPDATE contacts SET can_login = false WHERE email = 'owner@alpha.test'")
    for who in ("hosting_agent", "alpha"):
        with raw.session(who) as s:
            assert s.rows("SELECT count(*) FROM tickets") == [(0,)], who


def test_the_identity_ends_with_its_transaction_on_a_pooled_connection(raw):
    conn = psycopg2.connect(raw.desk.app_url.replace("postgresql://", "postgres://"))
    try:
        cur = conn.cursor()
        present_identity(cur, raw.desk.tokens["hosting_agent"])
        cur.execute("SELECT count(*) FROM tickets")
        assert cur.fetchone()[0] == 5
        conn.commit()
        cur.execute("SELECT count(*) FROM tickets")  # the next transaction on the same connection
        assert cur.fetchone()[0] == 0
    finally:
        conn.rollback()
        conn.close()


# -- the catalogue --------------------------------------------------------------------------------


def test_every_table_is_forced_under_rls_and_the_app_role_bypasses_nothing(raw):
    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    with deskdb.opened(raw.desk.url) as db:
        tables = db.execute_sql(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),"
            " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)"
            " FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace"
            " AND c.relkind IN ('r', 'p')"
        ).fetchall()
        assert {"tickets", "messages", "tokens", "outbox"} <= {t[0] for t in tables}
        for name, enabled, forced, owner, policies in tables:
            assert enabled and forced and policies > 0, f"table {name} is not under forced RLS"
            assert owner not in ("tix_app", APP_LOGIN), f"{name} is owned by the application role"
        views = db.execute_sql(
            "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relkind = 'v'"
            " AND c.relnamespace = current_schema()::regnamespace"
        ).fetchall()
        for name, options in views:
            assert "security_invoker=true" in (options or []), f"view {name} runs as its owner"
        for role in ("tix_app", APP_LOGIN):
            ((superuser, bypass, createrole, createdb),) = db.execute_sql(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
                " WHERE rolname = %s",
                (role,),
            ).fetchall()
            assert not (superuser or bypass or createrole or createdb), role
            owned = db.execute_sql(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
                " WHERE c.relnamespace = current_schema()::regnamespace"
                " AND pg_has_role(%s, r.oid, 'MEMBER')",
                (role,),
            ).fetchone()[0]
            assert owned == 0, f"{role} owns (or is a member of the owner of) {owned} relations"
            assert not db.execute_sql(
                "SELECT pg_has_role(%s, 'tix_system', 'MEMBER')", (role,)
            ).fetchone()[0]
        ((app_can_login,),) = db.execute_sql(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tix_app'"
        ).fetchall()
        assert not app_can_login  # deployments log in as their own role granted tix_app


def test_the_migration_is_idempotent_about_its_cluster_wide_roles(empty_pg_database):
    """Roles outlive databases: migrating a second database on the same cluster (here: roles
    already present) works, and the roles keep their safe attributes."""
    from conftest import pg_url

    from tix import migrations, store

    db = store.connect(pg_url(empty_pg_database))
    try:
        assert "0009_row_level_security" in migrations.upgrade(db)
        assert migrations.upgrade(db) == []
        assert db.execute_sql(
            "SELECT rolsuper OR rolbypassrls OR rolcanlogin FROM pg_roles WHERE rolname = 'tix_app'"
        ).fetchone() == (False,)
    finally:
        db.close()


# -- tix itself as the application role -------------------------------------------------------------


def test_a_whole_ticket_life_as_the_application_role(desk, tmp_path):
    """Create with a file, note with a file, replies, jobs' reminder, auto-close and reopen: tix
    connected as tix_app for people, tix-jobs as a role granted tix_system."""
    import json

    from jobs_support import jobs

    ensure_login_role(SYSTEM_LOGIN, "tix_system")
    shot = tmp_path / "error.png"
    shot.write_bytes(b"\x89PNG fake")
    note = tmp_path / "note.txt"
    note.write_text("internal")
    with freeze_time("2025-03-03 10:00:00") as frozen:
        code = desk.create(
            "alpha", "Mail down", "email", "high", "No mail since 9:00.", "--attach", str(shot)
        )
        desk.tix(
            "reply",
            code,
            "--internal",
            "-m",
            "Check MX.",
            "--attach",
            str(note),
            as_="hosting_agent",
        )
        desk.tix("reply", code, "-m", "Fixed, please check.", as_="hosting_agent")
        shown = json.loads(
            desk.tix("show", code, "--history", "--format", "json", as_="alpha").stdout
        )
        assert [a["filename"] for a in shown["attachments"]] == ["error.png"]
        assert [m["body"] for m in shown["messages"]] == [
            "No mail since 9:00.",
            "Fixed, please check.",
        ]
        assert "note" not in [e["kind"] for e in shown["events"]]
        agent_view = json.loads(
            desk.tix("show", code, "--format", "json", as_="hosting_agent").stdout
        )
        # The agent also sees the internal note (and the ticket assistant's, filed with the
        # customer's own create through tix_add_assistant_note) and the note's file.
        internal = [m["body"] for m in agent_view["messages"] if m["internal"]]
        assert "Check MX." in internal and len(agent_view["attachments"]) == 2
        got = desk.tix(
            "attachment", "get", code, str(shown["attachments"][0]["id"]), "-o", "-", as_="alpha"
        )
        assert got.stdout_bytes == b"\x89PNG fake"
        assert (
            desk.tix("show", code, as_="beta", expect=3).stderr == f"tix: error: no ticket {code}\n"
        )

        system_url = url_as(desk.url, SYSTEM_LOGIN)
        frozen.tick(timedelta(hours=49))
        assert "reminded 1" in jobs(system_url, "run").stdout
        frozen.tick(timedelta(hours=25))
        assert "closed 1" in jobs(system_url, "run").stdout
        assert deskdb.ticket(desk.url, code).close_reason == "auto"
        desk.tix("reopen", code, "-m", "Still broken.", as_="alpha_dev")
        assert deskdb.ticket(desk.url, code).status == "open"
        # tix-jobs connected as the bare application role has no token: it sees no work at all.
        frozen.tick(timedelta(hours=1))
        assert "reminded 0, closed 0, sent 0" in jobs(desk.app_url, "run").stdout


def test_a_customer_reply_cancels_the_queued_reminder_as_the_application_role(desk):
    from jobs_support import jobs

    with freeze_time("2025-03-03 10:00:00") as frozen:
        code = desk.create("alpha")
        desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
        frozen.tick(timedelta(hours=49))
        jobs(desk.url, "remind")  # queued, not sent
        desk.tix("reply", code, "-m", "Not fixed.", as_="alpha")
        reminders = [row.status for row in deskdb.outbox(desk.url, code) if row.kind == "reminder"]
        assert reminders and set(reminders) == {"cancelled"}


def test_admin_work_as_the_application_role(desk):
    desk.tix("admin", "account", "add", "gamma", "--name", "Gamma", "--owner-email", "o@gamma.test")
    desk.tix("admin", "service", "add", "gamma", "gamma.test", "--kind", "domain")
    token = desk.tix("admin", "token", "issue", "o@gamma.test", "--quiet").stdout.strip()
    desk.tokens["gamma"] = token
    code = desk.create("gamma", "New here", "sales", "low", "Hello", "--service", "gamma.test")
    assert desk.tix("list", "--format", "csv", as_="gamma").stdout.count(code) == 1
    desk.tix("admin", "token", "revoke", "o@gamma.test")
    assert "token not valid" in desk.tix("list", as_="gamma", expect=4).stderr
