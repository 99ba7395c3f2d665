"""The agents' desk: `tix next`, canned replies, merge, watchers and search.

The desk (tests/conftest.py): hosting agents are the admin and `hosting@`; `billing@` (Spanish)
works billing only; account `alpha` is Spanish (owner + `dev@` with ticket emails + `quiet@`
without, who writes in English) and has the domain service `alpha.test`.
"""

import json
from datetime import datetime, timedelta

import deskdb
import pytest
from freezegun import freeze_time

T0 = datetime(2025, 3, 3, 10, 0, 0)
ALPHA_MAIL = ["dev@alpha.test", "owner@alpha.test"]


@pytest.fixture
def frozen():
    with freeze_time(T0) as frozen_time:
        yield frozen_time


def assignee(desk, code):
    with deskdb.opened(desk.url):
        from tix.models import Agent, Ticket

        ticket = Ticket.get(Ticket.code == code)
        return Agent.get_by_id(ticket.assignee_id).email if ticket.assignee_id else None


# -- tix next ---------------------------------------------------------------------------------


def test_next_claims_emergency_first_then_longest_wait(desk, frozen):
    medium_old = desk.create("alpha", "Old medium", priority="medium")
    frozen.tick(timedelta(minutes=5))
    high = desk.create("beta", "High one", priority="high")
    frozen.tick(timedelta(minutes=5))
    emergency = desk.create("beta", "Emergency", priority="emergency")
    frozen.tick(timedelta(minutes=5))
    medium_new = desk.create("client", "New medium", priority="medium")
    desk.create("beta", "A billing question", department="billing", priority="emergency")

    got = [
        json.loads(desk.tix("next", "--format", "json", as_="hosting_agent").stdout)["code"]
        for _ in range(4)
    ]

    assert got == [emergency, high, medium_old, medium_new]
    assert all(assignee(desk, code) == "hosting@host.test" for code in got)
    # The billing ticket is not in hosting@'s departments: nothing left for them.
    empty = desk.tix("next", as_="hosting_agent", expect=3)
    assert "no unassigned ticket" in empty.stderr


def test_next_counts_waiting_from_the_customers_last_message(desk, frozen):
    first = desk.create("alpha", "Opened first")
    frozen.tick(timedelta(minutes=10))
    second = desk.create("beta", "Opened second")
    frozen.tick(timedelta(minutes=10))
    # An answered ticket the customer replied to later has waited only since that reply.
    desk.tix("reply", first, "-m", "Try again?", as_="admin")
    frozen.tick(timedelta(minutes=10))
    desk.tix("reply", first, "-m", "Still down", as_="alpha")

    assert (
        json.loads(desk.tix("next", "--format", "json", as_="hosting_agent").stdout)["code"]
        == second
    )
    assert (
        json.loads(desk.tix("next", "--format", "json", as_="hosting_agent").stdout)["code"]
        == first
    )


def test_next_writes_a_reassign_event_and_skips_assigned_and_answered(desk, frozen):
    taken = desk.create("alpha", "Already taken")
    desk.tix("reassign", taken, "--agent", "admin@host.test")
    answered = desk.create("alpha", "Answered")
    desk.tix("reply", answered, "-m", "Done?", as_="admin")
    free = desk.create("beta", "Free")
    before = deskdb.last_outbox_id(desk.url)

    out = desk.tix("next", as_="hosting_agent").stdout
    assert out.startswith(f"claimed {free}: Free (hosting, medium, open, account beta")

    last = deskdb.events(desk.url, free)[-1]
    assert (last.kind, last.actor) == ("reassigned", "agent:hosting@host.test")
    assert json.loads(last.before) == {"assignee": None}
    assert json.loads(last.after) == {"assignee": "hosting@host.test", "claimed": True}
    # Like `tix reassign CODE --agent <yourself>`: nobody else needs telling.
    assert deskdb.mails(desk.url, after_id=before) == []
    desk.tix("next", as_="hosting_agent", expect=3)


def test_next_is_for_agents_of_the_department(desk):
    desk.create("alpha")
    assert "only agents" in desk.tix("next", as_="alpha", expect=4).stderr
    refused = desk.tix("next", "--department", "billing", as_="hosting_agent", expect=4)
    assert "not an agent of department billing" in refused.stderr
    assert (
        "unknown department" in desk.tix("next", "-d", "nope", as_="hosting_agent", expect=2).stderr
    )


# -- canned replies ---------------------------------------------------------------------------


