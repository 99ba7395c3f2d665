"""DNS checks: the domain resolves, to our server, from our nameservers; CNAMEs, CAA."""

from tix.diagnosis.dnsq import Answer, name_of

# Whose nameservers / mail servers these are, to tell the customer where to make a change.
PROVIDERS = {
    "cloudflare.com": "Cloudflare",
    "domaincontrol.com": "GoDaddy",
    "awsdns": "Amazon Route 53",
    "googledomains.com": "Google",
    "google.com": "Google",
    "azure-dns": "Microsoft Azure",
    "outlook.com": "Microsoft 365",
    "digitalocean.com": "DigitalOcean",
    "ovh.net": "OVH",
    "ui-dns": "IONOS",
    "hetzner": "Hetzner",
    "zoho": "Zoho",
}
MAX_CNAME_HOPS = 8


def provider(hosts) -> str | None:
    for host in hosts:
        for needle, who in PROVIDERS.items():
            if needle in host:
                return who
    return None


def dns_problem(ctx, check_id: str, answer: Answer, name: str, **kw) -> None:
    """SERVFAIL, timeouts and refusals are what they are: a fail, unless the budget cut it."""
    facts = {"name": name, "rcode": answer.status, "error": answer.error}
    if answer.status == "timeout" and ctx.deadline >= ctx.run.deadline:
        ctx.unknown(
            check_id,
            "not finished within the budget",
            "no terminó dentro del tiempo disponible",
            facts,
            **kw,
        )
        return
    ctx.fail(
        check_id,
        f"{name} {answer.describe('en')}.",
        f"{name} {answer.describe('es')}.",
        facts,
        **kw,
    )


def addresses(ctx, name: str) -> tuple[list[str], list[Answer]]:
    """A then AAAA of `name`, through the shared cache: (addresses, [a, aaaa])."""
    a = ctx.dns.ask(name, "A", ctx.deadline)
    aaaa = ctx.dns.ask(name, "AAAA", ctx.deadline)
    return a.records + aaaa.records, [a, aaaa]


def probe_resolves(ctx) -> None:
    name = ctx.target.name
    found, (a, aaaa) = addresses(ctx, name)
    if a.ok:
        ctx.ok(
            "dns.a",
            f"{name} resolves to {', '.join(a.records)}.",
            f"{name} resuelve a {', '.join(a.records)}.",
            {"A": a.records},
        )
    elif a.status == "empty" and aaaa.ok:
        ctx.warn(
            "dns.a",
            f"{name} has no IPv4 address (A record), only IPv6: most visitors "
            "cannot reach it. Add an A record.",
            f"{name} no tiene dirección IPv4 (registro "
            "A), solo IPv6: la mayoría de visitantes no llegan. Añada un registro A.",
            {"A": [], "AAAA": aaaa.records},
        )
    elif a.status in ("nxdomain", "empty"):
        ctx.fail(
            "dns.a",
            f"{name} {a.describe('en')}: nobody can reach it by name. Check the "
            "domain is registered and its A record exists.",
            f"{name} {a.describe('es')}: nadie puede llegar a ella por su nombre. Compruebe "
            "que el dominio está registrado y que existe su registro A.",
            {"rcode": a.status},
        )
    else:
        dns_problem(ctx, "dns.a", a, name)
    if aaaa.ok:
        ctx.ok(
            "dns.aaaa",
            f"{name} has IPv6: {', '.join(aaaa.records)}.",
            f"{name} tiene IPv6: {', '.join(aaaa.records)}.",
            {"AAAA": aaaa.records},
        )
    elif aaaa.failed:
        dns_problem(ctx, "dns.aaaa", aaaa, name)
    else:
        ctx.ok(
            "dns.aaaa",
            f"{name} has no IPv6 address (fine).",
            f"{name} no tiene dirección IPv6 (correcto).",
            {"AAAA": []},
        )
    refused = {ip: why for ip in found if (why := ctx.guard.refuse(ip))}
    if refused:
        listed = ", ".join(f"{ip} ({why})" for ip, why in refused.items())
        ctx.fail(
            "dns.a.public",
            f"{name} points at {listed}: nobody on the Internet can reach "
            "that. Point it at your hosting server's address.",
            f"{name} apunta a {listed}: nadie en Internet puede llegar ahí. Apúntelo a la "
            "dirección de su servidor de hosting.",
            {"refused": refused},
        )
    elif found:
        ctx.ok(
            "dns.a.public",
            f"{name} points at public addresses.",
            f"{name} apunta a direcciones públicas.",
            {"addresses": found},
        )
    else:
        ctx.unknown("dns.a.public", f"{name} has no address", f"{name} no tiene dirección")
    if a.ok and "mail" in ctx.target.aspects:
        ip = a.records[0]
        ctx.spawn("dns.ptr", lambda c: ptr_check(c, name, ip), ("dns.ptr",), label=name)
    servers = set(ctx.target.server_ips)
    if servers:
        facts = {"addresses": found, "expected": sorted(servers)}
        if found and set(found) & servers and not set(a.records) - servers:
            ctx.ok(
                "dns.a.server",
                f"{name} points at your hosting server.",
                f"{name} apunta a su servidor de hosting.",
                facts,
            )
        elif found:
            ctx.fail(
                "dns.a.server",
                f"{name} points at {', '.join(found)}, which is not your "
                "hosting server: the site you see is not the one hosted with us. Point the "
                "A record at the address in your hosting welcome email.",
                f"{name} apunta a {', '.join(found)}, que no es su servidor de hosting: la "
                "web que se ve no es la alojada con nosotros. Apunte el registro A a la "
                "dirección de su correo de bienvenida del hosting.",
                facts,
            )
        else:
            ctx.unknown(
                "dns.a.server", f"{name} has no address", f"{name} no tiene dirección", facts
            )


