"""DNS checks against a real DNS server on loopback (dnslib) serving the test zones: what the
customer's DNS really says, SERVFAIL and timeouts reported as such, SPF and DMARC validated,
delegation and CNAME chains followed."""

import time
from types import SimpleNamespace

from diagaccount import point
from diagfixtures import one, run, world  # noqa: F401
from diagworld import DnsServer, Zone, free_address

from tix.diagnosis import ServiceInfo


def replace(world, name: str, rtype: str, *lines: str) -> None:
    """Replace every `rtype` record of `name` with the zone lines given."""
    world.zone.records.pop((name, rtype), None)
    if lines:
        world.zone.add(*lines)


def test_a_domain_that_does_not_exist(world):
    diagnosis = run(world, services=[ServiceInfo("nowhere.test", "domain")])
    result = one(diagnosis, "dns.a")
    assert result.status == "fail" and "NXDOMAIN" in result.text_en
    assert "no existe" in result.text_es


def test_servfail_and_timeouts_are_reported_as_such(world):
    world.zone.servfail.add("alpha.test.")
    result = one(run(world, "alpha.test"), "dns.a")
    assert result.status == "fail" and "SERVFAIL" in result.text_en
    world.zone.servfail.clear()
    world.zone.drop.add("alpha.test.")  # a name that never answers
    started = time.monotonic()
    diagnosis = run(world, "alpha.test", probe_timeout=1.0, budget=3.0)
    assert time.monotonic() - started < 2.5
    result = one(diagnosis, "dns.a")
    assert result.status == "fail" and "timeout" in result.text_en


def test_delegation_ours_or_whose(world):
    assert one(run(world, "alpha.test"), "dns.ns").status == "ok"
    replace(
        world,
        "alpha.test.",
        "NS",
        "alpha.test. 300 IN NS ana.ns.cloudflare.com.",
        "alpha.test. 300 IN NS bob.ns.cloudflare.com.",
    )
    result = one(run(world, "alpha.test"), "dns.ns")
    assert result.status == "warn" and "Cloudflare" in result.text_en
    assert "los cambios de DNS deben hacerse allí" in result.text_es


def test_each_nameserver_answers_the_current_zone(world):
    stale = Zone().add(
        "alpha.test. 300 IN SOA ns1.host.test. hostmaster.host.test. 2023010101 3600 600 86400 300"
    )
    second = DnsServer(stale)
    dead = SimpleNamespace(ip=free_address((53,)), stop=lambda: None)  # nothing listens there
    world.extra += [second, dead]
    replace(world, "ns2.host.test.", "A", f"ns2.host.test. 300 IN A {second.ip}")
    world.zone.add("alpha.test. 300 IN NS ns3.host.test.", f"ns3.host.test. 300 IN A {dead.ip}")
    diagnosis = run(world, "alpha.test", probe_timeout=1.0)
    assert one(diagnosis, "dns.ns.serial", "ns1.host.test").status == "ok"
    stale_result = one(diagnosis, "dns.ns.serial", "ns2.host.test")
    assert stale_result.status == "warn" and stale_result.facts["serial"] == 2023010101
    assert one(diagnosis, "dns.ns.answer", "ns3.host.test").status == "fail"


def test_the_a_record_points_away_from_the_hosting_server(world):
    point(world, "alpha.test", world.mail.ip)
    result = one(run(world, "alpha.test"), "dns.a.server")
    assert result.status == "fail" and "not your hosting server" in result.text_en
    assert result.facts["expected"] == [world.web.ip]
    assert world.web.ip not in result.text_en  # our server's address is for the agent only


def test_mx_missing_or_pointing_nowhere(world):
    replace(world, "alpha.test.", "MX")
    assert one(run(world, "alpha.test"), "dns.mx").status == "fail"
    replace(
        world,
        "alpha.test.",
        "MX",
        "alpha.test. 300 IN MX 10 mx.gone.alpha.test.",
        "alpha.test. 300 IN MX 20 mail.alpha.test.",
    )
    diagnosis = run(world, "alpha.test")
    assert one(diagnosis, "dns.mx.resolves", "mx.gone.alpha.test").status == "fail"
    assert one(diagnosis, "dns.mx.resolves", "mail.alpha.test").status == "ok"
    replace(world, "alpha.test.", "MX", "alpha.test. 300 IN MX 1 aspmx.l.google.com.")
    result = one(run(world, "alpha.test"), "dns.mx.ours")
    assert result.status == "warn" and "Google" in result.text_en


