"""The account check: what is really wrong with the customer's domain, site and mail.

    from tix.diagnosis import Request, ServiceInfo, diagnose, apply_fix
    result = diagnose(Request(services=[ServiceInfo("alpha.test", "hosting", "198.51.100.10")],
                              text=ticket_text))
    result.customer_lines("es"); result.agent_lines(); result.fixes

Importing this package is cheap (no DNS, TLS or HTTP library is loaded until a diagnosis
runs). See docs/diagnosis.md for every check, setting and the plug-in groups.
"""

from tix import plugins
from tix.diagnosis.model import (
    COULD_NOT_CHECK,
    FAIL,
    OK,
    RESULT_KEYS,
    STATUSES,
    WARN,
    Diagnosis,
    Fix,
    Request,
    Result,
    ServiceInfo,
    Target,
)
from tix.diagnosis.targets import targets_for
from tix.errors import TixError

TYPE_CHECKING = False  # not typing's: importing typing costs more than a whole empty run
if TYPE_CHECKING:
    from tix.diagnosis.conf import Conf

PROBE_GROUP = "tix.probes"
FIX_GROUP = "tix.fixes"

__all__ = [
    "COULD_NOT_CHECK",
    "FAIL",
    "OK",
    "RESULT_KEYS",
    "STATUSES",
    "WARN",
    "Diagnosis",
    "Fix",
    "FixFailed",
    "Request",
    "Result",
    "ServiceInfo",
    "Target",
    "apply_fix",
    "diagnose",
    "load_conf",
    "targets_for",
]


def __getattr__(name: str):
    # The settings (a dataclass module) load on first use: not needed to find nothing to do.
    if name in ("Conf", "load_conf"):
        from tix.diagnosis import conf

        return conf.Conf if name == "Conf" else conf.load
    raise AttributeError(f"module 'tix.diagnosis' has no attribute {name!r}")


def load_conf():
    """The settings from the environment (tix.diagnosis.conf.load): InvalidInput if one is bad."""
    from tix.diagnosis import conf

    return conf.load()


class FixFailed(TixError):
    """A fix could not be applied (exit 1); the message says why."""


def builtin_probes() -> list[tuple[str, str, object, tuple[str, ...]]]:
    """(name, aspect, probe, check ids it reports) for every built-in probe."""
    from tix.diagnosis import checks_auth as auth
    from tix.diagnosis import checks_dns as d
    from tix.diagnosis import checks_lists as bl
    from tix.diagnosis import checks_maildns as m
    from tix.diagnosis import checks_ns as ns
    from tix.diagnosis import checks_page as page
    from tix.diagnosis import checks_web as w
    from tix.diagnosis.tlsinfo import TLS_CHECKS

    return [
        ("dns.resolves", "dns", d.probe_resolves, ("dns.a", "dns.aaaa", "dns.a.public")),
        ("dns.www", "dns", d.probe_www, ("dns.www",)),
        ("dns.cname", "dns", d.probe_cname, ("dns.cname",)),
        ("dns.ns", "dns", ns.probe_ns, ("dns.ns", "dns.soa")),
        ("dns.caa", "web", ns.probe_caa, ("dns.caa",)),
        ("dns.mx", "dns", m.probe_mx, ("dns.mx",)),
        ("dns.mail-host", "mail", m.probe_mail_host, ("dns.mail-host",)),
        ("dns.spf", "dns", auth.probe_spf, ("dns.spf",)),
        ("dns.dmarc", "dns", auth.probe_dmarc, ("dns.dmarc",)),
        ("dns.dkim", "mail", auth.probe_dkim, ("dns.dkim",)),
        ("dnsbl.ip", "mail", bl.probe_ip_lists, ()),
        ("dnsbl.domain", "dns", bl.probe_domain_lists, ()),
        ("web.https", "web", w.probe_https, ("web.https.status", *TLS_CHECKS)),
        ("web.http", "web", w.probe_http, ("web.http.status",)),
        ("web.page", "web", page.probe_page, page.PAGE_IDS),
        ("web.www", "web", w.probe_www, ("web.www", *TLS_CHECKS)),
        ("web.url", "web", page.probe_urls, ()),
        ("web.server", "web", w.probe_server, ("web.server.status",)),
        ("web.address", "web", w.probe_addresses, ()),
    ]


def _plugin_task(point):
    def run(ctx):
        probe = point.load()
        aspects = set(getattr(probe, "aspects", ()) or ())
        if aspects and not aspects & ctx.target.aspects:
            return None
        return probe(ctx)

    return run


