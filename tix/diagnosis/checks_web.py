"""The website: http and https answer, redirects, the home page and any URL the ticket names,
well-known failure pages, the CMS and its version, response time."""

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from tix.diagnosis import tlsinfo
from tix.diagnosis.checks_dns import addresses
from tix.diagnosis.engine import ProbeTimeout
from tix.diagnosis.netio import NetError, Refused, Response, http_exchange, http_get
from tix.diagnosis.safety import WEB_PORTS

MAX_HOPS = 5


@dataclass
class Chain:
    start: str
    hops: list = field(default_factory=list)  # (url, status, location)
    final: Response | None = None
    final_url: str = ""
    error: str = ""
    refused: str = ""  # the guard said no: could-not-check, not the site's fault
    timed_out: bool = False
    loop: bool = False
    offsite: str = ""  # the host a redirect left to (not followed)
    downgrade: bool = False  # https -> http
    tls: dict | None = None
    tls_error: str = ""
    elapsed_ms: float = 0.0


def ours(ctx, host: str) -> bool:
    domains = ctx.run.shared.get("domains") or [ctx.target.name]
    return any(host == d or host.endswith("." + d) for d in domains)


def fetch_once(ctx, url: str, chain: Chain) -> Response | None:
    parts = urlsplit(url)
    host, scheme = (parts.hostname or "").lower().rstrip("."), parts.scheme.lower()
    if scheme not in WEB_PORTS or (parts.port and parts.port != WEB_PORTS[scheme]):
        chain.refused = f"{url}: only ports 80 and 443 are checked"
        return None
    found, _ = addresses(ctx, host)
    usable = [ip for ip in found if not ctx.guard.refuse(ip)]
    if not usable:
        chain.refused = (
            f"{host}: {found[0]} is {ctx.guard.refuse(found[0])}, not contacted"
            if found
            else f"{host} has no address"
        )
        return None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    ip = usable[0]
    try:
        if scheme == "https":
            try:
                conn, facts = tlsinfo.connect(ctx, ip, 443, host)
            except NetError as exc:
                chain.tls_error = str(exc)
                raise
            if chain.tls is None:
                chain.tls = facts
            with conn:
                return http_exchange(conn, host, path, ctx.conf.body_cap)
        return http_get(ctx, ip, "http", host, path, ctx.conf.body_cap)
    except ProbeTimeout as exc:
        if exc.budget:
            raise
        chain.timed_out = True
        chain.error = f"no answer within {ctx.conf.probe_timeout:g} s"
    except Refused as exc:
        chain.refused = str(exc)
    except NetError as exc:
        chain.error = str(exc)
    return None


def follow(ctx, url: str) -> Chain:
    import time

    chain, seen, started = Chain(url), set(), time.monotonic()
    while True:
        if url in seen:
            chain.loop = True
            break
        seen.add(url)
        response = fetch_once(ctx, url, chain)
        if response is None:
            break
        location = response.header("location")
        chain.hops.append((url, response.status, location))
        if response.status not in (301, 302, 303, 307, 308) or not location:
            chain.final, chain.final_url = response, url
            break
        nxt = urljoin(url, location)
        if urlsplit(url).scheme == "https" and urlsplit(nxt).scheme == "http":
            chain.downgrade = True
        host = (urlsplit(nxt).hostname or "").lower()
        if not ours(ctx, host):
            chain.offsite, chain.final, chain.final_url = host, response, url
            break
        if len(chain.hops) > MAX_HOPS:
            break
        url = nxt
    chain.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return chain


def chain_for(ctx, url: str) -> Chain:
    return ctx.memo(("chain", url), lambda: follow(ctx, url))


def home(ctx, scheme: str, host: str | None = None) -> str:
    return f"{scheme}://{host or ctx.target.name}/"


def status_words(status: int) -> tuple[str, str]:
    if status in (401, 403):
        return (
            "refuses access (check file permissions, .htaccess rules and that there is an "
            "index file)",
            "deniega el acceso (revise permisos de archivos, reglas de "
            ".htaccess y que exista un archivo índice)",
        )
    if status == 404:
        return ("says the page does not exist", "dice que la página no existe")
    if status == 503:
        return (
            "is unavailable (maintenance mode or overloaded)",
            "no está disponible (modo mantenimiento o sobrecarga)",
        )
    if status >= 500:
        return ("has a server error", "tiene un error del servidor")
    return ("answers an error", "responde un error")


