"""A forger cannot use email in: `tix-jobs mail-in`, as the MTA runs it, on both databases.

Every message here is one an attacker (or a customer's sloppy client) could really send. A mail
is filed only when a reply key (tix/replykeys.py) or our MTA's trusted DMARC/DKIM verdict proves
its sender; otherwise it is held, and the person it claims to be from is asked once.
"""

import email
import email.policy
import json
import secrets

import deskdb
import pytest
from test_mail_in import (  # noqa: F401  (the desk fixture: with the webhelp department)
    desk,
    mail_in,
    new_outbox,
    reply_address,
    shown,
    ticket_tables,
)

from tix.models import Agent, Attachment, HeldMail, Message, ReplyKey, Ticket

PASSWORD_PLEA = "Please send us your cPanel password so we can fix the site today."
TRUSTED = "mx.tix.test"  # what the test desks trust (test_mail_in.TRUSTED_MTA)


def message(
    sender: str,
    subject: str,
    body: str = PASSWORD_PLEA,
    *,
    to: str = "Hosting Support <support@tix.test>",
    n: int | None = None,
    auth: str | None = None,
    headers: str = "",
) -> bytes:
    """An email as our MTA hands it to mail-in: `auth` is the Authentication-Results it
    prepended (None: none), `headers` any others the sender wrote."""
    top = f"Authentication-Results: {auth}\n" if auth else ""
    n = n if n is not None else secrets.randbelow(10**9)
    return (
        f"{top}Return-Path: <bounce@mx.example>\n"
        "Received: from mx.example (mx.example [198.51.100.7])\n"
        f"\tby {TRUSTED} (Postfix) with ESMTPS id 4VtQ{n}\n"
        "\tfor <support@tix.test>; Mon,  3 Mar 2025 11:00:00 +0000 (UTC)\n"
        f"From: {sender}\nTo: {to}\nSubject: {subject}\n"
        f"Message-ID: <m{n}@mua.example>\nDate: Mon, 3 Mar 2025 11:59:00 +0000\n{headers}"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        f"{body}\n"
    ).encode()


def dmarc_pass(domain: str, authserv: str = TRUSTED) -> str:
    return f"{authserv}; spf=pass smtp.mailfrom={domain}; dmarc=pass header.from={domain}"


def assigned_ticket(desk, subject="Site down") -> str:
    code = desk.create("alpha", subject=subject)
    desk.tix("reassign", code, "--agent", "hosting@host.test", as_="admin")
    return code


def body_of(row) -> str:
    return email.message_from_string(row.raw, policy=email.policy.default).get_content()


def keyed_reply(address: str, sender: str, code: str, body: str, **kw) -> bytes:
    """A reply sent to the keyed Reply-To address an email of tix gave."""
    return message(sender, f"Re: [{code}] Site down", body, to=f"Support <{address}>", **kw)


def key_of(address: str) -> str:
    return address.split("+", 1)[1].split("@", 1)[0]


def held_rows(desk) -> list[HeldMail]:
    with deskdb.opened(desk.url):
        return list(HeldMail.select().order_by(HeldMail.id))


# -- forged From headers ----------------------------------------------------------------------


@pytest.mark.parametrize("verdict", [None, "dmarc=pass for host.test"])
def test_a_forged_agent_reply_with_the_code_in_the_subject_is_held_and_reaches_no_customer(
    desk, verdict
):
    """The phishing trick: the agent's name, the ticket's code. Even a DMARC pass for the
    company's own domain does not make it the agent's: agents answer with their key."""
    code = assigned_ticket(desk)
    unchanged = ticket_tables(desk)
    before = deskdb.last_outbox_id(desk.url)
    auth = dmarc_pass("host.test") if verdict else None

    result = mail_in(
        desk, message("Hana Hosting <hosting@host.test>", f"Re: [{code}] Site down", auth=auth)
    )

    assert result.stdout.startswith(f"held: reply to {code} from hosting@host.test held as #")
    assert "an agent's reply by email needs its reply key" in result.stdout
    assert ticket_tables(desk) == unchanged
    # Nothing reaches the customer; the agent alone is asked whether they wrote it.
    [asked] = new_outbox(desk, before)
    assert (asked.kind, asked.recipient) == ("mail-held", "hosting@host.test")
    assert PASSWORD_PLEA not in asked.raw
    # Kept, raw and all, for agents to see; never for the customer.
    [held] = held_rows(desk)
    assert bytes(held.raw).endswith(PASSWORD_PLEA.encode() + b"\n") and held.filed_at is None
    listed = shown(desk, code)["held"]
    assert [(h["sender"], h["kind"], h["ticket"], h["asked"]) for h in listed] == [
        ("hosting@host.test", "reply", code, True)
    ]
    human = desk.tix("show", code, as_="hosting_agent").stdout
    assert "held by mail-in" in human and "hosting@host.test" in human
    as_customer = desk.tix("show", code, "--format", "json", as_="alpha").stdout
    assert "held" not in json.loads(as_customer)
    assert "held by mail-in" not in desk.tix("show", code, as_="alpha").stdout
    every = mail_in(desk, b"", "--held").stdout
    assert f"#{held.id} " in every and f"reply to {code}" in every
    assert every.strip().endswith("mail-in: 1 held message(s)")


