"""The ticket assistant: checks run on a ticket before it is filed, so the technician is not left
asking "which domain?". Findings are advice in the filer's language (en/es); they never stop a
ticket: `tix create` shows them and asks, and files them as an internal note with the ticket.

A check is a callable taking a `Draft` and returning None, a string, or an iterable of strings.
Besides the built-in checks (tix/builtin_checks.py), every entry point in the group `tix.checks` is one (see
docs/checks.md). Checks read the store only: no network, no writes, a fraction of a second.
"""

import time
from dataclasses import dataclass, field

from tix import settings
from tix.auth import Principal
from tix.builtin_checks import BUILTIN_CHECKS

ENTRY_POINT_GROUP = "tix.checks"


@dataclass(frozen=True)
class Draft:
    """A ticket about to be filed, as a check sees it. `say(en=..., es=...)` picks the text in
    the filer's language."""

    subject: str
    body: str
    department: str  # slug
    priority: str  # low | medium | high | emergency
    service: str | None  # --service, if given
    account: object  # tix.models.Account the ticket is for
    services: tuple = ()  # that account's tix.models.Service rows
    lang: str = "en"

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"

    def say(self, *, en: str, es: str) -> str:
        return es if self.lang == "es" else en


@dataclass(frozen=True)
class Finding:
    check: str
    text: str


@dataclass
class Review:
    lang: str
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # checks that failed or were skipped

    def lines(self) -> list[str]:
        return [f"- {finding.text}" for finding in self.findings]

    def heading(self) -> str:
        return (
            "El asistente de tickets sugiere:"
            if self.lang == "es"
            else "The ticket assistant suggests:"
        )

    def note(self) -> str | None:
        """The internal note filed with the ticket, or None when there is nothing to say."""
        if not self.findings:
            return None
        title = (
            "Asistente de tickets (comprobaciones al registrar el ticket):"
            if self.lang == "es"
            else "Ticket assistant (checks run when the ticket was filed):"
        )
        return "\n".join([title, *self.lines()])


# -- running them -----------------------------------------------------------------------------


def plugin_checks() -> list:
    """(name, entry point) for each check installed in the `tix.checks` entry point group."""
    from tix import plugins

    return [(point.name, point) for point in plugins.installed(ENTRY_POINT_GROUP)]


def _as_texts(result) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [result] if result.strip() else []
    return [str(item) for item in result if item and str(item).strip()]


def run(draft: Draft, *, budget_ms: int | None = None) -> Review:
    """Every check on one draft. A check that fails or is over the time budget is reported as a
    problem, never as a reason not to file."""
    budget_ms = budget_ms if budget_ms is not None else settings.load_checks().budget_ms
    review = Review(lang=draft.lang)
    started = time.perf_counter()
    for name, check in BUILTIN_CHECKS + plugin_checks():
        if (time.perf_counter() - started) * 1000 > budget_ms:
            review.problems.append(f"check {name} skipped: checks took over {budget_ms} ms")
            continue
        try:
            if hasattr(check, "load"):  # an entry point: import the plug-in now
                check = check.load()
            texts = _as_texts(check(draft))
        except Exception as exc:
            line = (str(exc).splitlines() or [""])[0][:200]
            review.problems.append(f"check {name} failed: {type(exc).__name__}: {line}")
            continue
        review.findings += [Finding(name, text) for text in texts]
    return review


def review(principal: Principal, new) -> Review:
    """Run the checks on `new` (a tickets.NewTicket) that `principal` is about to file."""
    draft = Draft(
        subject=new.subject,
        body=new.body,
        department=new.department.slug,
        priority=new.priority,
        service=new.service.name if new.service else None,
        account=new.account,
        services=new.services,
        lang=principal.lang if principal.lang in ("en", "es") else "en",
    )
    return run(draft)
