"""Safety, tested as an attacker would: the ticket's text and the customer's own DNS are
hostile. tix connects only to the account's own names' public addresses (plus the loopback
addresses these tests allow), never to metadata, loopback, private or oddly spelled addresses,
and never twice-resolves a name. Every connection the process attempts is recorded by an audit
hook, and a trap server records every connection it gets."""

import ipaddress
import time

import pytest
from diagaccount import point
from diagfixtures import connections, one, results, run, world  # noqa: F401
from diagworld import Listener, Page, Zone

from tix.diagnosis.safety import Guard, ip_spelling

ATTACKS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://127.0.0.1:5432/",
    "http://[::ffff:127.0.0.1]:5432/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://2852039166/latest/meta-data",
    "http://0x7f.1/",
    "http://0177.0.0.1:5432/",
    "http://alpha.test@127.0.0.1:5432/",
    "http://127.0.0.1#@alpha.test/",
    "http://alpha.test.127.0.0.1.nip.io/",
]


@pytest.fixture
def trap(world):
    """A server on a loopback address the tests do NOT allow: it must never be contacted."""
    listener = Listener((80, 443, 25, 5432), answer=True)
    yield listener
    listener.stop()


def contacted(connections, *ips) -> list:
    wanted = {str(ipaddress.ip_address(ip)) for ip in ips}
    return [c for c in connections if c[1].split("%")[0] in wanted or c[1].endswith(tuple(wanted))]


@pytest.mark.parametrize(
    "address, reason",
    [
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 spelling
        ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 spelling
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("fe80::1", "link-local"),
        ("100.64.3.4", "carrier-grade NAT"),
        ("224.0.0.251", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("192.0.0.192", "metadata"),
    ],
)
def test_the_guard_refuses(address, reason):
    assert reason in (Guard().refuse(address) or "")


def test_the_guard_allows_public_and_explicitly_allowed_addresses():
    assert Guard().refuse("93.184.216.34") is None
    assert Guard().refuse("2606:4700::1111") is None
    guard = Guard(["127.77.5.0/24"])
    assert guard.refuse("127.77.5.9") is None
    assert guard.refuse("127.77.6.9") is not None
    assert guard.refuse("::ffff:127.77.5.9") is not None  # the allowed list names IPv4 only
    assert Guard(["169.254.0.0/16"]).refuse("169.254.169.254") == "a cloud metadata address"


@pytest.mark.parametrize(
    "spelling, canonical",
    [
        ("2852039166", "169.254.169.254"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "::ffff:7f00:1"),
        ("alpha.test", None),
    ],
)
def test_ip_spellings_are_recognised(spelling, canonical):
    assert ip_spelling(spelling) == canonical


def test_urls_in_the_ticket_that_are_not_the_accounts_are_never_fetched(world, trap, connections):
    text = (
        "Please check:\n"
        + "\n".join(ATTACKS)
        + f"\nhttp://{trap.ip}/ http://{int(ipaddress.ip_address(trap.ip))}/"
    )
    diagnosis = run(world, text)
    refused = results(diagnosis, "web.url.status")
    assert {r.target for r in refused} >= set(ATTACKS)
    assert all(r.status == "could-not-check" for r in refused)
    assert contacted(connections, "169.254.169.254", "127.0.0.1", "fd00:ec2::254", trap.ip) == []
    assert trap.accepted == []
    assert one(diagnosis, "web.https.status").status == "ok"  # the account itself was checked
    assert not any("169.254" in line for line in diagnosis.customer_lines("en"))


def test_the_accounts_dns_pointing_inside_is_not_followed(world, trap, connections):
    point(world, "alpha.test", trap.ip)
    world.zone.add(
        "alpha.test. 300 IN MX 5 mx.alpha.test.",
        "mx.alpha.test. 300 IN A 169.254.169.254",
        "ns1.host.test. 300 IN A 127.0.0.1",
    )
    diagnosis = run(world, "alpha.test")
    assert trap.accepted == []
    assert contacted(connections, trap.ip, "169.254.169.254", "127.0.0.1") == []
    assert one(diagnosis, "dns.a.public").status == "fail"
    assert one(diagnosis, "web.https.status").status == "could-not-check"
    assert "not contacted" in one(diagnosis, "web.https.status").text_en
    assert one(diagnosis, "mail.mx.smtp", "mx.alpha.test:25").status == "could-not-check"


def test_redirects_leaving_the_domain_or_into_a_private_address_are_not_followed(
    world, trap, connections
):
    world.zone.add(f"inside.alpha.test. 300 IN A {trap.ip}")
    world.serve("alpha.test", "/a", Page(302, b"", {"Location": "http://127.0.0.1:5432/"}))
    world.serve("alpha.test", "/b", Page(302, b"", {"Location": "http://inside.alpha.test/"}))
    world.serve("alpha.test", "/c", Page(302, b"", {"Location": "http://169.254.169.254/"}))
    diagnosis = run(
        world,
        "https://alpha.test/a https://alpha.test/b https://alpha.test/c http://alpha.test:5432/",
    )
    assert trap.accepted == []
    assert contacted(connections, trap.ip, "127.0.0.1", "169.254.169.254") == []
    assert one(diagnosis, "web.url.status", "https://alpha.test/b").status == "could-not-check"
    assert one(diagnosis, "web.url.status", "http://alpha.test:5432/").status == "could-not-check"


class Rebinding(Zone):
    """Answers the account's address the first time, the trap's every time after."""

    def __init__(self, first: str, then: str):
        super().__init__()
        self.first, self.then, self.count = first, then, 0

    def answer(self, request):
        if str(request.q.qname).lower() == "alpha.test." and request.q.qtype == 1:
            self.count += 1
            point_to = self.first if self.count == 1 else self.then
            self.records[("alpha.test.", "A")] = []
            self.add(f"alpha.test. 1 IN A {point_to}")
        return super().answer(request)


def test_dns_rebinding_gets_nothing_a_name_is_resolved_once(world, trap, connections):
    zone = Rebinding(world.web.ip, trap.ip)
    zone.records, zone.names = world.zone.records, world.zone.names
    world.dns.zone.answer = zone.answer  # the running server now rebinds
    diagnosis = run(world, "https://alpha.test/ http://alpha.test/")
    assert zone.count == 1
    assert trap.accepted == []
    assert one(diagnosis, "web.https.status").status == "ok"
    sent = [c for c in connections if c[1] == world.web.ip]
    assert sent  # connected straight to the address it vetted, with Host/SNI alpha.test
    assert ("https", "alpha.test", "/") in world.web.requests


def test_a_hostile_world_costs_at_most_the_budget(world):
    hole = Listener((25, 80, 443, 587, 993, 995))
    world.extra.append(hole)
    for name in ("alpha.test", "mail.alpha.test"):
        point(world, name, hole.ip)
    world.zone.drop.add("_dmarc.alpha.test.")
    world.zone.add("huge.alpha.test. 300 IN TXT " + " ".join(['"' + "x" * 250 + '"'] * 200))
    started = time.monotonic()
    diagnosis = run(world, "alpha.test https://alpha.test/x", budget=1.0, probe_timeout=10.0)
    assert time.monotonic() - started < 1.5
    assert diagnosis.timed_out > 0
    assert diagnosis.summary["ok"] > 10  # what answered is still reported
