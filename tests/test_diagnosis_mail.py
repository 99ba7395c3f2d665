"""Mail checks against real SMTP, IMAPS and POP3S servers on loopback, and blocklists served
by the loopback DNS server."""

from diagaccount import OUTGOING_IP
from diagfixtures import one, results, run, world  # noqa: F401
from diagmail import MailServer


def replace_mail_server(world, **options) -> MailServer:
    names = ("mail.alpha.test",)
    server = MailServer(world.certs.context(*names), **options)
    world.extra.append(server)
    world.zone.records.pop(("mail.alpha.test.", "A"))
    world.zone.add(f"mail.alpha.test. 300 IN A {server.ip}")
    return server


def test_every_mail_service_answers(world):
    diagnosis = run(world, "mail to info@alpha.test")
    for check_id, target in (
        ("mail.mx.smtp", "mail.alpha.test:25"),
        ("mail.mx.starttls", "mail.alpha.test:25"),
        ("mail.imaps", "mail.alpha.test:993"),
        ("mail.pop3s", "mail.alpha.test:995"),
        ("mail.submission", "mail.alpha.test:587"),
        ("mail.submission.auth", "mail.alpha.test:587"),
        ("mail.rcpt", "info@alpha.test"),
    ):
        assert one(diagnosis, check_id, target).status == "ok", check_id
    assert "ESMTP" in one(diagnosis, "mail.mx.smtp").facts["banner"]
    for port in (25, 587, 993, 995):
        assert one(diagnosis, "tls.name", f"mail.alpha.test:{port}").status == "ok"
    assert world.mail.rcpts == ["info@alpha.test"]  # asked, and nothing was sent


def test_a_mailbox_that_does_not_exist_or_is_full(world):
    world.mail.mailboxes["full@alpha.test"] = "552 5.2.2 mailbox full"
    diagnosis = run(world, "ventas@alpha.test y full@alpha.test no reciben correo")
    missing = one(diagnosis, "mail.rcpt", "ventas@alpha.test")
    assert missing.status == "fail" and "no existe" in missing.text_es
    full = one(diagnosis, "mail.rcpt", "full@alpha.test")
    assert full.status == "fail" and "lleno" in full.text_es


def test_no_starttls_and_a_refusing_banner(world):
    replace_mail_server(world, starttls=False)
    diagnosis = run(world, "alpha.test mail")
    assert one(diagnosis, "mail.mx.smtp").status == "ok"
    starttls = one(diagnosis, "mail.mx.starttls")
    assert starttls.status == "fail" and "STARTTLS" in starttls.text_en

    replace_mail_server(world, banner="554 5.7.1 no service for you")
    diagnosis = run(world, "alpha.test mail")
    smtp = one(diagnosis, "mail.mx.smtp")
    assert smtp.status == "fail" and "554" in smtp.text_en


def test_a_mail_host_that_does_not_answer(world):
    world.zone.records.pop(("mail.alpha.test.", "A"))
    world.zone.add("mail.alpha.test. 300 IN A 127.77.0.1")  # nothing there, and not allowed
    diagnosis = run(world, "alpha.test mail")
    assert one(diagnosis, "mail.imaps").status == "could-not-check"  # not ours to contact
    assert "not contacted" in one(diagnosis, "mail.imaps").text_en


def test_blocklists_for_our_outgoing_server_the_account_server_and_the_domain(world):
    listed = ".".join(reversed(OUTGOING_IP.split(".")))
    world.zone.add(
        f"{listed}.bl.test. 300 IN A 127.0.0.2",
        f'{listed}.bl.test. 300 IN TXT "Listed: spam trap hit, see https://bl.test/lookup"',
        f"{listed}.dnsbl.test. 300 IN A 127.255.255.254",
        "alpha.test.uribl.test. 300 IN A 127.0.0.2",
    )
    diagnosis = run(world, "mail from alpha.test bounces")
    ours = one(diagnosis, "dnsbl.ip", f"{OUTGOING_IP} @ bl.test")
    assert ours.status == "fail" and ours.private  # our server's address: agents only
    assert "spam trap" in ours.facts["reason"][0]
    refused = one(diagnosis, "dnsbl.ip", f"{OUTGOING_IP} @ dnsbl.test")
    assert refused.status == "could-not-check" and "refused" in refused.text_en
    assert one(diagnosis, "dnsbl.domain", "alpha.test @ uribl.test").status == "fail"
    server = [r for r in results(diagnosis, "dnsbl.ip") if r.target.startswith(world.web.ip)]
    assert server and all(r.status == "ok" for r in server)
    assert not any(OUTGOING_IP in line for line in diagnosis.customer_lines("en"))