def test_the_same_trick_on_a_closed_ticket_does_not_reopen_it(desk):
    code = assigned_ticket(desk)
    desk.tix("close", code, as_="hosting_agent")
    unchanged = ticket_tables(desk)

    as_agent = mail_in(desk, message("hosting@host.test", f"Re: [{code}] Site down", n=1))
    as_customer = mail_in(
        desk, message("Olga Alpha <owner@alpha.test>", f"Re: [{code}] Site down", "Reopen!", n=2)
    )

    assert as_agent.stdout.startswith("held: ") and as_customer.stdout.startswith("held: ")
    assert "no reply key, and no Authentication-Results from a trusted" in as_customer.stdout
    assert ticket_tables(desk) == unchanged
    assert deskdb.ticket(desk.url, code).status == "closed"


@pytest.mark.parametrize(
    "forged",
    [
        '"owner@alpha.test" <attacker@evil.test>',
        "owner@alpha.test <attacker@evil.test>",
        "=?utf-8?q?owner@alpha.test?= <attacker@evil.test>",
    ],
)
def test_an_address_in_the_display_name_is_filed_as_nobody(desk, forged):
    """What mail clients show as Olga, and DMARC checks (and passes) as evil.test."""
    code = desk.create("alpha", subject="Site down")
    unchanged = ticket_tables(desk)
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, message(forged, f"Re: [{code}] Site down", auth=dmarc_pass("evil.test")))

    assert result.stdout.startswith("refused: <> ") and "not answered" in result.stdout
    assert ticket_tables(desk) == unchanged
    assert new_outbox(desk, before) == [] and held_rows(desk) == []


# -- reply keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["reply address", "in-reply-to", "references"])
def test_a_reply_carrying_its_key_is_filed_as_the_keys_person_whatever_its_from(desk, where):
    """Olga answers from her phone's other account; her client keeps the key somewhere."""
    code = desk.create("alpha", subject="Site down")
    desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")
    address = reply_address(desk, code, "agent-reply", "owner@alpha.test")
    key = key_of(address)
    sender, body = "Olga <olga.private@gmail.example>", "Works again, thanks."
    if where == "reply address":
        raw = keyed_reply(address, sender, code, body)
    else:
        header = "In-Reply-To" if where == "in-reply-to" else "References"
        raw = message(sender, "Re: Site down", body, headers=f"{header}: <reply-{key}@tix.test>\n")

    result = mail_in(desk, raw)

    assert result.stdout.startswith("reply: reply from owner@alpha.test filed on ")
    ticket = shown(desk, code)
    assert ticket["status"] == "customer-reply"
    assert (ticket["messages"][-1]["author"], ticket["messages"][-1]["body"]) == (
        "owner@alpha.test",
        body,
    )
    assert ticket["events"][-1]["actor"] == "contact:owner@alpha.test"


