"""Who may see and do what: customer A vs B, a sub-contact vs another account, a reseller vs
another reseller's client, agents vs customers, admins vs everyone else. A ticket that is not
yours must be indistinguishable from one that does not exist."""

import json

import deskdb
import pytest

NONEXISTENT = "ZZZZ-ZZZZ"


def codes_seen(desk, as_, *extra):
    rows = json.loads(desk.tix("list", "--all", "--format", "json", *extra, as_=as_).stdout)
    return {row["code"] for row in rows}


@pytest.fixture
def tickets(desk):
    """One ticket per account, each opened by that account's owner."""
    return {
        who: desk.create(who, subject=f"{who} problem")
        for who in ("alpha", "beta", "resel", "client", "other_resel", "other_client")
    }


def test_each_customer_sees_only_their_accounts_tickets(desk, tickets):
    everything = set(tickets.values())
    assert codes_seen(desk, "alpha") == {tickets["alpha"]}
    assert codes_seen(desk, "alpha_dev") == {tickets["alpha"]}  # sub-contact: same account
    assert codes_seen(desk, "alpha_quiet") == {tickets["alpha"]}
    assert codes_seen(desk, "beta") == {tickets["beta"]}
    assert codes_seen(desk, "client") == {tickets["client"]}  # not the reseller's own
    assert codes_seen(desk, "resel") == {tickets["resel"], tickets["client"]}
    assert codes_seen(desk, "other_resel") == {tickets["other_resel"], tickets["other_client"]}
    for agent in ("admin", "hosting_agent", "billing_agent"):
        assert codes_seen(desk, agent) == everything


def test_sub_contact_acts_on_the_accounts_tickets(desk, tickets):
    desk.tix("reply", tickets["alpha"], "-m", "Dev here, same problem.", as_="alpha_dev")
    desk.tix("close", tickets["alpha"], as_="alpha_quiet")
    desk.tix("reopen", tickets["alpha"], as_="alpha_dev")


def test_reseller_acts_for_a_client_but_not_for_another_resellers_client(desk, tickets):
    desk.tix("reply", tickets["client"], "-m", "Reseller here.", as_="resel")
    code = desk.create("resel", "For my client", "hosting", "low", "x", "--account", "client")
    assert (
        deskdb.ticket(desk.url, code).account_id
        == deskdb.ticket(desk.url, tickets["client"]).account_id
    )
    assert code in codes_seen(desk, "client")
    assert codes_seen(desk, "resel", "--account", "client") == {tickets["client"], code}


def _not_found_messages(desk, args_for, as_):
    """(exit code, stderr) for someone else's ticket and for a code that does not exist, with
    the code itself blanked out."""
    results = []
    for code in (args_for["theirs"], NONEXISTENT):
        result = desk.tix(*args_for["args"](code), as_=as_, expect=None)
        results.append((result.exit_code, result.stdout, result.stderr.replace(code, "CODE")))
    return results


COMMANDS = {
    "show": lambda code: ["show", code],
    "show --history": lambda code: ["show", code, "--history", "--format", "json"],
    "reply": lambda code: ["reply", code, "-m", "hello"],
    "internal note": lambda code: ["reply", code, "--internal", "-m", "hello"],
    "close": lambda code: ["close", code],
    "reopen": lambda code: ["reopen", code],
    "status": lambda code: ["status", code, "on-hold"],
    "reassign": lambda code: ["reassign", code, "--priority", "high"],
    "attachment get": lambda code: ["attachment", "get", code, "1", "-o", "-"],
}


# (who, whose ticket): another customer, a sub-contact, a reseller's client vs the reseller,
# resellers vs another reseller's client, a customer vs some reseller's client.
NOT_YOURS = [
    ("beta", "alpha"),
    ("alpha_dev", "beta"),
    ("client", "resel"),
    ("resel", "other_client"),
    ("other_resel", "client"),
    ("alpha", "client"),
]


def test_a_ticket_not_yours_reads_exactly_like_one_that_does_not_exist(desk, tickets):
    before = deskdb.dump(desk.url)
    for who, whose in NOT_YOURS:
        for name, args in COMMANDS.items():
            (theirs, missing) = _not_found_messages(
                desk, {"theirs": tickets[whose], "args": args}, who
            )
            assert theirs == missing, (who, whose, name)
            assert theirs[0] == 3 and theirs[1] == "", (who, whose, name)
            assert theirs[2] == "tix: error: no ticket CODE\n", (who, whose, name)
        # Typed in lower case, the answer is still the same.
        lower = desk.tix("show", tickets[whose].lower(), as_=who, expect=3)
        assert lower.stderr == f"tix: error: no ticket {tickets[whose]}\n"
    assert deskdb.dump(desk.url) == before


