"""A whole hosting account on the loopback Internet of diagworld.py: alpha.test with its DNS,
site and mail, as the account check's tests and bench use it."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from diagmail import MailServer
from diagworld import Certs, DnsServer, Page, WebServer, Zone, reverse

# -- a whole healthy account ----------------------------------------------------------------------

OUTGOING_IP = "192.0.2.25"  # our outgoing mail server: only ever looked up in DNS, never contacted
WP_HOME = (
    '<html><head><title>Alpha</title><meta name="generator" content="WordPress 6.5.2">'
    '<link rel="stylesheet" href="/wp-includes/css/dist/block-library/style.min.css?ver=6.5.2">'
    "</head><body>Alpha shop</body></html>"
)


@dataclass
class World:
    folder: Path
    certs: Certs = None
    zone: Zone = None
    dns: DnsServer = None
    web: WebServer = None
    mail: MailServer = None
    extra: list = field(default_factory=list)

    @property
    def addresses(self) -> list[str]:
        found = [self.dns.ip, self.web.ip, self.mail.ip]
        return found + [s.ip for s in self.extra]

    def env(self, **more) -> dict:
        """The settings a diagnosis of this world runs with."""
        env = {
            "TIX_DIAGNOSIS_NAMESERVERS": self.dns.ip,
            "TIX_DIAGNOSIS_ALLOW_NETWORKS": ",".join(f"{ip}/32" for ip in self.addresses),
            "TIX_DIAGNOSIS_OUR_NAMESERVERS": "ns1.host.test,ns2.host.test",
            "TIX_DIAGNOSIS_DNSBL_ZONES": "bl.test,dnsbl.test",
            "TIX_DIAGNOSIS_URIBL_ZONES": "uribl.test",
            "TIX_DIAGNOSIS_OUTGOING_IPS": OUTGOING_IP,
            "SSL_CERT_FILE": str(self.certs.ca_file),
        }
        env.update(more)
        return env

    def conf(self, **overrides):
        """A Conf for this world, without touching os.environ."""
        from dataclasses import replace

        from tix.diagnosis import conf as conf_module

        saved = dict(os.environ)
        try:
            os.environ.update({k: v for k, v in self.env().items() if k != "SSL_CERT_FILE"})
            conf = conf_module.load()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return replace(conf, **overrides)

    def services(self, kind: str = "hosting"):
        from tix.diagnosis import ServiceInfo

        return [ServiceInfo("alpha.test", kind, server_ip=self.web.ip)]

    def serve(self, host: str, path: str, page: Page, scheme: str | None = None) -> None:
        self.web.pages[(scheme, host, path) if scheme else (host, path)] = page

    def stop(self):
        import threading

        servers = [s for s in [self.dns, self.web, self.mail, *self.extra] if s is not None]
        threads = [threading.Thread(target=s.stop) for s in servers]  # each waits a poll
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def healthy(folder: Path) -> World:
    """alpha.test: our nameservers, a WordPress site on http (redirecting) and https, mail with
    MX, SPF, DMARC and DKIM; info@alpha.test exists."""
    world = World(Path(folder), Certs(Path(folder)))
    names = ("alpha.test", "www.alpha.test", "mail.alpha.test")
    zone = world.zone = Zone()
    world.dns = DnsServer(zone)
    world.web = WebServer({}, world.certs.context(*names))
    world.mail = MailServer(world.certs.context(*names), {"info@alpha.test": "250 2.1.5 ok"})
    web, mail, ns = world.web.ip, world.mail.ip, world.dns.ip
    zone.add(
        f"alpha.test. 300 IN A {web}",
        "www.alpha.test. 300 IN CNAME alpha.test.",
        "alpha.test. 300 IN NS ns1.host.test.",
        "alpha.test. 300 IN NS ns2.host.test.",
        f"ns1.host.test. 300 IN A {ns}",
        f"ns2.host.test. 300 IN A {ns}",
        "alpha.test. 300 IN SOA ns1.host.test. hostmaster.host.test. 2024050101 3600 600 86400 300",
        "alpha.test. 300 IN MX 10 mail.alpha.test.",
        f"mail.alpha.test. 300 IN A {mail}",
        f"{reverse(mail)} 300 IN PTR mail.alpha.test.",
        f"{reverse(web)} 300 IN PTR alpha.test.",
        f'alpha.test. 300 IN TXT "v=spf1 a mx ip4:{OUTGOING_IP} -all"',
        'alpha.test. 300 IN TXT "google-site-verification=abc"',
        '_dmarc.alpha.test. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@alpha.test"',
        'default._domainkey.alpha.test. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"',
        'alpha.test. 300 IN CAA 0 issue "letsencrypt.org"',
        # DNSBL: our outgoing server and the account's server are not listed (NXDOMAIN).
        "bl.test. 300 IN SOA ns1.host.test. hostmaster.host.test. 1 3600 600 86400 300",
    )
    home = Page(200, WP_HOME, {"X-Powered-By": "PHP/8.2.10"})
    world.serve("alpha.test", "/", home, scheme="https")
    world.serve("alpha.test", "/", Page(301, b"", {"Location": "https://alpha.test/"}), "http")
    world.serve("www.alpha.test", "/", Page(301, b"", {"Location": "https://alpha.test/"}))
    world.serve("alpha.test", "/wp-login.php", Page(200, "<form>login</form>"))
    return world


def point(world: World, name: str, ip: str) -> None:
    """Make `name` resolve to `ip` (only), as a customer editing their A record would."""
    from dnslib import RR

    key = (name.rstrip(".") + ".", "A")
    world.zone.records[key] = RR.fromZone(f"{key[0]} 300 IN A {ip}")
    world.zone.names.add(key[0])
