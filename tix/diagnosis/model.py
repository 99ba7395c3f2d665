"""The engine's plain data: what it is asked about, what it finds, what it offers to repair.

Everything here is JSON-serialisable through `to_dict()` and holds no database rows, so the
engine can be called from the CLI, tix-jobs or a test alike.
"""

from dataclasses import dataclass, field

OK = "ok"
WARN = "warn"
FAIL = "fail"
COULD_NOT_CHECK = "could-not-check"
STATUSES = (OK, WARN, FAIL, COULD_NOT_CHECK)
# Worst first: the order a person reads problems in.
SEVERITY = {FAIL: 0, WARN: 1, COULD_NOT_CHECK: 2, OK: 3}

# What each kind of service means for the diagnosis.
ASPECTS_BY_KIND = {
    "hosting": ("dns", "web", "mail"),
    "domain": ("dns",),
    "email": ("dns", "mail"),
}

# The keys of Result.to_dict(), documented in docs/diagnosis.md.
RESULT_KEYS = ("check_id", "target", "status", "facts", "text_en", "text_es", "private", "fix")
FIX_KEYS = ("kind", "check_id", "target", "params", "text_en", "text_es")


@dataclass(frozen=True)
class ServiceInfo:
    """One of the account's services, as the caller knows it (no database row)."""

    name: str  # a domain: alpha.test
    kind: str  # hosting | domain | email
    server_ip: str | None = None  # hosting: the address of the account's server (ours)
    mail_host: str | None = None  # email/hosting: where IMAP/POP/submission answer


@dataclass(frozen=True)
class Target:
    """One domain to look at, with what the ticket said about it."""

    name: str
    kinds: tuple[str, ...] = ("hosting",)
    server_ips: tuple[str, ...] = ()
    mail_host: str | None = None
    urls: tuple[str, ...] = ()  # URLs the ticket names on this domain (fetched)
    addresses: tuple[str, ...] = ()  # mail addresses the ticket names on this domain

    @property
    def aspects(self) -> set[str]:
        return {a for k in self.kinds for a in ASPECTS_BY_KIND.get(k, ())}

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kinds": list(self.kinds),
            "server_ips": list(self.server_ips),
            "mail_host": self.mail_host,
            "urls": list(self.urls),
            "addresses": list(self.addresses),
        }


@dataclass(frozen=True)
class Request:
    """What to diagnose: the account's services and the ticket's text."""

    services: tuple[ServiceInfo, ...] | list[ServiceInfo]
    text: str = ""
    service_name: str | None = None  # --service, if given
    customer_ip: str | None = None  # else the IP the text names, if any


@dataclass(frozen=True)
class Fix:
    """A repair tix may make itself, once the caller has the person's consent."""

    kind: str  # fail2ban.unban, or the name of a `tix.fixes` entry point
    check_id: str
    target: str
    params: dict = field(default_factory=dict)
    text_en: str = ""  # what will be done and why, shown before asking
    text_es: str = ""

    def text(self, lang: str = "en") -> str:
        return self.text_es if lang == "es" else self.text_en

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "check_id": self.check_id,
            "target": self.target,
            "params": dict(self.params),
            "text_en": self.text_en,
            "text_es": self.text_es,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Fix":
        return cls(**{k: data[k] for k in FIX_KEYS if k in data})


@dataclass
class Result:
    check_id: str
    target: str
    status: str
    facts: dict = field(default_factory=dict)
    text_en: str = ""
    text_es: str = ""
    private: bool = False
    fix: Fix | None = None

    def text(self, lang: str = "en") -> str:
        return self.text_es if lang == "es" else self.text_en

    def to_dict(self) -> dict:
        return {
            "check_id": self.check_id,
            "target": self.target,
            "status": self.status,
            "facts": self.facts,
            "text_en": self.text_en,
            "text_es": self.text_es,
            "private": self.private,
            "fix": self.fix.to_dict() if self.fix else None,
        }


@dataclass
class Diagnosis:
    results: list[Result]
    targets: list[Target]
    elapsed: float  # seconds, wall time
    timed_out: int  # results that are could-not-check because the budget ran out
    customer_ip: str | None = None

    @property
    def fixes(self) -> list[Fix]:
        return [r.fix for r in self.results if r.fix is not None]

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    def problems(self) -> list[Result]:
        found = [r for r in self.results if r.status in (FAIL, WARN)]
        return sorted(found, key=lambda r: SEVERITY[r.status])

    def customer_lines(self, lang: str = "en") -> list[str]:
        """What the customer may read: the problems found, never private results nor facts."""
        lines = [f"- {r.text(lang)}" for r in self.problems() if not r.private and r.text(lang)]
        for fix in self.fixes:
            lines.append(f"- {fix.text(lang)}")
        return lines

    def agent_lines(self) -> list[str]:
        """For the technician: every problem with its facts, then what could not be checked."""
        counts = self.summary
        lines = [
            f"Account check: {len(self.results)} checks in {self.elapsed:.1f} s: "
            f"{counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} fail, "
            f"{counts[COULD_NOT_CHECK]} could not check ({self.timed_out} over the budget)."
        ]
        for r in self.problems():
            mark = " [private]" if r.private else ""
            lines.append(f"- {r.status.upper()} {r.check_id} {r.target}{mark}: {r.text_en}")
            if r.facts:
                lines.append(f"    facts: {_compact(r.facts)}")
        unchecked = [r for r in self.results if r.status == COULD_NOT_CHECK]
        for r in unchecked[:40]:
            lines.append(f"- could not check {r.check_id} {r.target}: {r.text_en}")
        if len(unchecked) > 40:
            lines.append(f"- ... and {len(unchecked) - 40} more not checked")
        for fix in self.fixes:
            lines.append(f"- fix offered ({fix.kind}): {fix.text_en}")
        return lines

    def to_dict(self) -> dict:
        return {
            "targets": [t.to_dict() for t in self.targets],
            "elapsed": round(self.elapsed, 3),
            "timed_out": self.timed_out,
            "summary": self.summary,
            "results": [r.to_dict() for r in self.results],
            "fixes": [f.to_dict() for f in self.fixes],
        }


def _compact(facts: dict, limit: int = 300) -> str:
    import json

    text = json.dumps(facts, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