def probe_www(ctx) -> None:
    name = f"www.{ctx.target.name}"
    if ctx.target.name.startswith("www."):
        return
    found, (a, _) = addresses(ctx, name)
    if found:
        ctx.ok("dns.www", f"{name} resolves.", f"{name} resuelve.", {"addresses": found})
    elif a.failed:
        dns_problem(ctx, "dns.www", a, name)
    else:
        ctx.warn(
            "dns.www",
            f"{name} {a.describe('en')}: visitors who type www get an error. "
            f"Add a CNAME www -> {ctx.target.name} (or an A record).",
            f"{name} {a.describe('es')}: quien escriba www verá un error. Añada un CNAME "
            f"www -> {ctx.target.name} (o un registro A).",
            {"rcode": a.status},
        )


def probe_cname(ctx) -> None:
    for name in (ctx.target.name, f"www.{ctx.target.name}"):
        chain, seen, current = [], {name}, name
        while len(chain) < MAX_CNAME_HOPS:
            answer = ctx.dns.ask(current, "CNAME", ctx.deadline)
            if answer.failed and answer.status != "servfail":
                dns_problem(ctx, "dns.cname", answer, current, target=name)
                break
            if not answer.ok:
                break
            current = name_of(answer.records[0])
            chain.append(current)
            if current in seen:
                ctx.fail(
                    "dns.cname",
                    f"{name} is a CNAME loop ({' -> '.join([name, *chain])}): "
                    "it can never resolve. Make one of them an A record.",
                    f"{name} es un bucle de CNAME ({' -> '.join([name, *chain])}): nunca "
                    "resolverá. Convierta uno de ellos en registro A.",
                    {"chain": chain},
                    target=name,
                )
                break
            seen.add(current)
        else:
            ctx.fail(
                "dns.cname",
                f"{name} has a CNAME chain longer than {MAX_CNAME_HOPS}: "
                "resolvers give up. Point it straight at the final name.",
                f"{name} tiene una cadena de CNAME de más de {MAX_CNAME_HOPS}: los "
                "resolvedores abandonan. Apúntelo directamente al nombre final.",
                {"chain": chain},
                target=name,
            )
            continue
        if any(r.check_id == "dns.cname" and r.target == name for r in ctx.task.results):
            continue
        if chain and name == ctx.target.name:
            ctx.warn(
                "dns.cname",
                f"{name} itself is a CNAME (to {chain[-1]}): a domain's apex "
                "may not be a CNAME, and it breaks its MX and TXT records. Use A records.",
                f"{name} es un CNAME (a {chain[-1]}): la raíz de un dominio no puede serlo, "
                "y anula sus registros MX y TXT. Use registros A.",
                {"chain": chain},
                target=name,
            )
        elif len(chain) > 3:
            ctx.warn(
                "dns.cname",
                f"{name} goes through {len(chain)} CNAMEs: slow and fragile.",
                f"{name} pasa por {len(chain)} CNAME: lento y frágil.",
                {"chain": chain},
                target=name,
            )
        else:
            ctx.ok(
                "dns.cname",
                f"{name}: CNAMEs fine ({' -> '.join([name, *chain])}).",
                f"{name}: CNAME correctos ({' -> '.join([name, *chain])}).",
                {"chain": chain},
                target=name,
            )


def ptr_check(ctx, host: str, ip: str) -> None:
    """Reverse DNS of a server that sends mail, confirmed forward (FCrDNS)."""
    import dns.reversename

    ptr = ctx.dns.ask(dns.reversename.from_address(ip).to_text(), "PTR", ctx.deadline)
    names = [name_of(r) for r in ptr.records]
    confirmed = any(ip in addresses(ctx, n)[0] for n in names[:3])
    facts = {"address": ip, "ptr": names}
    if confirmed:
        ctx.ok(
            "dns.ptr",
            f"{host}'s address has reverse DNS ({names[0]}).",
            f"La dirección de {host} tiene DNS inverso ({names[0]}).",
            facts,
            target=host,
        )
    elif ptr.failed and not names:
        dns_problem(ctx, "dns.ptr", ptr, ip, target=host)
    else:
        ctx.warn(
            "dns.ptr",
            f"{host}'s address has no matching reverse DNS: other mail servers "
            "may treat its mail as spam.",
            f"La dirección de {host} no tiene DNS inverso "
            "coherente: otros servidores pueden tratar su correo como spam.",
            facts,
            target=host,
        )
