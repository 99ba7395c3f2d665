"""The account check's settings, from the environment (see docs/diagnosis.md)."""

import os
from dataclasses import dataclass, field

from tix.errors import InvalidInput

DEFAULT_CMS_MINIMUM = {"wordpress": "6.4", "joomla": "4.4", "prestashop": "8.1"}


@dataclass(frozen=True)
class Conf:
    budget: float = 4.0  # seconds of wall time for one whole diagnosis
    probe_timeout: float = 3.0  # seconds for one probe (one connection, one DNS question)
    nameservers: tuple[tuple[str, int], ...] = ()  # resolvers; () = the system's
    allow_networks: tuple[str, ...] = ()  # CIDRs allowed although private
    our_nameservers: tuple[str, ...] = ()  # host names of our NS
    dnsbl_zones: tuple[str, ...] = ()  # IP blocklists (zen.spamhaus.org style)
    uribl_zones: tuple[str, ...] = ()  # domain blocklists (multi.uribl.com style)
    outgoing_ips: tuple[str, ...] = ()  # our outgoing mail servers
    private: tuple[str, ...] = ("servers",)  # what the customer never sees
    fail2ban_client: tuple[str, ...] = ("fail2ban-client",)
    dkim_selectors: tuple[str, ...] = ("default",)
    caa_issuers: tuple[str, ...] = ("letsencrypt.org",)
    mail_host: str = "mail.{domain}"
    slow_ms: int = 2000
    cms_minimum: dict = field(default_factory=lambda: dict(DEFAULT_CMS_MINIMUM))
    php_minimum: str = "8.1"
    workers: int = 32
    body_cap: int = 256 * 1024  # bytes of a page read at most
    max_results: int = 2000  # a hostile account cannot make the report endless


def _list(name: str, default: str = "") -> tuple[str, ...]:
    raw = os.environ.get(name)
    raw = default if raw is None else raw
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default  # the default needs no parsing (and tix.settings' imports cost ms)
    from tix.settings import parse_duration

    return parse_duration(raw, name).total_seconds()


def parse_nameservers(items: tuple[str, ...], what: str = "TIX_DIAGNOSIS_NAMESERVERS"):
    """'192.0.2.1', '192.0.2.1:5353', '[2001:db8::1]:53' -> ((ip, port), ...)."""
    import ipaddress

    found = []
    for item in items:
        host, port = item, 53
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 53
        elif item.count(":") == 1:
            host, _, p = item.partition(":")
            if not p.isdigit():
                raise InvalidInput(f"{what}: {item!r} is not ip[:port]")
            port = int(p)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise InvalidInput(f"{what}: {item!r} is not an IP address") from None
        if not 0 < port < 65536:
            raise InvalidInput(f"{what}: {item!r}: bad port")
        found.append((host, port))
    return tuple(found)


def _versions(raw: str | None) -> dict:
    found = dict(DEFAULT_CMS_MINIMUM)
    for part in (raw or "").split(","):
        name, _, version = part.partition("=")
        if name.strip() and version.strip():
            found[name.strip().lower()] = version.strip()
    return found


def load() -> Conf:
    """The settings in the environment; an unparsable one is an InvalidInput (exit 2)."""
    import ipaddress
    import shlex

    allow = _list("TIX_DIAGNOSIS_ALLOW_NETWORKS")
    for cidr in allow:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise InvalidInput(f"TIX_DIAGNOSIS_ALLOW_NETWORKS: {cidr!r} is not a network") from None
    outgoing = _list("TIX_DIAGNOSIS_OUTGOING_IPS")
    for ip in outgoing:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidInput(f"TIX_DIAGNOSIS_OUTGOING_IPS: {ip!r} is not an IP address") from None
    client = shlex.split(os.environ.get("TIX_FAIL2BAN_CLIENT") or "fail2ban-client")
    try:
        slow_ms = int(os.environ.get("TIX_DIAGNOSIS_SLOW_MS") or 2000)
        workers = int(os.environ.get("TIX_DIAGNOSIS_WORKERS") or 32)
    except ValueError:
        raise InvalidInput("TIX_DIAGNOSIS_SLOW_MS / TIX_DIAGNOSIS_WORKERS: whole numbers") from None
    return Conf(
        budget=_seconds("TIX_DIAGNOSIS_BUDGET", 4.0),
        probe_timeout=_seconds("TIX_DIAGNOSIS_PROBE_TIMEOUT", 3.0),
        nameservers=parse_nameservers(_list("TIX_DIAGNOSIS_NAMESERVERS")),
        allow_networks=allow,
        our_nameservers=tuple(
            n.lower().rstrip(".") for n in _list("TIX_DIAGNOSIS_OUR_NAMESERVERS")
        ),
        dnsbl_zones=_list("TIX_DIAGNOSIS_DNSBL_ZONES"),
        uribl_zones=_list("TIX_DIAGNOSIS_URIBL_ZONES"),
        outgoing_ips=outgoing,
        private=_list("TIX_DIAGNOSIS_PRIVATE", "servers"),
        fail2ban_client=tuple(client),
        dkim_selectors=_list("TIX_DIAGNOSIS_DKIM_SELECTORS", "default"),
        caa_issuers=_list("TIX_DIAGNOSIS_CAA_ISSUERS", "letsencrypt.org"),
        mail_host=os.environ.get("TIX_DIAGNOSIS_MAIL_HOST") or "mail.{domain}",
        slow_ms=max(1, slow_ms),
        cms_minimum=_versions(os.environ.get("TIX_DIAGNOSIS_CMS_MINIMUM")),
        php_minimum=os.environ.get("TIX_DIAGNOSIS_PHP_MINIMUM") or "8.1",
        workers=max(1, min(workers, 256)),
    )
