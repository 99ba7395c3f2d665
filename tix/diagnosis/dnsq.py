"""Every DNS question of a diagnosis, through dnspython, asked once and shared.

Answers are classified rather than raised: ok, empty (the name exists, no such record),
nxdomain, servfail, timeout, refused or error, so each check can say exactly what it saw.
"""

import threading
import time
from dataclasses import dataclass, field

MAX_RECORDS = 50  # records of one answer looked at; the rest of a hostile answer is ignored


@dataclass
class Answer:
    name: str
    rdtype: str
    status: str  # ok | empty | nxdomain | servfail | timeout | refused | error
    records: list[str] = field(default_factory=list)  # presentation form
    rdata: list = field(default_factory=list)  # dnspython rdata objects
    canonical: str = ""  # after CNAMEs
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def failed(self) -> bool:
        """The question got no usable answer (as opposed to a clear 'no such record')."""
        return self.status in ("servfail", "timeout", "refused", "error")

    def describe(self, lang: str = "en") -> str:
        words = {
            "en": {
                "nxdomain": "does not exist (NXDOMAIN)",
                "empty": "has no such record",
                "servfail": "fails to resolve (SERVFAIL: its nameservers do not answer properly)",
                "timeout": "got no DNS answer in time (timeout)",
                "refused": "was refused by the DNS server",
                "error": f"could not be resolved ({self.error})",
            },
            "es": {
                "nxdomain": "no existe (NXDOMAIN)",
                "empty": "no tiene ese registro",
                "servfail": "no resuelve (SERVFAIL: sus servidores DNS no responden bien)",
                "timeout": "no obtuvo respuesta DNS a tiempo (timeout)",
                "refused": "fue rechazada por el servidor DNS",
                "error": f"no se pudo resolver ({self.error})",
            },
        }
        return words[lang].get(self.status, self.status)


def name_of(text: str) -> str:
    return str(text).lower().rstrip(".")


class Dns:
    def __init__(self, conf):
        self.conf = conf
        self._resolver = None
        self._lock = threading.Lock()
        self._cache: dict = {}

    def resolver(self):
        with self._lock:
            if self._resolver is None:
                import dns.nameserver
                import dns.resolver

                if self.conf.nameservers:
                    resolver = dns.resolver.Resolver(configure=False)
                    resolver.nameservers = [
                        dns.nameserver.Do53Nameserver(ip, port)
                        for ip, port in self.conf.nameservers
                    ]
                else:
                    resolver = dns.resolver.Resolver()  # /etc/resolv.conf
                resolver.retry_servfail = False
                self._resolver = resolver
            return self._resolver

    def ask(self, name: str, rdtype: str, deadline: float) -> Answer:
        key = (name_of(name), rdtype.upper())
        with self._lock:
            slot = self._cache.get(key)
            owner = slot is None
            if owner:
                slot = self._cache[key] = [threading.Event(), None]
        if owner:
            try:
                slot[1] = self._ask(key[0], key[1], deadline)
            finally:
                slot[0].set()
        elif not slot[0].wait(max(0.0, deadline - time.monotonic())):
            return Answer(key[0], key[1], "timeout", error="no answer in time")
        return slot[1]

    def _ask(self, name: str, rdtype: str, deadline: float) -> Answer:
        import dns.exception
        import dns.resolver

        lifetime = deadline - time.monotonic()
        if lifetime <= 0.01:
            return Answer(name, rdtype, "timeout", error="no time left")
        try:
            answer = self.resolver().resolve(
                name, rdtype, raise_on_no_answer=False, lifetime=lifetime, search=False
            )
        except dns.resolver.NXDOMAIN:
            return Answer(name, rdtype, "nxdomain")
        except dns.resolver.NoNameservers as exc:
            text = str(exc)
            status = "refused" if "REFUSED" in text else "servfail"
            return Answer(name, rdtype, status, error=text[:200])
        except dns.exception.Timeout:
            return Answer(name, rdtype, "timeout", error="timeout")
        except dns.resolver.YXDOMAIN:
            return Answer(name, rdtype, "error", error="name too long")
        except dns.exception.DNSException as exc:
            return Answer(name, rdtype, "error", error=f"{type(exc).__name__}: {exc}"[:200])
        rdata = list(answer.rrset or [])[:MAX_RECORDS]
        return Answer(
            name,
            rdtype,
            "ok" if rdata else "empty",
            [r.to_text() for r in rdata],
            rdata,
            name_of(answer.canonical_name),
        )

    def ask_server(self, name: str, rdtype: str, ip: str, deadline: float, port: int = 53):
        """One question straight to one (vetted) server, no recursion: (rcode, answer, aa)."""
        import dns.flags
        import dns.message
        import dns.query
        import dns.rcode

        timeout = deadline - time.monotonic()
        if timeout <= 0.01:
            raise TimeoutError("no time left")
        query = dns.message.make_query(name, rdtype)
        query.flags &= ~dns.flags.RD
        response = dns.query.udp(query, ip, timeout=timeout, port=port)
        if response.flags & dns.flags.TC:
            timeout = deadline - time.monotonic()
            response = dns.query.tcp(query, ip, timeout=max(0.01, timeout), port=port)
        records = [r.to_text() for rrset in response.answer for r in rrset][:MAX_RECORDS]
        return (
            dns.rcode.to_text(response.rcode()),
            records,
            bool(response.flags & dns.flags.AA),
        )


def txt_strings(answer: Answer) -> list[str]:
    """Each TXT record as one string (its character-strings joined, as SPF and DMARC read)."""
    found = []
    for rdata in answer.rdata:
        parts = getattr(rdata, "strings", ())
        found.append(b"".join(parts).decode("utf-8", "replace"))
    return found