def spf(world, *records: str):
    replace(world, "alpha.test.", "TXT", *(f'alpha.test. 300 IN TXT "{r}"' for r in records))
    diagnosis = run(world, "alpha.test")
    return {r.check_id: r for r in diagnosis.results if r.check_id.startswith("dns.spf")}


def test_spf_present_single_valid_within_limits_and_ours(world):
    assert {k: r.status for k, r in spf(world, "v=spf1 mx a ip4:192.0.2.25 -all").items()} == {
        "dns.spf": "ok",
        "dns.spf.syntax": "ok",
        "dns.spf.lookups": "ok",
        "dns.spf.all": "ok",
        "dns.spf.ours": "ok",
    }
    assert spf(world)["dns.spf"].status == "warn"
    assert spf(world, "v=spf1 -all", "v=spf1 mx -all")["dns.spf"].status == "fail"
    bad = spf(world, "v=spf1 ip4:999.1.1.1 mx foo:bar -all")["dns.spf.syntax"]
    assert bad.status == "fail" and "999.1.1.1" in bad.text_en
    assert spf(world, "v=spf1 mx +all")["dns.spf.all"].status == "fail"
    assert spf(world, "v=spf1 mx -all")["dns.spf.ours"].status == "fail"


def test_spf_over_ten_lookups(world):
    for i in range(12):
        world.zone.add(f'inc{i}.spf.test. 300 IN TXT "v=spf1 a mx -all"')
    includes = " ".join(f"include:inc{i}.spf.test" for i in range(5))
    result = spf(world, f"v=spf1 {includes} ip4:192.0.2.25 -all")["dns.spf.lookups"]
    assert result.status == "fail" and result.facts["lookups"] == 15
    assert "10" in result.text_es


def test_a_huge_txt_record_is_read_over_tcp_and_judged(world):
    strings = " ".join(f'"ip4:198.51.{i // 250}.{i % 250}"' for i in range(2500))
    world.zone.add(f'alpha.test. 300 IN TXT "v=spf1 " {strings} " -all"')
    replace(world, "alpha.test.", "TXT")
    world.zone.add(f'alpha.test. 300 IN TXT "v=spf1 " {strings} " -all"')
    started = time.monotonic()
    diagnosis = run(world, "alpha.test")
    assert time.monotonic() - started < 3
    result = one(diagnosis, "dns.spf.syntax")
    assert result.status == "fail" and "450" in result.text_en


def test_dmarc_missing_invalid_or_monitoring_only(world):
    replace(world, "_dmarc.alpha.test.", "TXT")
    assert one(run(world, "alpha.test"), "dns.dmarc").status == "warn"
    replace(world, "_dmarc.alpha.test.", "TXT", '_dmarc.alpha.test. 300 IN TXT "v=DMARC1; p=maybe"')
    result = one(run(world, "alpha.test"), "dns.dmarc.syntax")
    assert result.status == "fail" and "p=maybe" in result.text_en
    replace(world, "_dmarc.alpha.test.", "TXT", '_dmarc.alpha.test. 300 IN TXT "v=DMARC1; p=none"')
    assert one(run(world, "alpha.test"), "dns.dmarc.policy").status == "warn"


def test_cname_chains_and_loops(world):
    replace(
        world,
        "www.alpha.test.",
        "CNAME",
        "www.alpha.test. 300 IN CNAME loop.alpha.test.",
        "loop.alpha.test. 300 IN CNAME www.alpha.test.",
    )
    diagnosis = run(world, "alpha.test")
    loop = one(diagnosis, "dns.cname", "www.alpha.test")
    assert loop.status == "fail" and "loop" in loop.text_en and "bucle" in loop.text_es
    assert one(diagnosis, "dns.www").status == "fail"  # the resolver gives up: SERVFAIL
    assert one(diagnosis, "dns.cname", "alpha.test").status == "ok"


def test_caa_that_forbids_our_certificates_and_a_missing_dkim_key(world):
    replace(world, "alpha.test.", "CAA", 'alpha.test. 300 IN CAA 0 issue "digicert.com"')
    replace(world, "default._domainkey.alpha.test.", "TXT")
    diagnosis = run(world, "alpha.test")
    caa = one(diagnosis, "dns.caa")
    assert caa.status == "fail" and "letsencrypt.org" in caa.text_en
    assert one(diagnosis, "dns.dkim").status == "warn"


def test_a_record_pointing_at_a_private_address(world):
    point(world, "alpha.test", "192.168.1.20")
    diagnosis = run(world, "alpha.test")
    result = one(diagnosis, "dns.a.public")
    assert result.status == "fail" and "192.168.1.20" in result.text_en
    assert one(diagnosis, "web.https.status").status == "could-not-check"