def test_another_account_reads_exactly_like_an_unknown_one(desk, tickets):
    for args in (
        ["list", "--account"],
        ["create", "-d", "hosting", "-s", "x", "-m", "y", "--account"],
    ):
        theirs = desk.tix(*args, "beta", as_="alpha", expect=3)
        missing = desk.tix(*args, "nosuch", as_="alpha", expect=3)
        assert theirs.stderr.replace("beta", "X") == missing.stderr.replace("nosuch", "X")
    theirs = desk.tix("list", "--account", "other-client", as_="resel", expect=3)
    assert "no account" in theirs.stderr


def test_agents_act_on_every_account(desk, tickets):
    desk.tix("reply", tickets["other_client"], "-m", "On it.", as_="billing_agent")
    desk.tix("reassign", tickets["beta"], "--agent", "billing@host.test", as_="hosting_agent")
    desk.tix("status", tickets["resel"], "in-progress", as_="billing_agent")


def test_only_agents_reassign_change_priority_note_or_set_status(desk, tickets):
    before = deskdb.dump(desk.url)
    for who, code in (
        ("alpha", tickets["alpha"]),
        ("alpha_dev", tickets["alpha"]),
        ("resel", tickets["client"]),
    ):
        _refused_to_customer(desk, who, code)
    assert deskdb.dump(desk.url) == before


def _refused_to_customer(desk, who, code):
    for args in (
        ["reassign", code, "--priority", "emergency"],
        ["reassign", code, "--department", "billing"],
        ["reassign", code, "--agent", "hosting@host.test"],
        ["reply", code, "--internal", "-m", "psst"],
        ["status", code, "on-hold"],
        ["status", code, "in-progress"],
        ["list", "--assignee", "me"],
    ):
        result = desk.tix(*args, as_=who, expect=4)
        assert result.stderr.startswith("tix: error: only agents"), (who, args)


ADMIN_COMMANDS = [
    ["admin", "department", "add", "legal", "--name", "Legal"],
    ["admin", "department", "list"],
    ["admin", "agent", "add", "new@host.test", "--name", "New", "--department", "hosting"],
    ["admin", "account", "add", "gamma", "--name", "Gamma", "--owner-email", "o@gamma.test"],
    ["admin", "contact", "add", "alpha", "x@alpha.test", "--name", "X", "--login"],
    ["admin", "service", "add", "alpha", "alpha.example", "--kind", "domain"],
    ["admin", "token", "issue", "owner@beta.test"],
    ["admin", "token", "revoke", "owner@beta.test"],
]


def test_only_admins_use_tix_admin(desk):
    before = deskdb.dump(desk.url)
    for who in ("hosting_agent", "alpha", "resel"):
        for args in ADMIN_COMMANDS:
            result = desk.tix(*args, as_=who, expect=4)
            assert result.stdout == "", (who, args)
            assert result.stderr == "tix: error: only admins can do this\n", (who, args)
    assert deskdb.dump(desk.url) == before


def test_an_admin_made_agent_may_use_tix_admin(desk):
    desk.tix(
        "admin",
        "agent",
        "add",
        "boss@host.test",
        "--name",
        "Boss",
        "--department",
        "sales",
        "--admin",
    )
    desk.tokens["boss"] = desk.tix(
        "admin", "token", "issue", "boss@host.test", "--quiet"
    ).stdout.strip()
    desk.tix("admin", "department", "add", "legal", "--name", "Legal", as_="boss")


def test_not_logged_in_and_revoked_tokens_are_refused(desk, tickets):
    desk.tix("logout", as_=None)  # forget the admin token `tix init` saved
    result = desk.tix("list", as_=None, expect=4)
    assert result.stderr == "tix: error: not logged in: run `tix login` (or set TIX_TOKEN)\n"
    desk.tix("admin", "token", "revoke", "owner@beta.test")
    for args in (["list"], ["show", tickets["beta"]], ["whoami"]):
        result = desk.tix(*args, as_="beta", expect=4)
        assert "token not valid" in result.stderr
    desk.tokens["junk"] = "tix_not-a-real-token"
    assert "token not valid" in desk.tix("list", as_="junk", expect=4).stderr
    # A new token works again; the other contacts of the account were never affected.
    desk.tokens["beta"] = desk.tix(
        "admin", "token", "issue", "owner@beta.test", "--quiet"
    ).stdout.strip()
    assert codes_seen(desk, "beta") == {tickets["beta"]}


def test_contacts_without_login_get_no_token(desk):
    desk.tix("admin", "contact", "add", "beta", "billing@beta.test", "--name", "Beta Billing")
    before = deskdb.dump(desk.url)
    result = desk.tix("admin", "token", "issue", "billing@beta.test", expect=4)
    assert "may not log in" in result.stderr
    assert deskdb.dump(desk.url) == before


def test_tokens_are_stored_only_as_hashes(desk):
    everything = json.dumps(deskdb.dump(desk.url), default=str)
    for token in desk.tokens.values():
        assert token not in everything
