"""Which of the account's services a ticket is about, and what its text names on them.

Pure functions on plain data (no database): the caller passes the account's services.
"""

import re

from tix.diagnosis.model import ServiceInfo, Target

URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.I)
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@((?:[\w-]+\.)+[a-z]{2,24})\b", re.I)
HOST = re.compile(
    r"(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})(?![\w-])", re.I
)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
IPV6 = re.compile(r"(?<![\w:.])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.I)
# Words that make a number an address the customer means ("my IP ... is blocked"), so a
# version like PrestaShop 1.6.1.24 is not taken for one.
IP_CONTEXT = re.compile(
    r"\b(?:ips?|address|direcci[oó]n|block\w*|bloque\w*|bane?\w*|firewall|cortafuegos|"
    r"fail2ban|access|acceso|conect\w*|connect\w*)\b",
    re.I,
)
MAX_URLS = 8
MAX_ADDRESSES = 5


def _covers(service: str, host: str) -> bool:
    return host == service or host.endswith("." + service)


def named_urls(text: str) -> list[tuple[str, str]]:
    """(host, url) for each http(s) URL in the text; the host as the URL parser reads it."""
    found = []
    for match in URL.finditer(text or ""):
        from urllib.parse import urlsplit  # only once a URL is found: its import costs ms

        url = match[0].rstrip(".,;:!?)]}")
        try:
            host = (urlsplit(url).hostname or "").lower().rstrip(".")
        except ValueError:
            continue
        found.append((host, url))
    return found


def named_hosts(text: str) -> set[str]:
    hosts = {host for host, _ in named_urls(text)}
    hosts |= {m[1].lower() for m in EMAIL.finditer(text or "")}
    without = EMAIL.sub(" ", URL.sub(" ", text or ""))
    hosts |= {m[1].lower().rstrip(".") for m in HOST.finditer(without)}
    return hosts


def _owner(services: list[str], host: str) -> str | None:
    """The most specific service covering `host` (shop.alpha.test over alpha.test)."""
    covering = [s for s in services if _covers(s, host)]
    return max(covering, key=len) if covering else None


def targets_for(services: list[ServiceInfo], text: str, service_name: str | None) -> list[Target]:
    """The targets of a diagnosis: the `--service` given, else the account's services named in
    the text (domains, URLs, mail addresses), else the account's only service."""
    merged: dict[str, list[ServiceInfo]] = {}
    for service in services:
        merged.setdefault(service.name.lower().rstrip("."), []).append(service)
    names = sorted(merged)
    if service_name:
        wanted = service_name.lower().strip().rstrip(".")
        chosen = [wanted] if wanted in merged else []
    else:
        chosen = sorted({o for h in named_hosts(text) if (o := _owner(names, h))})
        if not chosen and len(names) == 1:
            chosen = names
    urls: dict[str, list[str]] = {}
    for host, url in named_urls(text):
        owner = _owner(names, host)
        if owner and url not in urls.setdefault(owner, []):
            urls[owner].append(url)
    addresses: dict[str, list[str]] = {}
    for match in EMAIL.finditer(text or ""):
        owner = _owner(names, match[1].lower())
        address = match[0].lower()
        if owner and address not in addresses.setdefault(owner, []):
            addresses[owner].append(address)
    targets = []
    for name in chosen:
        rows = merged[name]
        kinds = tuple(dict.fromkeys(r.kind for r in rows))
        server_ips = tuple(dict.fromkeys(r.server_ip for r in rows if r.server_ip))
        mail_host = next((r.mail_host for r in rows if r.mail_host), None)
        targets.append(
            Target(
                name=name,
                kinds=kinds,
                server_ips=server_ips,
                mail_host=mail_host,
                urls=tuple(urls.get(name, [])[:MAX_URLS]),
                addresses=tuple(addresses.get(name, [])[:MAX_ADDRESSES]),
            )
        )
    return targets


def foreign_urls(services: list[ServiceInfo], text: str) -> list[str]:
    """URLs in the text on hosts that are none of the account's domains: never fetched."""
    names = [s.name.lower().rstrip(".") for s in services]
    return [url for host, url in named_urls(text) if not _owner(names, host)]


def customer_ip(text: str, exclude=()) -> str | None:
    """The first IP address the text names outside URLs ("my IP 203.0.113.7 is blocked")."""
    import ipaddress

    plain = URL.sub(" ", text or "")
    skip = {str(e) for e in exclude}
    for pattern in (IPV4, IPV6):
        for match in pattern.finditer(plain):
            try:
                ip = str(ipaddress.ip_address(match[0]))
            except ValueError:
                continue
            around = plain[max(0, match.start() - 60) : match.end() + 60]
            if ip not in skip and IP_CONTEXT.search(around):
                return ip
    return None


def is_ip_host(host: str) -> bool:
    from tix.diagnosis.safety import ip_spelling

    return ip_spelling(host) is not None
