"""Looking after people and accounts once they exist (`tix admin agent|account|contact|service
list|show|edit|deactivate|reactivate`), and what deactivating means: a contact can neither log
in nor write by email and is mailed nothing; an agent is mailed nothing, gets no ticket (their
open ones go back to the queue, nobody can assign them one) and cannot log in."""

import json

import deskdb
import pytest
from test_mail_in import eml, mail_in

from tix.service import shapes


def as_json(result):
    return json.loads(result.stdout)


def test_lists_and_shows_give_their_documented_keys(desk):
    t = desk.tix
    agents = as_json(t("admin", "agent", "list", "--format", "json"))
    assert [a["email"] for a in agents] == sorted(a["email"] for a in agents)
    assert all(list(a) == list(shapes.AGENT) for a in agents)
    hana = as_json(t("admin", "agent", "show", "HOSTING@host.test", "--format", "json"))
    assert (hana["name"], hana["departments"], hana["active"], hana["admin"]) == (
        "Hana Hosting",
        ["hosting"],
        True,
        False,
    )
    accounts = as_json(t("admin", "account", "list", "--format", "json"))
    client = next(a for a in accounts if a["handle"] == "client")
    assert (client["reseller"], client["owner"], client["is_reseller"]) == (
        "resel",
        "owner@client.test",
        False,
    )
    alpha = as_json(t("admin", "account", "show", "alpha", "--format", "json"))
    assert list(alpha) == list(shapes.ACCOUNT_DETAIL)
    assert [c["email"] for c in alpha["contacts"]] == [
        "owner@alpha.test",
        "dev@alpha.test",
        "quiet@alpha.test",
    ]
    assert [s["name"] for s in alpha["services"]] == ["alpha.test"]
    assert as_json(t("admin", "account", "show", "resel", "--format", "json"))["clients"] == [
        "client"
    ]
    contacts = as_json(t("admin", "contact", "list", "alpha", "--format", "json"))
    assert [(c["email"], c["is_owner"], c["ticket_emails"], c["login"]) for c in contacts] == [
        ("owner@alpha.test", True, True, True),
        ("dev@alpha.test", False, True, True),
        ("quiet@alpha.test", False, False, True),
    ]
    assert len(as_json(t("admin", "contact", "list", "--format", "json"))) > 3
    assert as_json(t("admin", "contact", "show", "quiet@alpha.test", "--format", "json"))[
        "lang"
    ] == ("en")
    services = as_json(t("admin", "service", "list", "--format", "json"))
    assert [(s["account"], s["name"], s["kind"]) for s in services] == [
        ("alpha", "alpha.test", "domain")
    ]
    assert as_json(t("admin", "service", "show", "alpha", "alpha.test", "--format", "json"))[
        "kind"
    ] == ("domain")
    # The table views for people.
    assert "hosting@host.test" in t("admin", "agent", "list").stdout
    assert "contacts:" in t("admin", "account", "show", "alpha").stdout
    for args, code in (
        (["admin", "agent", "show", "ghost@host.test"], 3),
        (["admin", "account", "show", "nosuch"], 3),
        (["admin", "contact", "show", "ghost@x.test"], 3),
        (["admin", "service", "show", "alpha", "nope.test"], 3),
        (["admin", "contact", "list", "nosuch"], 3),
    ):
        assert t(*args, expect=code).stderr.startswith("tix: error: ")
    # Admins only, like every `tix admin` command.
    for who in ("hosting_agent", "alpha"):
        result = t("admin", "agent", "list", as_=who, expect=4)
        assert result.stderr == "tix: error: only admins can do this\n"