def test_template_reply_in_the_customers_language(desk):
    desk.tix(
        "template",
        "add",
        "dns-wait",
        "--lang",
        "en",
        "-m",
        "Hello {customer},\n\nDNS changes for {domain} take up to 24 hours. Ticket {code}.\n{agent}",
    )
    desk.tix(
        "template",
        "add",
        "dns-wait",
        "--lang",
        "es",
        "-m",
        "Hola {customer}:\n\nLos cambios de DNS de {domain} tardan hasta 24 horas. Ticket {code}.\n{agent}",
    )
    spanish = desk.create("alpha", "DNS", "hosting", "medium", "New DNS", "--service", "alpha.test")
    english = desk.create(
        "alpha_quiet", "DNS too", "hosting", "medium", "Me too", "--service", "alpha.test"
    )

    out = desk.tix("reply", spanish, "--template", "dns-wait", as_="hosting_agent").stdout
    assert out.strip() == f"replied on {spanish}; status answered"
    desk.tix("reply", english, "--template", "DNS-WAIT", as_="hosting_agent")

    shown_es = json.loads(desk.tix("show", spanish, "--format", "json", as_="alpha").stdout)
    assert shown_es["messages"][-1]["body"] == (
        f"Hola Olga Alpha:\n\nLos cambios de DNS de alpha.test tardan hasta 24 horas. Ticket {spanish}.\n"
        "Hana Hosting"
    )
    assert shown_es["messages"][-1]["author"] == "hosting@host.test"
    shown_en = json.loads(desk.tix("show", english, "--format", "json", as_="alpha").stdout)
    assert shown_en["messages"][-1]["body"].startswith(
        "Hello Quiet Alpha,\n\nDNS changes for alpha.test"
    )
    # It went through the lifecycle like any reply: the customers got the agent's email.
    assert ("agent-reply", "owner@alpha.test") in deskdb.mails(desk.url, spanish)


def test_template_falls_back_to_english_and_refuses_a_missing_domain(desk):
    desk.tix("template", "add", "thanks", "-m", "Thanks {customer}, ticket {code} is fixed.")
    desk.tix("template", "add", "dns", "-m", "Your domain {domain} is fine.")
    code = desk.create("beta", "Thanks")
    desk.tix("reply", code, "--template", "thanks", as_="admin")
    assert "Thanks Beta Inc, ticket" in desk.tix("show", code, as_="beta").stdout

    before = deskdb.dump(desk.url)
    refused = desk.tix("reply", code, "--template", "dns", as_="admin", expect=2)
    assert "uses {domain}" in refused.stderr
    assert desk.tix("reply", code, "--template", "nope", as_="admin", expect=3).stderr.strip() == (
        "tix: error: no template 'nope' in en"
    )
    assert desk.tix("reply", code, "--template", "thanks", "-m", "x", as_="admin", expect=2)
    assert deskdb.dump(desk.url) == before


def test_template_add_list_show_edit(desk):
    desk.tix("template", "add", "hello", "-m", "Hi {customer}", as_="hosting_agent")
    desk.tix(
        "template", "add", "hello", "--lang", "es", "-m", "Hola {customer}", as_="billing_agent"
    )
    again = desk.tix("template", "add", "hello", "-m", "x", expect=2)
    assert "already exists" in again.stderr
    bad = desk.tix("template", "add", "oops", "-m", "Dear {name}", expect=2)
    assert "unknown placeholder {name}" in bad.stderr
    assert "literal braces" in desk.tix("template", "add", "oops", "-m", "a { b", expect=2).stderr

    listed = json.loads(desk.tix("template", "list", "--format", "json").stdout)
    assert [(t["name"], t["lang"], t["updated_by"]) for t in listed] == [
        ("hello", "en", "hosting@host.test"),
        ("hello", "es", "billing@host.test"),
    ]
    assert (
        json.loads(desk.tix("template", "list", "--lang", "es", "--format", "json").stdout)[0][
            "body"
        ]
        == "Hola {customer}"
    )

    desk.tix("template", "edit", "hello", "--lang", "es", "-m", "Buenas, {customer}")
    assert desk.tix("template", "show", "hello", "--lang", "es").stdout == "Buenas, {customer}\n"
    assert desk.tix("template", "show", "hello").stdout == "Hi {customer}\n"
    assert desk.tix("template", "edit", "hello", "-m", "Hi {customer}", expect=4)
    assert desk.tix("template", "show", "nope", expect=3)
    assert "only agents" in desk.tix("template", "list", as_="alpha", expect=4).stderr