def test_an_agent_answers_by_email_with_the_key_of_the_email_they_got(desk):
    code = assigned_ticket(desk)
    desk.tix("reply", code, "-m", "Still broken", as_="alpha")
    address = reply_address(desk, code, "agent-customer-reply", "hosting@host.test")
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, keyed_reply(address, "Hana <hana@home.example>", code, "Fixed now."))

    assert result.stdout.startswith(f"reply: reply from hosting@host.test filed on {code}")
    ticket = shown(desk, code)
    assert (
        ticket["status"] == "answered" and ticket["messages"][-1]["author"] == "hosting@host.test"
    )
    assert {(r.kind, r.recipient) for r in new_outbox(desk, before)} == {
        ("agent-reply", "owner@alpha.test"),
        ("agent-reply", "dev@alpha.test"),
    }
    # The copy of the email kept on the ticket (which the customer downloads) has no key left
    # to mail in as the agent with.
    with deskdb.opened(desk.url):
        [kept] = (
            Attachment.select()
            .join(Ticket)
            .where(Ticket.code == code, Attachment.content_type == "message/rfc822")
        )
        assert key_of(address).encode() not in bytes(kept.data)
        assert b"Fixed now." in bytes(kept.data)


def test_a_key_for_one_ticket_in_a_mail_about_another_files_on_its_own_ticket_only(desk):
    """The key names the ticket; a code typed in the subject does not move the reply. (Refusing
    would lose what the person wrote; their key can only ever write where it was sent.)"""
    first = desk.create("alpha", subject="Site down")
    other = desk.create("alpha", subject="Mail down")
    address = reply_address(desk, first, "ticket-created", "owner@alpha.test")
    untouched = shown(desk, other)

    result = mail_in(
        desk, message("owner@alpha.test", f"Re: [{other}] Mail down", to=address, body="For A.")
    )

    assert result.stdout.startswith(f"reply: reply from owner@alpha.test filed on {first}")
    assert shown(desk, first)["messages"][-1]["body"] == "For A."
    assert shown(desk, other) == untouched


def test_a_forged_key_is_held(desk):
    code = desk.create("alpha", subject="Site down")
    unchanged = ticket_tables(desk)
    made_up = "support+" + "a" * 32 + "@tix.test"

    result = mail_in(desk, keyed_reply(made_up, "owner@alpha.test", code, "Reopen and wipe."))

    assert result.stdout.startswith("held: ") and "its reply key is not valid" in result.stdout
    assert ticket_tables(desk) == unchanged


def test_a_deactivated_agents_key_no_longer_files(desk):
    """A key stops proving anything once its person may no longer write (tix/mailtrust.py)."""
    code = assigned_ticket(desk)
    address = reply_address(desk, code, "agent-assigned", "hosting@host.test")
    with deskdb.opened(desk.url):
        Agent.update(active=False).where(Agent.email == "hosting@host.test").execute()
    unchanged = ticket_tables(desk)

    result = mail_in(desk, keyed_reply(address, "hosting@host.test", code, "Send the password."))

    assert result.stdout.startswith("refused: ")
    assert ticket_tables(desk) == unchanged


def test_a_deactivated_contacts_key_no_longer_files(desk):
    from tix.models import Contact

    if "active" not in Contact._meta.fields:
        pytest.skip("contacts have no `active` column yet (migration 0012, another branch)")
    code = desk.create("alpha", subject="Site down")
    address = reply_address(desk, code, "ticket-created", "dev@alpha.test")
    with deskdb.opened(desk.url):
        Contact.update(active=False).where(Contact.email == "dev@alpha.test").execute()
    unchanged = ticket_tables(desk)

    result = mail_in(desk, keyed_reply(address, "dev@alpha.test", code, "Close it."))

    assert not result.stdout.startswith("reply: ")
    assert ticket_tables(desk) == unchanged


def test_every_key_is_stored_only_as_its_hash(desk):
    code = desk.create("alpha", subject="Site down")
    desk.tix("reply", code, "-m", "Try now", as_="hosting_agent")
    keys = {
        key_of(reply_address(desk, code, "agent-reply", r))
        for r in ("owner@alpha.test", "dev@alpha.test")
    }
    assert len(keys) == 2 and all(len(k) == 32 for k in keys)  # one per recipient, 160 bits
    dump = repr({k: v for k, v in deskdb.dump(desk.url).items() if k != "outbox"})
    assert not any(k in dump for k in keys)
    with deskdb.opened(desk.url):
        import hashlib

        stored = {row.key_hash for row in ReplyKey.select()}
        assert {hashlib.sha256(k.encode()).hexdigest() for k in keys} <= stored


