"""Delegation: the zone's nameservers (ours or whose), its SOA, each nameserver answering
the current zone; and the CAA records that say who may issue its certificates."""

from tix.diagnosis.checks_dns import addresses, dns_problem, provider
from tix.diagnosis.dnsq import Answer, name_of


def zone_of(ctx, name: str) -> tuple[str, Answer]:
    """The zone holding `name`: the closest enclosing name with NS records."""
    labels = name.split(".")
    answer = None
    for i in range(max(1, len(labels) - 1)):
        candidate = ".".join(labels[i:])
        answer = ctx.dns.ask(candidate, "NS", ctx.deadline)
        if answer.ok or answer.failed:
            return candidate, answer
    return name, answer


def probe_ns(ctx) -> None:
    zone, answer = zone_of(ctx, ctx.target.name)
    if not answer.ok:
        if answer.failed:
            dns_problem(ctx, "dns.ns", answer, zone)
        else:
            ctx.fail(
                "dns.ns",
                f"{zone} has no nameservers (NS): the domain is not delegated. "
                "Check its registration.",
                f"{zone} no tiene servidores DNS (NS): el "
                "dominio no está delegado. Revise su registro.",
                {"zone": zone},
            )
        ctx.unknown("dns.soa", f"no nameservers for {zone}", f"sin servidores DNS para {zone}")
        return
    hosts = sorted(name_of(r) for r in answer.records)
    ours = set(ctx.conf.our_nameservers)
    facts = {"zone": zone, "ns": hosts, "ours": sorted(ours)}
    who = provider(hosts)
    if not ours:
        ctx.ok(
            "dns.ns",
            f"{zone} is served by {', '.join(hosts)}.",
            f"{zone} lo sirven {', '.join(hosts)}.",
            facts,
        )
    elif set(hosts) <= ours:
        ctx.ok(
            "dns.ns", f"{zone} uses our nameservers.", f"{zone} usa nuestros servidores DNS.", facts
        )
    elif set(hosts) & ours:
        ctx.warn(
            "dns.ns",
            f"{zone} mixes our nameservers with others ({', '.join(hosts)}): "
            "answers will differ. Use only ours or only theirs.",
            f"{zone} mezcla nuestros servidores DNS con otros ({', '.join(hosts)}): las "
            "respuestas no coincidirán. Use solo los nuestros o solo los otros.",
            facts,
        )
    else:
        whose = f" ({who})" if who else ""
        ctx.warn(
            "dns.ns",
            f"{zone} is delegated to {', '.join(hosts)}{whose}, not to us: DNS "
            "changes must be made there, not in our control panel.",
            f"{zone} está delegado a {', '.join(hosts)}{whose}, no a nosotros: los cambios "
            "de DNS deben hacerse allí, no en nuestro panel.",
            {**facts, "provider": who},
        )
    soa = ctx.dns.ask(zone, "SOA", ctx.deadline)
    serial = None
    if soa.ok:
        serial = soa.rdata[0].serial
        ctx.ok(
            "dns.soa",
            f"{zone} has its SOA (serial {serial}).",
            f"{zone} tiene su SOA (serie {serial}).",
            {"soa": soa.records[0]},
            target=zone,
        )
    elif soa.failed:
        dns_problem(ctx, "dns.soa", soa, zone, target=zone)
    else:
        ctx.fail(
            "dns.soa",
            f"{zone} has no SOA record: the zone is broken.",
            f"{zone} no tiene registro SOA: la zona está rota.",
            {},
            target=zone,
        )
    for host in hosts[:6]:
        ctx.spawn(
            "dns.ns.answer",
            lambda c, h=host: ns_answers(c, zone, h, serial),
            ("dns.ns.answer", "dns.ns.serial"),
            label=host,
        )