def test_edit_an_agent_an_account_and_a_contact(desk):
    t = desk.tix
    out = t(
        "admin",
        "agent",
        "edit",
        "hosting@host.test",
        "--name",
        "Hana H.",
        "--lang",
        "es",
        "--add-department",
        "email",
        "--add-department",
        "billing",
        "--remove-department",
        "hosting",
    ).stdout
    assert out.strip() == "agent hosting@host.test: Hana H., es, email billing"
    last = t(
        "admin", "agent", "edit", "billing@host.test", "--remove-department", "billing", expect=2
    )
    assert "would belong to no department" in last.stderr
    assert "nothing to change" in t("admin", "agent", "edit", "hosting@host.test", expect=2).stderr

    out = t("admin", "account", "edit", "beta", "--reseller", "resel", "--name", "Beta Two")
    assert out.stdout.strip() == "account beta: Beta Two, en, reseller resel"
    assert desk.create("beta") in [
        r["code"] for r in as_json(t("list", "--format", "json", as_="resel"))
    ]
    assert "reseller none" in t("admin", "account", "edit", "beta", "--reseller", "none").stdout
    assert (
        "not a reseller"
        in t("admin", "account", "edit", "beta", "--reseller", "alpha", expect=2).stderr
    )
    assert (
        "its own reseller"
        in t("admin", "account", "edit", "resel", "--reseller", "resel", expect=2).stderr
    )
    t("admin", "account", "edit", "beta", "--reseller", "nosuch", expect=3)

    out = t("admin", "contact", "edit", "quiet@alpha.test", "--ticket-emails", "--no-login")
    assert (
        out.stdout.strip() == "contact quiet@alpha.test: Quiet Alpha, en, ticket emails, no login"
    )
    shown = as_json(t("admin", "contact", "show", "quiet@alpha.test", "--format", "json"))
    assert (shown["ticket_emails"], shown["login"]) == (True, False)
    # Making another contact the owner: the old one stays a contact.
    t("admin", "contact", "edit", "dev@alpha.test", "--owner")
    owners = [
        c["email"]
        for c in as_json(t("admin", "contact", "list", "alpha", "--format", "json"))
        if c["is_owner"]
    ]
    assert owners == ["dev@alpha.test"]


def test_the_login_error_names_a_command_that_works_on_an_existing_contact(desk):
    desk.tix("admin", "contact", "edit", "quiet@alpha.test", "--no-login")
    refused = desk.tix("admin", "token", "issue", "quiet@alpha.test", expect=4)
    assert "`tix admin contact edit quiet@alpha.test --login`" in refused.stderr
    desk.tix("admin", "contact", "edit", "quiet@alpha.test", "--login")  # ...which works
    token = desk.tix("admin", "token", "issue", "quiet@alpha.test", "--quiet").stdout.strip()
    desk.tokens["quiet"] = token
    assert "quiet@alpha.test" in desk.tix("whoami", as_="quiet").stdout


def test_a_deactivated_contact_cannot_log_in_write_by_email_or_get_mail(desk):
    code = desk.create("alpha")
    t = desk.tix
    assert t("admin", "contact", "deactivate", "dev@alpha.test").stdout.strip() == (
        "contact dev@alpha.test deactivated"
    )
    assert (
        "already deactivated"
        in t("admin", "contact", "deactivate", "dev@alpha.test", expect=4).stderr
    )
    assert "may not log in" in t("whoami", as_="alpha_dev", expect=4).stderr
    assert "deactivated" in t("admin", "token", "issue", "dev@alpha.test", expect=4).stderr
    # No email to them any more (dev has ticket emails on)...
    before = deskdb.last_outbox_id(desk.url)
    t("reply", code, "-m", "Looking.", as_="hosting_agent")
    mailed = [r for _, r in deskdb.mails(desk.url, after_id=before)]
    assert "owner@alpha.test" in mailed and "dev@alpha.test" not in mailed
    # ...and their mail is refused like a stranger's: the ticket gets nothing.
    messages = len(as_json(t("show", code, "--format", "json"))["messages"])
    raw = eml("gmail_reply.eml", CODE=code, MSGID="<x@y>", replace={"owner@alpha": "dev@alpha"})
    assert "refused" in mail_in(desk, raw).stdout
    assert len(as_json(t("show", code, "--format", "json"))["messages"]) == messages
    # The owner cannot be deactivated while they are the owner.
    refused = t("admin", "contact", "deactivate", "owner@alpha.test", expect=4)
    assert "make another contact the owner first" in refused.stderr
    # Reactivated: all of it again.
    t("admin", "contact", "reactivate", "dev@alpha.test")
    assert "dev@alpha.test" in t("whoami", as_="alpha_dev").stdout