# -- our MTA's verdict ------------------------------------------------------------------------


def test_dmarc_pass_from_a_trusted_authserv_id_files_a_contacts_reply(desk):
    code = desk.create("alpha", subject="Site down")

    result = mail_in(
        desk,
        message(
            "Dev Alpha <dev@alpha.test>",
            f"Re: [{code}] Site down",
            "Down again.",
            auth=dmarc_pass("alpha.test"),
        ),
    )

    assert result.stdout.startswith(f"reply: reply from dev@alpha.test filed on {code}")
    assert "dmarc=pass (mx.tix.test)" in result.stdout
    assert shown(desk, code)["messages"][-1]["author"] == "dev@alpha.test"


@pytest.mark.parametrize("where", ["untrusted authserv-id", "below another hop", "sender's own"])
def test_the_same_verdict_from_an_untrusted_id_or_below_another_hop_is_held(desk, where):
    code = desk.create("alpha", subject="Site down")
    unchanged = ticket_tables(desk)
    sender, subject = "Dev Alpha <dev@alpha.test>", f"Re: [{code}] Site down"
    if where == "untrusted authserv-id":
        raw = message(sender, subject, auth=dmarc_pass("alpha.test", "mx.evil.test"))
    elif where == "below another hop":
        # Below our MX's Received, a second hop (a relay we do not run) and its verdict.
        raw = message(sender, subject).replace(
            b"From: ",
            b"Received: from relay.example (relay.example [203.0.113.9])\n\tby mx.example;"
            b" Mon, 3 Mar 2025 10:59:59 +0000\n"
            + f"Authentication-Results: {dmarc_pass('alpha.test')}\nFrom: ".encode(),
            1,
        )
    else:  # written by the sender among their own headers, naming our authserv-id
        raw = message(
            sender, subject, headers=f"Authentication-Results: {dmarc_pass('alpha.test')}\n"
        )

    result = mail_in(desk, raw)

    assert result.stdout.startswith("held: "), result.stdout
    assert ticket_tables(desk) == unchanged
    if where == "below another hop":  # where that relay is ours, the operator says so
        again = mail_in(desk, raw.replace(b"<m", b"<again-m"), env={"TIX_MAIL_AUTH_HOPS": "2"})
        assert again.stdout.startswith("reply: ")


# -- holding and confirming -------------------------------------------------------------------


def test_the_confirmation_files_the_held_message_exactly_once(desk):
    code = desk.create("alpha", subject="Site down")
    before = deskdb.last_outbox_id(desk.url)
    held = mail_in(
        desk,
        message("Olga Alpha <owner@alpha.test>", f"Re: [{code}] Site down", "Still down.", n=1),
    )
    assert held.stdout.startswith("held: ") and "asked owner@alpha.test to confirm" in held.stdout
    [asked] = new_outbox(desk, before)
    assert (asked.kind, asked.recipient) == ("mail-held", "owner@alpha.test")
    assert asked.subject.startswith(f"[{code}] ¿Ha enviado usted esto?")  # Olga reads Spanish
    assert "Still down." not in asked.raw and f"Re: [{code}] Site down" in body_of(asked)
    address = email.message_from_string(asked.raw, policy=email.policy.default)["Reply-To"]
    address = address.addresses[0].addr_spec

    first = mail_in(desk, keyed_reply(address, "owner@alpha.test", code, "Sí, fui yo.", n=2))
    second = mail_in(desk, keyed_reply(address, "owner@alpha.test", code, "Sí, fui yo.", n=3))

    assert first.stdout.startswith(f"reply: reply from owner@alpha.test filed on {code}")
    assert second.stdout.startswith("ignored: ") and "already filed" in second.stdout
    ticket = shown(desk, code)
    bodies = [m["body"] for m in ticket["messages"]]
    assert bodies.count("Still down.") == 1 and "Sí, fui yo." not in bodies
    assert ticket["status"] == "customer-reply" and ticket["held"] == []
    assert mail_in(desk, b"", "--held").stdout.strip() == "mail-in: 0 held message(s)"
    [row] = held_rows(desk)
    assert row.filed_at is not None