def report_status(ctx, check_id: str, chain: Chain, label: str) -> None:
    if chain.refused:
        ctx.unknown(
            check_id,
            f"not fetched: {chain.refused}",
            f"no consultado: {chain.refused}",
            {"url": chain.start},
            target=label,
        )
        return
    facts = {"url": chain.start, "hops": chain.hops, "elapsed_ms": chain.elapsed_ms}
    if chain.final is None:
        why = chain.error or ("a redirect loop" if chain.loop else "too many redirects")
        ctx.fail(
            check_id,
            f"{chain.start} does not load: {why}.",
            f"{chain.start} no carga: {why}.",
            facts,
            target=label,
        )
        return
    status = chain.final.status
    facts.update(status=status, final=chain.final_url)
    if status < 400 and chain.final_url != chain.start:
        ctx.ok(
            check_id,
            f"{chain.start} leads to {chain.final_url} ({status}).",
            f"{chain.start} lleva a {chain.final_url} ({status}).",
            facts,
            target=label,
        )
    elif status < 400:
        ctx.ok(
            check_id,
            f"{chain.start} answers {status}.",
            f"{chain.start} responde {status}.",
            facts,
            target=label,
        )
    else:
        en, es = status_words(status)
        ctx.fail(
            check_id,
            f"{chain.final_url} answers {status}: it {en}.",
            f"{chain.final_url} responde {status}: {es}.",
            facts,
            target=label,
        )


def report_redirects(ctx, chain: Chain, label: str) -> None:
    if chain.final is None and not chain.loop and len(chain.hops) <= MAX_HOPS:
        return
    hops = " -> ".join(u for u, _, _ in chain.hops)
    facts = {"hops": chain.hops}
    if chain.loop:
        ctx.fail(
            "web.redirect",
            f"{chain.start} redirects in a loop ({hops} -> ...): browsers "
            "give up (often a wrong site address in the CMS settings, or http/https rules "
            "that undo each other).",
            f"{chain.start} redirige en bucle ({hops} -> ...): "
            "los navegadores abandonan (suele ser una dirección de la web errónea en el "
            "CMS, o reglas http/https que se anulan).",
            facts,
            target=label,
        )
    elif len(chain.hops) > MAX_HOPS:
        ctx.fail(
            "web.redirect",
            f"{chain.start} redirects more than {MAX_HOPS} times.",
            f"{chain.start} redirige más de {MAX_HOPS} veces.",
            facts,
            target=label,
        )
    elif chain.offsite:
        ctx.warn(
            "web.redirect",
            f"{chain.start} sends visitors to another site ({chain.offsite})"
            ": if you did not set that up, the site may be hacked.",
            f"{chain.start} envía "
            f"a los visitantes a otro sitio ({chain.offsite}): si no lo configuró usted, la "
            "web puede estar comprometida.",
            {**facts, "offsite": chain.offsite},
            target=label,
        )
    elif chain.downgrade:
        ctx.warn(
            "web.redirect",
            f"{chain.start} redirects from https to http: visitors lose encryption.",
            f"{chain.start} redirige de https a http: los visitantes pierden el cifrado.",
            facts,
            target=label,
        )
    else:
        ctx.ok(
            "web.redirect",
            f"{chain.start}: redirects fine ({len(chain.hops) - 1}).",
            f"{chain.start}: redirecciones correctas ({len(chain.hops) - 1}).",
            facts,
            target=label,
        )


def probe_https(ctx) -> None:
    chain = chain_for(ctx, home(ctx, "https"))
    label = f"{ctx.target.name}:443"
    if chain.tls is not None:
        tlsinfo.report(ctx, chain.tls, ctx.target.name, label)
    elif chain.tls_error:
        tlsinfo.handshake_failed(ctx, label, NetError(chain.tls_error))
    report_status(ctx, "web.https.status", chain, ctx.target.name)
    report_redirects(ctx, chain, ctx.target.name)


