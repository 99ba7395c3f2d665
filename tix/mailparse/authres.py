"""Authentication-Results (RFC 8601): what our own MTA says it verified, and whether that
authenticates the From domain.

Which headers count. Anyone can write an Authentication-Results header, naming any
authserv-id, ours included, so only these count:

- its authserv-id is one we trust (the `authserv-id` our MTA's milters write: opendkim,
  opendmarc, rspamd, ...), and
- it sits in the block our own MTA prepended: scanning from the top, it comes before any
  Authentication-Results header of another authserv-id, before any header that is not trace
  (Received, Return-Path, Delivered-To, ARC-*, ...), and with at most `hops` Received headers
  above it (the ones our own hosts add above their verdict: 1 for milters on the MX that
  delivers to tix, 2 when a relay then hands it to the tix host).

A header the sender wrote is always below what our hosts prepend, so under those rules it is
never read. The MTA should also delete incoming headers that carry its authserv-id (RFC 8601
section 5); these rules do not rely on it.

Authenticated means: DMARC passed for the From domain, or a DKIM signature passed whose d= is
aligned (relaxed, RFC 7489: same organisational domain) with the From domain.
"""

import re
from dataclasses import dataclass, field

TRACE = {
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "received-spf",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "x-spam-flag",
    "x-spam-status",
    "x-spam-score",
    "x-spam-level",
    "x-spam-checker-version",
    "x-virus-scanned",
    "dkim-filter",
    "x-rspamd-queue-id",
    "x-rspamd-server",
    "x-rspamd-action",
}


@dataclass(frozen=True)
class AuthResult:
    method: str  # dkim, spf, dmarc, arc, ... (lower case)
    result: str  # pass, fail, none, neutral, temperror, permerror, ... (lower case)
    reason: str = ""
    properties: dict = field(default_factory=dict)  # "header.d" -> "acme.example", ...


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str  # lower case
    results: tuple[AuthResult, ...]


@dataclass(frozen=True)
class AuthVerdict:
    authenticated: bool
    how: str | None  # "dmarc" or "dkim" when authenticated
    reason: str  # one line, for the log
    counted: tuple[AuthResults, ...] = ()


def _strip_comments(value: str) -> str:
    out, depth, quoted, escaped = [], 0, False, False
    for char in value:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if not depth:
                out.append(char)
        elif char == '"' and not depth:
            quoted = not quoted
            out.append(char)
        elif char == "(" and not quoted:
            depth += 1
        elif char == ")" and not quoted and depth:
            depth -= 1
            out.append(" ")
        elif not depth:
            out.append(char)
    return "".join(out)


def _split(value: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_PAIR = re.compile(r'([\w.-]+(?:/\d+)?)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]+)')


def parse_authentication_results(value: str) -> AuthResults | None:
    """One header's value -> AuthResults, or None when it is not RFC 8601."""
    text = re.sub(r"\s+", " ", _strip_comments(value or "")).strip()
    if not text:
        return None
    head, *infos = _split(text, ";")
    words = head.split()
    if not words or not re.fullmatch(r"[^\s;=\"]+", words[0]):
        return None
    results = []
    for info in infos:
        info = info.strip()
        if not info or info.lower() == "none":
            continue
        pairs = [(k.lower(), v.strip('"')) for k, v in _PAIR.findall(info)]
        if not pairs:
            continue
        method, result = pairs[0]
        if "." in method:
            continue  # a property without a method: not a resinfo
        reason = next((v for k, v in pairs[1:] if k == "reason"), "")
        properties = {k: v for k, v in pairs[1:] if "." in k}
        results.append(AuthResult(method.split("/")[0], result.lower(), reason, properties))
    return AuthResults(words[0].lower().rstrip("."), tuple(results))


def organizational_domain(domain: str) -> str:
    """The registrable domain (RFC 7489 section 3.2) by the Public Suffix List that the
    publicsuffixlist package bundles (no network); the last two labels if it is missing."""
    domain = domain.strip().strip(".").lower()
    try:
        from publicsuffixlist import PublicSuffixList

        found = _psl(PublicSuffixList).privatesuffix(domain)
        if found:
            return found
    except ImportError:
        pass
    return ".".join(domain.split(".")[-2:])


_PSL = []


def _psl(factory):
    if not _PSL:
        _PSL.append(factory())
    return _PSL[0]


def trusted_results(
    headers: list[tuple[str, str]], trusted_ids: set[str], hops: int = 1
) -> tuple[AuthResults, ...]:
    """The Authentication-Results our own MTA prepended (see the module docstring), from the
    message's headers in order, top first."""
    trusted = {t.strip().lower() for t in trusted_ids if t.strip()}
    counted, received = [], 0
    for name, value in headers:
        name = name.strip().lower()
        if name == "received":
            received += 1
            if received > hops:
                break
            continue
        if name != "authentication-results":
            if name in TRACE or name.startswith("x-spam"):
                continue
            break  # the sender's own headers start here
        parsed = parse_authentication_results(value)
        if parsed is None or parsed.authserv_id not in trusted:
            break
        counted.append(parsed)
    return tuple(counted)


def _aligned(domain: str, from_domain: str) -> bool:
    domain, from_domain = domain.lower().strip("."), from_domain.lower().strip(".")
    if not domain or not from_domain:
        return False
    return domain == from_domain or organizational_domain(domain) == organizational_domain(
        from_domain
    )


def authentication_verdict(
    headers: list[tuple[str, str]], from_domain: str, trusted_ids: set[str], hops: int = 1
) -> AuthVerdict:
    """Whether our MTA's Authentication-Results authenticate `from_domain`."""
    counted = trusted_results(headers, trusted_ids, hops)
    if not counted:
        return AuthVerdict(False, None, "no Authentication-Results from a trusted authserv-id")
    from_domain = (from_domain or "").lower()
    seen = []
    for block in counted:
        for result in block.results:
            seen.append(f"{result.method}={result.result}")
            if result.method == "dmarc" and result.result == "pass":
                header_from = result.properties.get("header.from", from_domain)
                if header_from.lower() == from_domain:
                    return AuthVerdict(True, "dmarc", f"dmarc=pass ({block.authserv_id})", counted)
            if result.method == "dkim" and result.result == "pass":
                signer = (
                    result.properties.get("header.d")
                    or result.properties.get("header.i", "").rpartition("@")[2]
                )
                if _aligned(signer, from_domain):
                    return AuthVerdict(
                        True, "dkim", f"dkim=pass d={signer} ({block.authserv_id})", counted
                    )
    return AuthVerdict(
        False, None, "not authenticated: " + (", ".join(seen) or "no results"), counted
    )