def _privacy(conf, targets: list[Target]):
    """reveals(text): does it name an address the company keeps from customers?"""
    import ipaddress
    import re

    values, networks = set(), []
    for item in conf.private:
        if item == "servers":
            values |= {ip for t in targets for ip in t.server_ips} | set(conf.outgoing_ips)
        elif "." in item or ":" in item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # a check-id pattern (engine._private_check)
    if not values and not networks:
        return None
    candidate = re.compile(r"[0-9a-fA-F:.]{3,45}")

    def reveals(text: str) -> bool:
        if any(v in text for v in values):
            return True
        for match in candidate.finditer(text):
            try:
                ip = ipaddress.ip_address(match[0].strip(".:"))
            except ValueError:
                continue
            if any(ip.version == n.version and ip in n for n in networks):
                return True
        return False

    return reveals


def diagnose(request: Request, conf: "Conf | None" = None) -> Diagnosis:
    """Check the services the ticket is about, within the budget. Never raises: a setting or
    a probe that fails shows up as a could-not-check result."""
    import time

    started = time.monotonic()
    try:
        return _diagnose(request, conf, started)
    except Exception as exc:  # the engine itself broke: still an answer, never an exception
        line = (str(exc).splitlines() or [""])[0][:200]
        result = Result(
            "diagnosis.engine",
            "",
            COULD_NOT_CHECK,
            {"error": f"{type(exc).__name__}: {line}"},
            f"the account check could not run: {type(exc).__name__}: {line}",
            f"no se pudo hacer la comprobación de la cuenta: {type(exc).__name__}: {line}",
        )
        return Diagnosis([result], [], time.monotonic() - started, 0)


def _diagnose(request: Request, conf, started: float) -> Diagnosis:
    import time

    from tix.diagnosis.targets import customer_ip, foreign_urls

    services = list(request.services)
    targets = targets_for(services, request.text, request.service_name)
    ours = {s.server_ip for s in services if s.server_ip}
    ip = request.customer_ip or customer_ip(request.text, exclude=ours)
    strangers = foreign_urls(services, request.text)[:10]
    if not targets and ip is None and not strangers:
        return Diagnosis([], [], time.monotonic() - started, 0)  # settings not even read
    conf = conf or load_conf()
    if ip is not None:
        import ipaddress

        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            ip = None
        if ip in conf.outgoing_ips:
            ip = None  # our own server, not the customer's address

    from tix.diagnosis.dnsq import Dns
    from tix.diagnosis.engine import Run, Task
    from tix.diagnosis.safety import Guard

    run = Run(conf, Guard(conf.allow_networks), Dns(conf), _privacy(conf, targets))
    run.shared["domains"] = [s.name.lower().rstrip(".") for s in services]
    run.shared["server_ips"] = [ip for t in targets for ip in t.server_ips]
    for url in strangers:  # named in the ticket, not the account's: never fetched
        run.tasks.append(Task("web.url", Target(url, ()), None, (), url, len(run.tasks), done=True))
        run.tasks[-1].results.append(
            Result(
                "web.url.status",
                url,
                COULD_NOT_CHECK,
                {"url": url, "reason": "not one of the account's domains"},
                "not fetched: not on one of the account's domains",
                "no consultado: no es de uno de los dominios de la cuenta",
            )
        )
    installed = plugins.installed(PROBE_GROUP) if targets else []
    for target in targets:
        for name, aspect, probe, check_ids in builtin_probes():
            if aspect in target.aspects:
                run.add(Task(name, target, probe, check_ids))
        for point in installed:
            run.add(Task(point.name, target, _plugin_task(point), (point.name,)))
    if ip is not None:
        from tix.diagnosis import firewall

        run.add(
            Task(
                "firewall",
                Target(ip, ()),
                lambda ctx: firewall.probe(ctx, ip),
                ("firewall.ip", "firewall.banned"),
            )
        )
    run.wait()
    results, timed_out = run.collect()
    return Diagnosis(results, targets, time.monotonic() - started, timed_out, ip)


def apply_fix(fix: Fix, conf: "Conf | None" = None) -> str:
    """Apply a fix the person consented to; returns what was done. FixFailed if it fails."""
    conf = conf or load_conf()
    try:
        if fix.kind == "fail2ban.unban":
            from tix.diagnosis import firewall

            return firewall.unban(fix, conf)
        for point in plugins.installed(FIX_GROUP):
            if point.name == fix.kind:
                return str(point.load()(fix, conf))
    except FixFailed:
        raise
    except Exception as exc:
        raise FixFailed(f"fix {fix.kind} failed: {exc}") from None
    raise FixFailed(f"no fix called {fix.kind!r} is installed")
