"""Mail's DNS: MX and its hosts, the mail host, SPF, DMARC, DKIM, reverse DNS."""

from tix.diagnosis.checks_dns import addresses, dns_problem, provider, ptr_check
from tix.diagnosis.dnsq import name_of


def mail_host(ctx) -> str:
    return (ctx.target.mail_host or ctx.conf.mail_host.format(domain=ctx.target.name)).lower()


def wants_mail(ctx) -> bool:
    return "mail" in ctx.target.aspects


def probe_mx(ctx) -> None:
    from tix.diagnosis import checks_mail

    name = ctx.target.name
    answer = ctx.dns.ask(name, "MX", ctx.deadline)
    if answer.failed:
        dns_problem(ctx, "dns.mx", answer, name)
        ctx.unknown("dns.mx.ours", "no MX answer", "sin respuesta MX")
        return
    mx = sorted(((r.preference, name_of(r.exchange)) for r in answer.rdata), key=lambda p: p)
    hosts = [h for _, h in mx if h]
    if mx and not hosts:
        (ctx.fail if wants_mail(ctx) else ctx.ok)(
            "dns.mx",
            f"{name} has a null MX ('0 .'): it says it accepts no mail at all.",
            f"{name} tiene un MX nulo ('0 .'): declara que no acepta correo.",
            {"MX": []},
        )
        return
    if not hosts:
        (ctx.fail if wants_mail(ctx) else ctx.warn)(
            "dns.mx",
            f"{name} has no MX record: mail to it bounces or is delivered to its web "
            "server. Add the MX records of your mail service.",
            f"{name} no tiene registro MX: el correo rebota o va a su servidor web. Añada los "
            "registros MX de su servicio de correo.",
            {"MX": []},
        )
        ctx.unknown("dns.mx.ours", "no MX records", "sin registros MX")
        return
    ctx.ok(
        "dns.mx",
        f"{name} receives mail at {', '.join(hosts)}.",
        f"{name} recibe correo en {', '.join(hosts)}.",
        {"MX": [f"{p} {h}" for p, h in mx]},
    )
    ours = mail_host(ctx)
    if wants_mail(ctx):
        mx_ips = {ip for h in hosts[:5] for ip in addresses(ctx, h)[0]}
        facts = {"MX": hosts, "mail_host": ours}
        if ours in hosts or set(ctx.target.server_ips) & mx_ips:
            ctx.ok(
                "dns.mx.ours",
                f"Mail for {name} comes to your mailboxes here.",
                f"El correo de {name} llega a sus buzones aquí.",
                facts,
            )
        else:
            who = provider(hosts)
            whose = f" ({who})" if who else ""
            ctx.warn(
                "dns.mx.ours",
                f"Mail for {name} goes to {', '.join(hosts)}{whose}, not to "
                "your mailboxes here: if you use our mail, set the MX to "
                f"{ours}.",
                f"El correo de {name} va a {', '.join(hosts)}{whose}, no a sus "
                f"buzones aquí: si usa nuestro correo, ponga el MX a {ours}.",
                {**facts, "provider": who},
            )
    for host in hosts[:5]:
        ctx.spawn(
            "dns.mx.host",
            lambda c, h=host: mx_host(c, h),
            ("dns.mx.resolves", "dns.mx.cname", "dns.ptr"),
            label=host,
        )
        if wants_mail(ctx):
            checks_mail.spawn_smtp(ctx, host, primary=host == hosts[0])


def mx_host(ctx, host: str) -> None:
    found, (a, _) = addresses(ctx, host)
    if found:
        ctx.ok(
            "dns.mx.resolves",
            f"The mail server {host} resolves.",
            f"El servidor de correo {host} resuelve.",
            {"addresses": found},
        )
    elif a.failed:
        dns_problem(ctx, "dns.mx.resolves", a, host)
    else:
        ctx.fail(
            "dns.mx.resolves",
            f"The mail server {host} {a.describe('en')}: mail to the "
            "domain cannot be delivered there. Fix the MX record.",
            f"El servidor de correo {host} {a.describe('es')}: el correo no puede "
            "entregarse ahí. Corrija el registro MX.",
            {"rcode": a.status},
        )
    cname = ctx.dns.ask(host, "CNAME", ctx.deadline)
    if cname.ok:
        ctx.warn(
            "dns.mx.cname",
            f"The MX host {host} is a CNAME (to {cname.records[0]}): MX "
            "must name a host with its own A record; some senders refuse it.",
            f"El host MX {host} es un CNAME (a {cname.records[0]}): el MX debe nombrar un "
            "host con registro A propio; algunos remitentes lo rechazan.",
            {"cname": cname.records},
        )
    else:
        ctx.ok(
            "dns.mx.cname",
            f"The MX host {host} is not a CNAME.",
            f"El host MX {host} no es un CNAME.",
            {},
        )
    if not found:
        ctx.unknown("dns.ptr", f"{host} has no address", f"{host} no tiene dirección")
        return
    ptr_check(ctx, host, found[0])


def probe_mail_host(ctx) -> None:
    from tix.diagnosis import checks_mail

    host = mail_host(ctx)
    found, (a, _) = addresses(ctx, host)
    if found:
        ctx.ok(
            "dns.mail-host",
            f"The mail host {host} resolves.",
            f"El servidor de correo {host} resuelve.",
            {"addresses": found},
            target=host,
        )
        checks_mail.spawn_mailbox_services(ctx, host, found)
        from tix.diagnosis import checks_lists

        for ip in found[:2]:
            checks_lists.spawn_ip(ctx, ip)
    elif a.failed:
        dns_problem(ctx, "dns.mail-host", a, host, target=host)
    else:
        ctx.fail(
            "dns.mail-host",
            f"{host} {a.describe('en')}: mail programs set up with it "
            "cannot connect. Add its A record.",
            f"{host} {a.describe('es')}: los programas "
            "de correo configurados con él no conectan. Añada su registro A.",
            {"rcode": a.status},
            target=host,
        )
