"""The engine's plain data: what it is asked about, what it finds, what it offers to repair.

Everything here is JSON-serialisable through `to_dict()` and holds no database rows, so the
engine can be called from the CLI, tix-jobs or a test alike. Plain classes rather than
dataclasses: `import tix.diagnosis` must stay cheap, and dataclasses (with inspect) alone cost
more than the whole "nothing to check" budget of a few milliseconds.
"""


class _Factory:
    """A default made fresh for each instance (a dict, a list)."""

    def __init__(self, make):
        self.make = make


class _Record:
    """Fields from `_fields`, defaults from `_defaults`; keyword or positional; equality and
    repr by value; `_frozen` ones refuse assignment and hash by value."""

    _fields: tuple = ()
    _defaults: dict = {}
    _frozen = False

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__}: too many arguments")
        values = dict(zip(self._fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in self._fields or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated {key!r}")
            values[key] = value
        for name in self._fields:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{type(self).__name__}: missing {name!r}")
                default = self._defaults[name]
                values[name] = default.make() if isinstance(default, _Factory) else default
            object.__setattr__(self, name, values[name])

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __setattr__(self, name, value):
        if self._frozen:
            raise AttributeError(f"{type(self).__name__} is read-only")
        object.__setattr__(self, name, value)

    def __eq__(self, other):
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self):
        if not self._frozen:
            raise TypeError(f"unhashable type: {type(self).__name__}")
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({inner})"


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


class ServiceInfo(_Record):
    """One of the account's services, as the caller knows it (no database row):
    name (a domain: alpha.test), kind (hosting | domain | email), server_ip (hosting: the
    address of the account's server, ours), mail_host (where IMAP/POP/submission answer;
    default TIX_DIAGNOSIS_MAIL_HOST, mail.<domain>)."""

    _fields = ("name", "kind", "server_ip", "mail_host")
    _defaults = {"server_ip": None, "mail_host": None}
    _frozen = True


class Target(_Record):
    """One domain to look at, with what the ticket said about it: name, kinds (of the
    account's services by that name), server_ips, mail_host, urls (the ticket names on this
    domain: fetched) and addresses (mail addresses the ticket names on it)."""

    _fields = ("name", "kinds", "server_ips", "mail_host", "urls", "addresses")
    _defaults = {
        "kinds": ("hosting",),
        "server_ips": (),
        "mail_host": None,
        "urls": (),
        "addresses": (),
    }
    _frozen = True

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


class Request(_Record):
    """What to diagnose: services (the account's ServiceInfo list), text (the ticket's subject
    and body), service_name (--service, if given), customer_ip (else the IP the text names)."""

    _fields = ("services", "text", "service_name", "customer_ip")
    _defaults = {"text": "", "service_name": None, "customer_ip": None}
    _frozen = True


class Fix(_Record):
    """A repair tix may make itself, once the caller has the person's consent: kind
    (fail2ban.unban, or the name of a `tix.fixes` entry point), check_id, target, params, and
    text_en/text_es (what will be done and why, shown before asking)."""

    _fields = FIX_KEYS
    _defaults = {"params": _Factory(dict), "text_en": "", "text_es": ""}
    _frozen = True

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


class Result(_Record):
    """One check's finding; the keys of to_dict() are RESULT_KEYS (docs/diagnosis.md)."""

    _fields = RESULT_KEYS
    _defaults = {
        "facts": _Factory(dict),
        "text_en": "",
        "text_es": "",
        "private": False,
        "fix": None,
    }

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


class Diagnosis(_Record):
    """What a diagnosis found: results, targets, elapsed (seconds of wall time), timed_out
    (results that are could-not-check because the budget ran out), customer_ip."""

    _fields = ("results", "targets", "elapsed", "timed_out", "customer_ip")
    _defaults = {"customer_ip": None}

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