def test_an_agent_confirms_their_own_reply_and_the_customer_gets_it_then(desk):
    code = assigned_ticket(desk)
    mail_in(desk, message("hosting@host.test", f"Re: [{code}] Site down", "Restarted PHP.", n=1))
    [asked] = [r for r in deskdb.outbox(desk.url, code) if r.kind == "mail-held"]
    address = email.message_from_string(asked.raw, policy=email.policy.default)["Reply-To"]
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(
        desk, keyed_reply(address.addresses[0].addr_spec, "hosting@host.test", code, "yes", n=2)
    )

    assert result.stdout.startswith(f"reply: reply from hosting@host.test filed on {code}")
    assert shown(desk, code)["messages"][-1]["body"] == "Restarted PHP."
    assert {(r.kind, r.recipient) for r in new_outbox(desk, before)} == {
        ("agent-reply", "owner@alpha.test"),
        ("agent-reply", "dev@alpha.test"),
    }


def test_a_new_ticket_from_an_unproven_sender_is_held_until_confirmed(desk):
    before = deskdb.last_outbox_id(desk.url)
    with deskdb.opened(desk.url):
        tickets_before = Ticket.select().count()
    raw = message(
        "Beta Owner <owner@beta.test>", "Website slow", "Very slow.", to="help@host.test", n=1
    )

    held = mail_in(desk, raw)

    assert held.stdout.startswith("held: new ticket from owner@beta.test held as #")
    [asked] = new_outbox(desk, before)
    assert (asked.kind, asked.recipient, asked.ticket_id) == ("mail-held", "owner@beta.test", None)
    assert "a new ticket for Web help" in body_of(asked)
    listed = mail_in(desk, b"", "--held").stdout
    assert "new in webhelp" in listed and "owner@beta.test" in listed
    address = email.message_from_string(asked.raw, policy=email.policy.default)["Reply-To"]

    confirmed = mail_in(
        desk,
        message("owner@beta.test", "Re: Did you send this?", "yes", to=str(address), n=2),
    )

    assert confirmed.stdout.startswith("created: owner@beta.test opened ")
    code = confirmed.stdout.split(" opened ")[1].split()[0]
    ticket = shown(desk, code)
    assert (ticket["subject"], ticket["department"], ticket["contact"]) == (
        "Website slow",
        "webhelp",
        "owner@beta.test",
    )
    assert ticket["messages"][0]["body"] == "Very slow."
    with deskdb.opened(desk.url):
        assert Ticket.select().count() == tickets_before + 1


@pytest.mark.parametrize("headers", ["X-Spam-Flag: YES\n", "List-Id: <users.lists.test>\n"])
def test_mail_that_must_never_be_answered_is_held_without_asking(desk, headers):
    code = desk.create("alpha", subject="Site down")
    before = deskdb.last_outbox_id(desk.url)

    result = mail_in(desk, message("owner@alpha.test", f"Re: [{code}] Site down", headers=headers))

    assert result.stdout.startswith("held: ") and result.stdout.strip().endswith("not answered")
    assert new_outbox(desk, before) == []
    assert [h["asked"] for h in shown(desk, code)["held"]] == [False]


def test_an_out_of_office_answer_to_the_question_confirms_nothing(desk):
    code = desk.create("alpha", subject="Site down")
    mail_in(desk, message("owner@alpha.test", f"Re: [{code}] Site down", "Down.", n=1))
    [asked] = [r for r in deskdb.outbox(desk.url, code) if r.kind == "mail-held"]
    address = email.message_from_string(asked.raw, policy=email.policy.default)["Reply-To"]
    unchanged = ticket_tables(desk)

    result = mail_in(
        desk,
        keyed_reply(
            address.addresses[0].addr_spec,
            "owner@alpha.test",
            code,
            "Estoy fuera de la oficina.",
            n=2,
            headers="Auto-Submitted: auto-replied\n",
        ),
    )

    assert result.stdout.startswith("auto-reply: ")
    assert [e for e in ticket_tables(desk)["messages"]] == unchanged["messages"]
    assert [h["asked"] for h in shown(desk, code)["held"]] == [True]  # still held
    with deskdb.opened(desk.url):
        assert Message.select().join(Ticket).where(Ticket.code == code).count() == 1
