"""Where the engine may connect: public addresses resolved from the account's own names.

A customer controls the ticket's text and their own DNS, so both are hostile input: a URL to
the cloud metadata service, an A record pointing at 127.0.0.1, an IP spelled in hex. Every
address is vetted here right before the connect, and the connect goes to that very address
(never to a name resolved again), so DNS rebinding has nothing to race.
"""

import ipaddress

# Never, whatever TIX_DIAGNOSIS_ALLOW_NETWORKS says: credentials live behind these.
METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack...
    ipaddress.ip_address("169.254.170.2"),  # ECS task credentials
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba
    ipaddress.ip_address("192.0.0.192"),  # Oracle
}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Ports a probe may use; a URL naming another port is not fetched (no port scans by ticket).
WEB_PORTS = {"http": 80, "https": 443}


def embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, 6to4, Teredo, NAT64, compat)."""
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in NAT64 or (int(ip) >> 32 == 0 and int(ip) > 0xFFFF):  # ::a.b.c.d, not ::1
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def ip_spelling(host: str) -> str | None:
    """The canonical address if `host` is an IP in any spelling the C library accepts
    (2852039166, 0x7f.1, 0177.0.0.1, 127.1, [::ffff:7f00:1]), else None."""
    text = host.strip().strip("[]").split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    import socket

    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


class Guard:
    """Says whether a probe may connect to an address."""

    def __init__(self, allow_networks=()):
        self.allow = [ipaddress.ip_network(c, strict=False) for c in allow_networks]

    def allowed_network(self, ip) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allow)

    def refuse(self, address: str) -> str | None:
        """None when a probe may connect to `address`; else why not (for the agent)."""
        try:
            ip = ipaddress.ip_address(str(address).split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        # The IPv4 address an IPv6 one stands for first: it says best what it really is.
        candidates = (embedded_v4(ip) if ip.version == 6 else []) + [ip]
        if any(c in METADATA for c in candidates):
            return "a cloud metadata address"
        for c in candidates:
            reason = _not_public(c)
            if reason and not self.allowed_network(c):
                return reason
        if ip.version == 6 and ip.ipv4_mapped and not self.allowed_network(ip):
            return "an IPv4-mapped IPv6 address"
        return None


def _not_public(ip) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.version == 4 and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "a carrier-grade NAT address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "a private address"
    return None