# -- merge ------------------------------------------------------------------------------------


def test_merge_joins_threads_and_events_and_tells_the_customer_once(desk, frozen):
    first = desk.create("alpha", "Mail down", "email", "high", "No mail since 9:00")
    frozen.tick(timedelta(minutes=3))
    second = desk.create("alpha_dev", "Cannot send email", "email", "medium", "Outlook says 550")
    desk.tix("watch", second, as_="billing_agent")
    frozen.tick(timedelta(minutes=3))
    before = deskdb.last_outbox_id(desk.url)

    out = desk.tix("merge", second, first, as_="admin").stdout
    assert out.strip() == f"merged {second} into {first}; {second} is closed"

    # One email per customer recipient of either ticket, about the merge; nothing else.
    assert sorted(deskdb.mails(desk.url, after_id=before)) == [
        ("merged", "dev@alpha.test"),
        ("merged", "owner@alpha.test"),
    ]
    spanish = next(
        r for r in deskdb.outbox(desk.url) if r.id > before and r.recipient == "owner@alpha.test"
    )
    assert f"hemos unido el ticket {second} al ticket {first}" in spanish.raw.replace("=\n", "")

    shown = json.loads(desk.tix("show", first, "--history", "--format", "json", as_="alpha").stdout)
    assert [m["body"] for m in shown["messages"]] == ["No mail since 9:00", "Outlook says 550"]
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds == ["created", "created", "merged", "merged-in"]
    assert shown["events"][-1]["after"] == {"from": second}

    gone = json.loads(desk.tix("show", second, "--history", "--format", "json", as_="alpha").stdout)
    assert (gone["status"], gone["close_reason"], gone["messages"]) == ("closed", "merged", [])
    assert gone["events"][-1]["after"] == {"status": "closed", "reason": "merged", "into": first}

    # The watcher moved along, and a customer answer to the old ticket lands on the new one.
    before = deskdb.last_outbox_id(desk.url)
    reply = desk.tix("reply", second, "-m", "Any news?", as_="alpha").stdout
    assert reply.strip() == f"replied on {first}; status customer-reply"
    assert ("agent-customer-reply", "billing@host.test") in deskdb.mails(desk.url, after_id=before)
    assert "merged into" in desk.tix("reopen", second, as_="alpha", expect=4).stderr


def test_merge_refusals_write_nothing(desk):
    mine = desk.create("alpha", "One")
    other = desk.create("alpha", "Two")
    beta = desk.create("beta", "Beta's")
    closed = desk.create("alpha", "Closed")
    desk.tix("close", closed, as_="admin")
    before = deskdb.dump(desk.url)

    assert "different accounts" in desk.tix("merge", mine, beta, expect=4).stderr
    assert "into itself" in desk.tix("merge", mine, mine, expect=2).stderr
    assert "reopen it" in desk.tix("merge", mine, closed, expect=4).stderr
    assert "only agents" in desk.tix("merge", mine, other, as_="alpha", expect=4).stderr
    # A customer cannot learn about another account's ticket through merge either.
    assert (
        desk.tix("merge", mine, beta, as_="alpha", expect=3).stderr.strip()
        == f"tix: error: no ticket {beta}"
    )
    assert deskdb.dump(desk.url) == before

    desk.tix("merge", other, mine)
    assert "already merged into" in desk.tix("merge", other, mine, expect=4).stderr
    assert "merge into that one" in desk.tix("merge", mine, other, expect=4).stderr


# -- watchers ---------------------------------------------------------------------------------