def ns_answers(ctx, zone: str, host: str, serial) -> None:
    found, _ = addresses(ctx, host)
    usable = [ip for ip in found if not ctx.guard.refuse(ip)]
    if not usable:
        why = ", ".join(f"{ip}: {ctx.guard.refuse(ip)}" for ip in found) or "no address"
        ctx.fail(
            "dns.ns.answer",
            f"The nameserver {host} has no usable address ({why}).",
            f"El servidor DNS {host} no tiene dirección utilizable ({why}).",
            {"addresses": found},
        )
        ctx.unknown("dns.ns.serial", f"{host} not asked", f"no se preguntó a {host}")
        return
    ip = usable[0]
    try:
        rcode, records, authoritative = ctx.dns.ask_server(zone, "SOA", ip, ctx.deadline)
    except Exception as exc:
        if ctx.deadline >= ctx.run.deadline:
            raise
        ctx.fail(
            "dns.ns.answer",
            f"The nameserver {host} does not answer for {zone} ({type(exc).__name__}).",
            f"El servidor DNS {host} no responde para {zone} ({type(exc).__name__}).",
            {"address": ip, "error": str(exc)[:200]},
        )
        ctx.unknown("dns.ns.serial", f"{host} did not answer", f"{host} no respondió")
        return
    facts = {"address": ip, "rcode": rcode, "aa": authoritative, "answer": records}
    if rcode != "NOERROR" or not authoritative or not records:
        ctx.fail(
            "dns.ns.answer",
            f"The nameserver {host} is not serving {zone} ({rcode}"
            f"{', not authoritative' if not authoritative else ''}): a lame delegation, "
            "some visitors will not resolve the domain.",
            f"El servidor DNS {host} no sirve {zone} ({rcode}"
            f"{', no autoritativo' if not authoritative else ''}): delegación rota, algunos "
            "visitantes no resolverán el dominio.",
            facts,
        )
        ctx.unknown("dns.ns.serial", f"{host} has no zone", f"{host} no tiene la zona")
        return
    ctx.ok("dns.ns.answer", f"{host} answers for {zone}.", f"{host} responde por {zone}.", facts)
    theirs = int(records[0].split()[2]) if len(records[0].split()) > 2 else None
    if serial is None or theirs == serial:
        ctx.ok(
            "dns.ns.serial",
            f"{host} serves the current zone.",
            f"{host} sirve la zona actual.",
            {"serial": theirs},
        )
    else:
        ctx.warn(
            "dns.ns.serial",
            f"{host} serves an old copy of {zone} (serial {theirs}, "
            f"current {serial}): recent DNS changes are not everywhere yet.",
            f"{host} sirve una copia antigua de {zone} (serie {theirs}, actual {serial}): "
            "los cambios recientes de DNS aún no están en todas partes.",
            {"serial": theirs, "current": serial},
        )


def probe_caa(ctx) -> None:
    labels = ctx.target.name.split(".")
    for i in range(max(1, len(labels) - 1)):
        name = ".".join(labels[i:])
        answer = ctx.dns.ask(name, "CAA", ctx.deadline)
        if answer.failed:
            dns_problem(ctx, "dns.caa", answer, name)
            return
        if answer.ok:
            break
    else:
        ctx.ok(
            "dns.caa",
            f"{ctx.target.name} has no CAA records: any authority may issue its certificates.",
            f"{ctx.target.name} no tiene registros CAA: cualquier autoridad "
            "puede emitir sus certificados.",
            {},
        )
        return
    issuers = [
        r.value.decode("utf-8", "replace").split(";")[0].strip().lower()
        for r in answer.rdata
        if r.tag.decode().lower() in ("issue", "issuewild")
    ]
    wanted = [i.lower() for i in ctx.conf.caa_issuers]
    facts = {"name": name, "caa": answer.records, "ours": wanted}
    if not issuers or any(i in issuers for i in wanted):
        ctx.ok(
            "dns.caa",
            f"CAA records of {name} allow our certificates.",
            f"Los registros CAA de {name} permiten nuestros certificados.",
            facts,
        )
    else:
        ctx.fail(
            "dns.caa",
            f"CAA records of {name} allow only {', '.join(issuers)}: our free "
            f"certificate ({', '.join(wanted)}) cannot be issued or renewed. Add "
            f"'0 issue \"{wanted[0] if wanted else ''}\"'.",
            f"Los registros CAA de {name} solo permiten {', '.join(issuers)}: nuestro "
            f"certificado gratuito ({', '.join(wanted)}) no se puede emitir ni renovar. "
            f"Añada '0 issue \"{wanted[0] if wanted else ''}\"'.",
            facts,
        )
