"""A reseller files for a client and hears about it; every email speaks its recipient's
language (department, priority, status, the reminder's delay), tells of an agent's attachments;
the CLI speaks its user's language (the person's setting, else LANG; TIX_LANG and the config
file choose for this machine)."""

import email
import email.policy
import json
import re
from pathlib import Path

import deskdb
import pytest
from jobs_support import jobs

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def content(row) -> str:
    return email.message_from_string(row.raw, policy=email.policy.default).get_content()


def mails_of(desk, code, kind):
    return {row.recipient: row for row in deskdb.outbox(desk.url, code) if row.kind == kind}


# -- resellers --------------------------------------------------------------------------------


def test_a_reseller_filing_for_a_client_is_its_author_and_is_emailed(desk):
    desk.tix(
        "admin", "contact", "add", "client", "ops@client.test", "--name", "Ops", "--ticket-emails"
    )
    desk.tix(
        "admin", "contact", "add", "client", "mute@client.test", "--name", "Mute",
        "--no-ticket-emails",
    )  # fmt: skip
    code = desk.create("resel", "For my client", "hosting", "low", "Their site.", "--account",
                       "client")  # fmt: skip
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="client").stdout)
    # The ticket is the client's (its contact is the client's owner); the reseller wrote it.
    assert (shown["account"], shown["contact"]) == ("client", "owner@client.test")
    assert shown["messages"][0]["author"] == "owner@resel.test"
    # The reseller hears first, then the client's contacts as the account says: the owner and
    # whoever has ticket emails on.
    assert list(mails_of(desk, code, "ticket-created")) == [
        "owner@resel.test",
        "owner@client.test",
        "ops@client.test",
    ]
    desk.tix("reply", code, "-m", "Done.", as_="hosting_agent")
    assert set(mails_of(desk, code, "agent-reply")) == {
        "owner@resel.test",
        "owner@client.test",
        "ops@client.test",
    }
    # And the reseller may answer by email (with the reply key its email carries), like the
    # client's own contacts.
    from test_mail_in import mail_in
    from test_mail_in_forgery import keyed_reply, reply_address

    address = reply_address(desk, code, "agent-reply", "owner@resel.test")
    answered = mail_in(desk, keyed_reply(address, "owner@resel.test", code, "Thanks, it works."))
    assert answered.stdout.startswith("reply:"), answered.stdout
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="client").stdout)
    assert shown["messages"][-1]["author"] == "owner@resel.test"


@pytest.mark.postgres_only
def test_a_client_reads_its_resellers_ticket_under_row_level_security(store_url, runner):
    from conftest import build_desk
    from test_rls import APP_LOGIN, AppDesk, ensure_login_role, url_as

    ensure_login_role(APP_LOGIN, "tix_app")
    built = build_desk(store_url, runner)
    desk = AppDesk(built.url, built.runner, built.tokens, app_url=url_as(built.url, APP_LOGIN))
    code = desk.create("resel", "For my client", "hosting", "low", "x", "--account", "client")
    theirs = desk.create("client", "Mine")
    desk.tix("reply", theirs, "-m", "Your reseller here.", as_="resel")
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="client").stdout)
    assert shown["messages"][0]["author"] == "owner@resel.test"
    shown = json.loads(desk.tix("show", theirs, "--format", "json", as_="client").stdout)
    assert [m["author"] for m in shown["messages"]] == ["owner@client.test", "owner@resel.test"]
    desk.tix("close", code, as_="client")
    jobs(desk.url, "notify")  # a customer's emails are rendered by tix-jobs (migration 0010)
    assert "owner@resel.test" in mails_of(desk, code, "closed")


# -- emails in the recipient's language -------------------------------------------------------


def test_a_spanish_accounts_emails_name_department_priority_and_status_in_spanish(desk):
    code = desk.create("alpha", "Web caída", "hosting", "high")  # alpha reads Spanish
    created = content(mails_of(desk, code, "ticket-created")["owner@alpha.test"])
    assert "(Alojamiento, prioridad alta)" in created
    to_agent = content(mails_of(desk, code, "agent-new-ticket")["hosting@host.test"])
    assert "in Hosting (priority high)" in to_agent  # Hana reads English
    desk.tix("status", code, "in-progress", as_="hosting_agent")
    status = content(mails_of(desk, code, "status-changed")["owner@alpha.test"])
    assert "ahora está en curso" in status and "in-progress" not in status
    billing = desk.create("alpha", "Factura", "billing", "emergency")
    to_agent = mails_of(desk, billing, "agent-new-ticket")["billing@host.test"]  # Bill reads es
    assert "prioridad emergencia" in to_agent.subject
    assert "en Facturación (prioridad emergencia)" in content(to_agent)