def test_a_deactivated_agent_gets_no_mail_no_ticket_and_cannot_log_in(desk):
    t = desk.tix
    t("admin", "agent", "add", "hugo@host.test", "--name", "Hugo", "--department", "hosting")
    desk.tokens["hugo"] = t("admin", "token", "issue", "hugo@host.test", "--quiet").stdout.strip()
    mine = desk.create("alpha", "Mine")
    t("next", as_="hosting_agent")  # takes `mine`
    out = t("admin", "agent", "deactivate", "hosting@host.test").stdout.strip()
    assert out == f"agent hosting@host.test deactivated; 1 open ticket(s) back in the queue: {mine}"
    assert t("show", mine, "--format", "json").stdout.count('"assignee": null') == 1
    history = as_json(t("show", mine, "--history", "--format", "json"))["events"]
    assert history[-1]["after"] == {"assignee": None, "deactivated": "hosting@host.test"}
    assert "deactivated" in t("whoami", as_="hosting_agent", expect=4).stderr
    # The queue hands the ticket to someone who is there.
    assert as_json(t("next", "--format", "json", as_="hugo"))["code"] == mine
    # No mail: a new ticket in their department tells the others only.
    before = deskdb.last_outbox_id(desk.url)
    desk.create("alpha", "Another")
    agents = {r for k, r in deskdb.mails(desk.url, after_id=before) if k == "agent-new-ticket"}
    assert "hosting@host.test" not in agents and "hugo@host.test" in agents
    # Nobody can give them a ticket.
    refused = t("reassign", mine, "--agent", "hosting@host.test", as_="hugo", expect=4)
    assert "is deactivated" in refused.stderr
    assert "yourself" in t("admin", "agent", "deactivate", "admin@host.test", expect=4).stderr
    t("admin", "agent", "reactivate", "hosting@host.test")
    assert "hosting@host.test" in t("whoami", as_="hosting_agent").stdout


def test_an_unknown_agent_is_not_found_in_reassign_and_list(desk):
    code = desk.create("alpha")
    result = desk.tix("reassign", code, "--agent", "nobody@x.test", as_="hosting_agent", expect=3)
    assert result.stderr == "tix: error: no agent 'nobody@x.test'\n"
    result = desk.tix("list", "--assignee", "nobody@x.test", as_="hosting_agent", expect=3)
    assert result.stderr == "tix: error: no agent 'nobody@x.test'\n"


@pytest.mark.postgres_only
def test_row_level_security_knows_nobody_for_a_deactivated_contacts_token(desk):
    """Migration 0012: the functions that turn a session's token into a contact answer nothing
    for a deactivated one, even to raw SQL as the application role, and keep their pinned
    search_path."""
    import psycopg2
    from test_rls import APP_LOGIN, ensure_login_role, present_identity, url_as

    ensure_login_role(APP_LOGIN, "tix_app")
    desk.tix("admin", "contact", "deactivate", "dev@alpha.test")
    conn = psycopg2.connect(url_as(desk.url, APP_LOGIN))
    try:
        cur = conn.cursor()
        for who, expected_accounts in (("alpha_dev", 0), ("alpha", 1)):
            present_identity(cur, desk.tokens[who])
            cur.execute("SELECT tix_session_contact(), cardinality(tix_session_accounts())")
            contact, accounts = cur.fetchone()
            assert (contact is not None, accounts) == (expected_accounts == 1, expected_accounts)
            cur.execute("SELECT count(*) FROM tickets")
            conn.rollback()
        cur.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname IN "
            "('tix_session_contact', 'tix_session_accounts') ORDER BY proname"
        )
        assert cur.fetchall() == [
            ("tix_session_accounts", ["search_path=public, pg_temp"]),
            ("tix_session_contact", ["search_path=public, pg_temp"]),
        ]
    finally:
        conn.close()
