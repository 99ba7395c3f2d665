"""Blocklists: our outgoing mail servers' and the account's server's IPs in the DNSBL zones
TIX_DIAGNOSIS_DNSBL_ZONES names, the domain in the URIBL zones TIX_DIAGNOSIS_URIBL_ZONES names.
Only DNS questions to our own resolver: nothing connects to a listed address."""

import ipaddress

from tix.diagnosis.checks_dns import dns_problem


def _refusal(zone: str, codes: list[str]) -> bool:
    """Answers that mean "query refused" (public resolver, over quota), not "listed"."""
    for code in codes:
        if code.startswith("127.255.255.") or code == "127.0.1.255":
            return True
        if code == "127.0.0.1" and "uribl" in zone:
            return True
    return False


def reversed_name(ip: str) -> str:
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ".".join(reversed(ip.split(".")))
    return ".".join(reversed(address.exploded.replace(":", "")))


def probe_ip_lists(ctx) -> None:
    ips = list(dict.fromkeys([*ctx.conf.outgoing_ips, *ctx.target.server_ips]))
    for ip in ips[:8]:
        spawn_ip(ctx, ip)


def spawn_ip(ctx, ip: str) -> None:
    for zone in ctx.conf.dnsbl_zones[:10]:
        if not ctx.first_time(("dnsbl", ip, zone)):
            continue  # one question per address and zone, however many targets
        ctx.spawn(
            "dnsbl.ip",
            lambda c, z=zone: lookup(c, "dnsbl.ip", ip, z, reversed_name(ip)),
            ("dnsbl.ip",),
            label=f"{ip} @ {zone}",
        )


def probe_domain_lists(ctx) -> None:
    name = ctx.target.name
    for zone in ctx.conf.uribl_zones[:10]:
        ctx.spawn(
            "dnsbl.domain",
            lambda c, z=zone: lookup(c, "dnsbl.domain", name, z, name),
            ("dnsbl.domain",),
            label=f"{name} @ {zone}",
        )


def lookup(ctx, check_id: str, what: str, zone: str, query: str) -> None:
    label = f"{what} @ {zone}"
    answer = ctx.dns.ask(f"{query}.{zone}", "A", ctx.deadline)
    ours = check_id == "dnsbl.ip" and what in ctx.conf.outgoing_ips
    whose_en = (
        "Our outgoing mail server"
        if ours
        else (f"The server {what}" if check_id == "dnsbl.ip" else f"The domain {what}")
    )
    whose_es = (
        "Nuestro servidor de correo saliente"
        if ours
        else (f"El servidor {what}" if check_id == "dnsbl.ip" else f"El dominio {what}")
    )
    if answer.status in ("nxdomain", "empty"):
        ctx.ok(
            check_id,
            f"{whose_en} is not on the blocklist {zone}.",
            f"{whose_es} no está en la lista negra {zone}.",
            {"zone": zone},
            target=label,
        )
    elif answer.ok and _refusal(zone, answer.records):
        ctx.unknown(
            check_id,
            f"the blocklist {zone} refused the query ({answer.records[0]})",
            f"la lista negra {zone} rechazó la consulta ({answer.records[0]})",
            {"zone": zone, "codes": answer.records},
            target=label,
        )
    elif answer.ok:
        txt = ctx.dns.ask(f"{query}.{zone}", "TXT", ctx.deadline).records[:1]
        facts = {"zone": zone, "codes": answer.records, "reason": [t[:200] for t in txt]}
        if ours:
            ctx.fail(
                check_id,
                f"{whose_en} is on the blocklist {zone}: some recipients refuse "
                "our mail. Our technicians are asking for the delisting.",
                f"{whose_es} está en la lista negra {zone}: algunos destinatarios rechazan "
                "nuestro correo. Nuestros técnicos están solicitando la retirada.",
                facts,
                target=label,
            )
        else:
            ctx.fail(
                check_id,
                f"{whose_en} is on the blocklist {zone}: mail from it is refused "
                "by many recipients. Find what sent spam (a hacked form or mailbox), fix "
                "it, then request delisting.",
                f"{whose_es} está en la lista negra {zone}: "
                "muchos destinatarios rechazan su correo. Busque qué envió spam (un "
                "formulario o buzón comprometido), corríjalo y pida la retirada.",
                facts,
                target=label,
            )
    else:
        dns_problem(ctx, check_id, answer, f"{query}.{zone}", target=label)