def probe_http(ctx) -> None:
    chain = chain_for(ctx, home(ctx, "http"))
    report_status(ctx, "web.http.status", chain, ctx.target.name)
    if chain.final is None:
        return
    final_scheme = urlsplit(chain.final_url).scheme
    secure = chain_for(ctx, home(ctx, "https"))
    facts = {"hops": chain.hops}
    if final_scheme == "https":
        ctx.ok(
            "web.https.redirect",
            "http:// visitors are sent to https://.",
            "Los visitantes de http:// pasan a https://.",
            facts,
        )
    elif secure.final is not None and secure.final.status < 400:
        ctx.warn(
            "web.https.redirect",
            f"http://{ctx.target.name}/ does not redirect to "
            "https://: visitors stay unencrypted and browsers mark the site 'not secure'. "
            "Turn on the http-to-https redirect.",
            f"http://{ctx.target.name}/ no redirige "
            "a https://: los visitantes no van cifrados y los navegadores marcan la web "
            "como 'no segura'. Active la redirección de http a https.",
            facts,
        )
    else:
        ctx.fail(
            "web.https.redirect",
            f"{ctx.target.name} works only over http (https does "
            "not): browsers mark it 'not secure'. Install a certificate.",
            f"{ctx.target.name} solo funciona por http (https no): los navegadores la "
            "marcan como 'no segura'. Instale un certificado.",
            facts,
        )


def probe_www(ctx) -> None:
    found, _ = addresses(ctx, f"www.{ctx.target.name}")
    if not found:
        ctx.unknown(
            "web.www",
            f"www.{ctx.target.name} has no address",
            f"www.{ctx.target.name} no tiene dirección",
        )
        return
    chain = chain_for(ctx, home(ctx, "https", f"www.{ctx.target.name}"))
    label = f"www.{ctx.target.name}:443"
    if chain.tls is not None:
        tlsinfo.report(ctx, chain.tls, f"www.{ctx.target.name}", label)
    elif chain.tls_error:
        tlsinfo.handshake_failed(ctx, label, NetError(chain.tls_error))
    if chain.final is None and not chain.refused:
        chain = chain_for(ctx, home(ctx, "http", f"www.{ctx.target.name}"))
    report_status(ctx, "web.www", chain, f"www.{ctx.target.name}")


def probe_server(ctx) -> None:
    """The site as our server serves it, whatever DNS says: tells a DNS problem from a site
    problem."""
    for ip in ctx.target.server_ips[:2]:
        label = f"{ctx.target.name} @ server"
        try:
            page = http_get(ctx, ip, "http", ctx.target.name, "/", ctx.conf.body_cap)
        except (NetError, Refused) as exc:
            ctx.fail(
                "web.server.status",
                f"Our server does not serve {ctx.target.name}: {exc}.",
                f"Nuestro servidor no sirve {ctx.target.name}: {exc}.",
                {"server": ip},
                target=label,
                private=True,
            )
            continue
        ok = page.status < 400 or page.status in (301, 302)
        (ctx.ok if ok else ctx.fail)(
            "web.server.status",
            f"Our server serves {ctx.target.name} with {page.status}.",
            f"Nuestro servidor sirve {ctx.target.name} con {page.status}.",
            {"server": ip, "status": page.status, "elapsed_ms": page.elapsed_ms},
            target=label,
            private=True,
        )


def probe_addresses(ctx) -> None:
    """Each address the domain has (IPv4 and IPv6) answers: a dead AAAA breaks some visitors."""
    found, _ = addresses(ctx, ctx.target.name)
    if len(found) < 2:
        return
    for ip in found[:6]:
        ctx.spawn(
            "web.address",
            lambda c, i=ip: probe_address(c, i),
            ("web.address",),
            label=f"{ctx.target.name} @ {ip}",
        )


def probe_address(ctx, ip: str) -> None:
    label = ctx.task.label
    try:
        page = http_get(ctx, ip, "http", ctx.target.name, "/", 4096)
    except Refused as exc:
        ctx.unknown("web.address", str(exc), f"no contactado: {exc}")
        return
    except (NetError, ProbeTimeout) as exc:
        if isinstance(exc, ProbeTimeout) and exc.budget:
            raise
        ctx.fail(
            "web.address",
            f"{ctx.target.name} does not answer on its address {ip} ({exc}):"
            " visitors sent there get nothing. Fix or remove that DNS record.",
            f"{ctx.target.name} no responde en su dirección {ip} ({exc}): los visitantes "
            "que lleguen ahí no verán nada. Corrija o quite ese registro DNS.",
            {"address": ip},
            target=label,
        )
        return
    ctx.ok(
        "web.address",
        f"{ctx.target.name} answers on {ip} ({page.status}).",
        f"{ctx.target.name} responde en {ip} ({page.status}).",
        {"address": ip, "status": page.status},
        target=label,
    )