def test_the_reminder_reads_as_the_readme_quotes_it(desk):
    from freezegun import freeze_time

    quoted = re.search(r'gets one reminder: "([^"]+)"', README)[1]
    with freeze_time("2025-03-03 09:00:00") as frozen:
        code = desk.create("alpha_quiet", "Site down")  # an English-speaking contact
        desk.tix("reply", code, "-m", "Fixed?", as_="hosting_agent")
        frozen.tick(48 * 3600)
        jobs(desk.url, "remind")
    reminders = mails_of(desk, code, "reminder")
    assert quoted in content(reminders["quiet@alpha.test"])
    assert "se cerrará en 24 horas si no contesta" in content(reminders["owner@alpha.test"])


def test_an_agent_reply_with_attachments_says_so_in_the_email(desk, tmp_path):
    code = desk.create("alpha")
    log = tmp_path / "error.log"
    log.write_text("PHP Fatal error\n")
    shot = tmp_path / "screen\x1b[2J.png"
    shot.write_bytes(b"png")
    desk.tix("reply", code, "-m", "See the files.", "--attach", str(log), "--attach", str(shot),
             as_="hosting_agent")  # fmt: skip
    spanish = content(mails_of(desk, code, "agent-reply")["owner@alpha.test"])
    assert "Adjuntos en el ticket: error.log, screen [2J.png" in spanish  # the name made safe
    assert f"`tix attachment get {code} ID` guarda uno" in spanish
    plain = desk.create("beta")
    desk.tix("reply", plain, "-m", "No files.", as_="hosting_agent")
    body = content(mails_of(desk, plain, "agent-reply")["owner@beta.test"])
    assert "Attached" not in body and "No files.\n\n-- \n" in body
    desk.tix("reply", plain, "-m", "Here.", "--attach", str(log), as_="hosting_agent")
    rows = [r for r in deskdb.outbox(desk.url, plain) if r.kind == "agent-reply"]
    assert "Attached in the ticket: error.log (`tix show" in content(rows[-1])


# -- the CLI in its user's language -----------------------------------------------------------


def test_cli_messages_follow_the_users_language(desk, monkeypatch, tmp_path):
    monkeypatch.delenv("TIX_LANG")
    t = desk.tix
    created = t("create", "-d", "hosting", "-p", "high", "-s", "Web caída", "-m", "x", "--yes",
                as_="alpha")  # fmt: skip
    code = re.search(r"creado (\S+): Web caída \(Alojamiento, high\)", created.stdout)[1]
    assert t("reply", code, "-m", "más", as_="alpha").stdout.strip() == (
        f"respuesta en {code}; estado customer-reply"
    )
    assert t("close", code, as_="alpha").stdout.strip() == f"cerrado {code}"
    assert t("reopen", code, as_="alpha").stdout.strip() == f"reabierto {code}"
    assert t("list", "--status", "on-hold", as_="alpha").stdout == "(ninguno)\n"
    assert t("show", "ZZZZ-9999", as_="alpha", expect=3).stderr == (
        "tix: error: no existe el ticket ZZZZ-9999\n"
    )
    assert "el asunto está vacío" in t("create", "-d", "hosting", "-s", " ", "-m", "x",
                                       as_="alpha", expect=2).stderr  # fmt: skip
    assert "solo los agentes" in t("reply", code, "--internal", "-m", "x", as_="alpha",
                                   expect=4).stderr  # fmt: skip
    assert "departamento desconocido" in t("list", "-d", "nope", as_="alpha", expect=2).stderr
    # An English-speaking contact of the same account reads English.
    assert t("close", code, as_="alpha_quiet").stdout.strip() == f"closed {code}"
    # Before anyone is signed in: the system's locale.
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    t("logout", as_=None)  # the desk saved the admin's token
    assert "no ha iniciado sesión" in t("whoami", as_=None, expect=4).stderr
    # A choice for this machine wins over the person's setting: TIX_LANG, else the config.
    monkeypatch.setenv("TIX_LANG", "en")
    assert t("reopen", code, as_="alpha").stdout.strip() == f"reopened {code}"
    monkeypatch.delenv("TIX_LANG")
    t("config", "set", "language", "en", as_=None)
    assert t("close", code, as_="alpha").stdout.strip() == f"closed {code}"
    t("config", "set", "language", "es", as_=None)
    assert t("reopen", code, as_="alpha_quiet").stdout.strip() == f"reabierto {code}"
