"""SPF and DMARC records: parse, count DNS lookups, and evaluate an IP (RFC 7208, 7489),
asking DNS through the diagnosis' shared cache. Small on purpose: what a hosting support desk
needs to say "your SPF is broken, here is why"."""

import ipaddress
import re
from dataclasses import dataclass, field

MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
MODIFIER = re.compile(r"^([a-z][a-z0-9_.-]*)=(.*)$", re.I)
MECHANISM = re.compile(r"^([+?~-]?)([a-z0-9]+)(?::([^/]+))?((?:/\d+)?(?://\d+)?)$", re.I)
MAX_DEPTH = 10
MAX_QUERIES = 40


@dataclass
class Term:
    qualifier: str
    name: str
    value: str | None
    cidr: str = ""


@dataclass
class Parsed:
    terms: list[Term] = field(default_factory=list)
    redirect: str | None = None
    errors: list[str] = field(default_factory=list)


def is_spf(text: str) -> bool:
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


def parse(record: str) -> Parsed:
    parsed = Parsed()
    for token in record.split()[1:]:
        modifier = MODIFIER.match(token)
        if modifier and modifier[1].lower() not in MECHANISMS:
            if modifier[1].lower() == "redirect":
                parsed.redirect = modifier[2].lower()
            continue  # exp= and unknown modifiers are allowed
        match = MECHANISM.match(token)
        if not match or match[2].lower() not in MECHANISMS:
            parsed.errors.append(f"unknown term {token!r}")
            continue
        term = Term(match[1] or "+", match[2].lower(), match[3], match[4] or "")
        if term.name in ("ip4", "ip6"):
            try:
                network = ipaddress.ip_network(f"{term.value}{term.cidr}", strict=False)
                if network.version != int(term.name[-1]):
                    raise ValueError
            except ValueError:
                parsed.errors.append(f"bad address in {token!r}")
                continue
        elif term.name in ("include", "exists") and not term.value:
            parsed.errors.append(f"{token!r} needs a domain")
            continue
        elif term.name == "all" and (term.value or term.cidr):
            parsed.errors.append(f"bad {token!r}")
            continue
        parsed.terms.append(term)
    return parsed


class Walker:
    """Follows includes and redirects: counts lookups, evaluates an IP."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.queries = 0

    def record(self, domain: str) -> str | None:
        from tix.diagnosis.dnsq import txt_strings

        self.queries += 1
        if self.queries > MAX_QUERIES:
            raise ValueError("too many DNS lookups")
        answer = self.ctx.dns.ask(domain, "TXT", self.ctx.deadline)
        found = [t for t in txt_strings(answer) if is_spf(t)]
        return found[0] if len(found) == 1 else None

    def lookups(self, record: str, depth: int = 0) -> tuple[int, int]:
        """(DNS-querying terms, void lookups) of a record with everything it includes."""
        if depth > MAX_DEPTH:
            raise ValueError("includes nested too deep (a loop?)")
        parsed, count, void = parse(record), 0, 0
        for term in parsed.terms:
            if term.name in LOOKUP_TERMS:
                count += 1
            if term.name == "include":
                inner = self.record(term.value)
                if inner is None:
                    void += 1
                else:
                    more, more_void = self.lookups(inner, depth + 1)
                    count, void = count + more, void + more_void
        if parsed.redirect:
            count += 1
            inner = self.record(parsed.redirect)
            if inner is None:
                void += 1
            else:
                more, more_void = self.lookups(inner, depth + 1)
                count, void = count + more, void + more_void
        return count, void

    def _addresses(self, name: str, cidr: str, ip) -> bool:
        v4, _, v6 = cidr.lstrip("/").partition("//")
        for rdtype in ("A", "AAAA"):
            self.queries += 1
            for address in self.ctx.dns.ask(name, rdtype, self.ctx.deadline).records:
                bits = (v4 if rdtype == "A" else v6) or ("32" if rdtype == "A" else "128")
                net = ipaddress.ip_network(f"{address}/{bits}", strict=False)
                if net.version == ip.version and ip in net:
                    return True
        return False

    def evaluate(self, ip: str, domain: str, record: str | None = None, depth: int = 0) -> str:
        """pass | fail | softfail | neutral | none | permerror, for mail from `ip`."""
        if depth > MAX_DEPTH or self.queries > MAX_QUERIES:
            return "permerror"
        record = record or self.record(domain)
        if record is None:
            return "none"
        address = ipaddress.ip_address(ip)
        parsed = parse(record)
        results = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
        for term in parsed.terms:
            target = (term.value or domain).lower()
            hit = False
            if term.name == "all":
                hit = True
            elif term.name in ("ip4", "ip6"):
                net = ipaddress.ip_network(f"{term.value}{term.cidr}", strict=False)
                hit = net.version == address.version and address in net
            elif term.name == "a":
                hit = self._addresses(target, term.cidr, address)
            elif term.name == "mx":
                self.queries += 1
                mx = self.ctx.dns.ask(target, "MX", self.ctx.deadline)
                hit = any(
                    self._addresses(str(r.exchange).rstrip("."), term.cidr, address)
                    for r in mx.rdata[:10]
                )
            elif term.name == "include":
                hit = self.evaluate(ip, target, None, depth + 1) == "pass"
            elif term.name == "exists":
                self.queries += 1
                hit = self.ctx.dns.ask(target, "A", self.ctx.deadline).ok
            if hit:
                return results[term.qualifier]
        if parsed.redirect:
            return self.evaluate(ip, parsed.redirect, None, depth + 1)
        return "neutral"


def parse_dmarc(record: str) -> tuple[dict, list[str]]:
    tags, errors = {}, []
    parts = [p.strip() for p in record.split(";") if p.strip()]
    for i, part in enumerate(parts):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep:
            errors.append(f"{part!r} is not tag=value")
            continue
        if i == 0 and (key != "v" or value.strip() != "DMARC1"):
            errors.append("it must start with v=DMARC1")
        tags[key] = value.strip()
    policy = tags.get("p", "").lower()
    if "p" not in tags:
        errors.append("no policy (p=)")
    elif policy not in ("none", "quarantine", "reject"):
        errors.append(f"p={tags['p']} is not none, quarantine or reject")
    if "sp" in tags and tags["sp"].lower() not in ("none", "quarantine", "reject"):
        errors.append(f"sp={tags['sp']} is not none, quarantine or reject")
    if "pct" in tags and not (tags["pct"].isdigit() and 0 <= int(tags["pct"]) <= 100):
        errors.append(f"pct={tags['pct']} is not 0-100")
    for key in ("rua", "ruf"):
        for uri in filter(None, (u.strip() for u in tags.get(key, "").split(","))):
            if not uri.lower().startswith("mailto:") or "@" not in uri:
                errors.append(f"{key}: {uri!r} is not a mailto: address")
    return tags, errors