def test_watchers_are_told_of_every_reply(desk):
    code = desk.create("alpha", "Invoice for hosting", "hosting")
    desk.tix("watch", code, as_="billing_agent")
    assert "already watch" in desk.tix("watch", code, as_="billing_agent", expect=4).stderr

    before = deskdb.last_outbox_id(desk.url)
    desk.tix("reply", code, "-m", "Checking", as_="hosting_agent")
    assert sorted(deskdb.mails(desk.url, after_id=before)) == sorted(
        [("agent-reply", r) for r in ALPHA_MAIL] + [("agent-watch-reply", "billing@host.test")]
    )
    watch_mail = next(r for r in deskdb.outbox(desk.url) if r.kind == "agent-watch-reply")
    assert "Respuesta en un ticket que sigue" in watch_mail.raw  # billing@ reads Spanish

    before = deskdb.last_outbox_id(desk.url)
    desk.tix("reply", code, "-m", "Thanks", as_="alpha")
    assert sorted(deskdb.mails(desk.url, after_id=before)) == [
        ("agent-customer-reply", "admin@host.test"),
        ("agent-customer-reply", "billing@host.test"),
        ("agent-customer-reply", "hosting@host.test"),
    ]

    # The watcher's own reply is not echoed back to them; internal notes email nobody.
    before = deskdb.last_outbox_id(desk.url)
    desk.tix("reply", code, "-m", "Invoice fixed", as_="billing_agent")
    desk.tix("reply", code, "--internal", "-m", "note", as_="hosting_agent")
    assert sorted(deskdb.mails(desk.url, after_id=before)) == [
        ("agent-reply", r) for r in ALPHA_MAIL
    ]

    desk.tix("unwatch", code, as_="billing_agent")
    assert "do not watch" in desk.tix("unwatch", code, as_="billing_agent", expect=4).stderr
    before = deskdb.last_outbox_id(desk.url)
    desk.tix("reply", code, "-m", "Anything else?", as_="hosting_agent")
    assert ("agent-watch-reply", "billing@host.test") not in deskdb.mails(desk.url, after_id=before)
    assert "only agents" in desk.tix("watch", code, as_="alpha", expect=4).stderr


# -- search -----------------------------------------------------------------------------------


def test_search_subjects_and_bodies_within_what_each_may_see(desk):
    alpha = desk.create("alpha", "Website slow", "hosting", "medium", "The WordPress admin is slow")
    beta = desk.create("beta", "WordPress update failed", "hosting", "high", "Updater crashed")
    client = desk.create(
        "client", "Mail bounce", "email", "medium", "Bounces from wordpress contact form"
    )
    desk.tix("reply", alpha, "--internal", "-m", "Customer plugin uses xmlrpc heavily", as_="admin")

    def codes(*args, as_="admin"):
        return [
            row["code"]
            for row in json.loads(desk.tix("search", *args, "--format", "json", as_=as_).stdout)
        ]

    # Agents: every account, subjects and bodies, in queue order (priority, then age).
    assert codes("wordpress") == [beta, alpha, client]
    assert codes("WordPress admin") == [alpha]  # every word, in one place
    assert codes("xmlrpc") == [alpha]  # internal notes: agents only
    assert codes("wordpress", "--department", "email") == [client]
    assert codes("wordpress", "--priority", "high") == [beta]
    # Customers: only their own tickets, never through an internal note.
    assert codes("wordpress", as_="alpha") == [alpha]
    assert codes("xmlrpc", as_="alpha") == []
    assert codes("wordpress", as_="resel") == [client]  # a reseller sees its client's
    assert codes("crashed", as_="other_resel") == []
    # Closed tickets only with --all, as in `tix list`; CSV and table like `tix list`.
    desk.tix("close", beta)
    assert codes("crashed") == []
    assert codes("crashed", "--all") == [beta]
    csv = desk.tix("search", "bounce", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("code,subject,status") and csv[1].startswith(client)
    assert desk.tix("search", "nothing-like-this").stdout.strip() == "(none)"


def test_search_index_follows_edits_and_odd_input(desk):
    code = desk.create("alpha", "Quota", "hosting", "medium", 'Disk "full" -- AND OR NEAR( * ^')
    assert [
        r["code"] for r in json.loads(desk.tix("search", 'full" OR *', "--format", "json").stdout)
    ] == [code]
    assert "no words" in desk.tix("search", '"*"', expect=2).stderr
    with deskdb.opened(desk.url):
        from tix.models import Message, Ticket

        # The index follows an edit of the text itself (a trigger on SQLite, the GIN index on
        # PostgreSQL), whichever way the text changes.
        Ticket.update(subject="Backup restore").where(Ticket.code == code).execute()
        Message.update(body="Please restore yesterday").where(
            Message.ticket == Ticket.get(Ticket.code == code).id
        ).execute()
    assert desk.tix("search", "quota").stdout.strip() == "(none)"
    assert desk.tix("search", "full").stdout.strip() == "(none)"
    assert code in desk.tix("search", "backup").stdout
    assert code in desk.tix("search", "yesterday").stdout
    # Accents count on both stores (SQLite keeps diacritics, PostgreSQL 'simple' does too).
    accented = desk.create("alpha", "Facturación", "billing", "medium", "¿Dónde está?")
    assert accented in desk.tix("search", "facturación").stdout
    assert accented in desk.tix("search", "dónde").stdout
