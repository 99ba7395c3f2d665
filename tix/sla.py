"""Service-level targets and the business-hours calendar they are measured on.

Targets are settings, read from the environment like every other tix setting:

    TIX_SLA_FIRST_RESPONSE   default 30m   first agent answer after the ticket is opened
    TIX_SLA_NEXT_RESPONSE    default 30m   agent answer after each later customer message
    TIX_SLA_RESOLUTION       default none  opened -> closed

Each is a comma-separated list: a bare duration is the default, and `DEPT=`, `*/PRIORITY=` or
`DEPT/PRIORITY=` entries override it (the most specific one wins), e.g.
`30m, billing=4h, */emergency=10m, hosting/low=2h`. `none` means no target.

The calendar (`TIX_BUSINESS_HOURS`, default empty = 24/7) is `DAYS HH:MM-HH:MM` spans separated by
`;`, e.g. `mon-fri 09:00-18:00; sat 10:00-14:00`, in the zone `TIX_BUSINESS_TZ` (default UTC),
minus the dates in `TIX_HOLIDAYS` (`2025-12-25,2026-01-01`). Time outside it does not count.
"""

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from tix.errors import InvalidInput
from tix.models import PRIORITIES
from tix.settings import parse_duration

KINDS = ("first_response", "next_response", "resolution")
DEFAULTS = {"first_response": "30m", "next_response": "30m", "resolution": "none"}
ENV = {kind: f"TIX_SLA_{kind.upper()}" for kind in KINDS}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Calendar:
    """Business hours: per weekday (0 = Monday) a list of (start, end) local times."""

    spans: dict = field(default_factory=dict)
    tz: str = "UTC"
    holidays: frozenset = frozenset()

    @property
    def always_open(self) -> bool:
        return not self.spans

    def describe(self) -> str:
        if self.always_open:
            return "24/7"
        parts = []
        for day in range(7):
            for start, end in self.spans.get(day, []):
                parts.append(f"{DAYS[day]} {start:%H:%M}-{end:%H:%M}")
        text = "; ".join(parts) + f" ({self.tz})"
        if self.holidays:
            text += f", {len(self.holidays)} holiday(s)"
        return text

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two naive-UTC moments."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.tz)
        aware_start = start.replace(tzinfo=UTC)
        aware_end = end.replace(tzinfo=UTC)
        day = aware_start.astimezone(zone).date() - timedelta(days=1)
        last = aware_end.astimezone(zone).date()
        total = timedelta(0)
        while day <= last:
            if day not in self.holidays:
                for open_at, close_at in self.spans.get(day.weekday(), []):
                    span_start = datetime.combine(day, open_at, zone).astimezone(UTC)
                    span_end = datetime.combine(day, close_at, zone).astimezone(UTC)
                    overlap = min(span_end, aware_end) - max(span_start, aware_start)
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(days=1)
        return total


def parse_calendar(hours: str, tz: str = "UTC", holidays: str = "") -> Calendar:
    spans: dict[int, list] = {}
    for chunk in filter(None, (c.strip().lower() for c in (hours or "").split(";"))):
        match = _SPAN.match(re.sub(r"\s+", " ", chunk))
        if not match or match[1] not in DAYS or (match[2] and match[2] not in DAYS):
            raise InvalidInput(f"TIX_BUSINESS_HOURS: {chunk!r} is not like 'mon-fri 09:00-18:00'")
        first, last = DAYS.index(match[1]), DAYS.index(match[2] or match[1])
        try:
            opens = time(int(match[3]), int(match[4]))
            closes = (
                time(int(match[5]), int(match[6]))
                if (match[5], match[6]) != ("24", "00")
                else time.max
            )
        except ValueError:
            raise InvalidInput(f"TIX_BUSINESS_HOURS: {chunk!r} has an impossible time") from None
        if closes <= opens:
            raise InvalidInput(f"TIX_BUSINESS_HOURS: {chunk!r} closes before it opens")
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        for day in days:
            spans.setdefault(day, []).append((opens, closes))
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise InvalidInput(f"TIX_BUSINESS_TZ: unknown time zone {tz!r}") from None
    dates = set()
    for item in filter(None, (h.strip() for h in (holidays or "").split(","))):
        try:
            dates.add(date.fromisoformat(item))
        except ValueError:
            raise InvalidInput(f"TIX_HOLIDAYS: {item!r} is not a date like 2025-12-25") from None
    return Calendar(spans=spans, tz=tz, holidays=frozenset(dates))


@dataclass(frozen=True)
class Targets:
    """Parsed targets: rules[kind] maps (department or '*', priority or '*') -> timedelta|None."""

    rules: dict
    calendar: Calendar

    def target(self, kind: str, department: str, priority: str) -> timedelta | None:
        table = self.rules[kind]
        for key in ((department, priority), (department, "*"), ("*", priority), ("*", "*")):
            if key in table:
                return table[key]
        return None

    def departments_named(self) -> set[str]:
        return {dept for table in self.rules.values() for dept, _ in table if dept != "*"}


def parse_targets(kind: str, text: str) -> dict:
    what = ENV[kind]
    table = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, value = item.rpartition("=")
        if not sep:
            key, value = "*", item
        dept, _, priority = key.strip().lower().partition("/")
        dept, priority = dept.strip() or "*", priority.strip() or "*"
        if priority != "*" and priority not in PRIORITIES:
            raise InvalidInput(f"{what}: unknown priority {priority!r} in {item!r}")
        value = value.strip().lower()
        table[(dept, priority)] = None if value == "none" else parse_duration(value, what)
    return table


def load() -> Targets:
    """The targets and calendar in force (InvalidInput, exit 2, if a setting is malformed)."""
    rules = {
        kind: parse_targets(kind, os.environ.get(ENV[kind]) or DEFAULTS[kind]) for kind in KINDS
    }
    calendar = parse_calendar(
        os.environ.get("TIX_BUSINESS_HOURS", ""),
        os.environ.get("TIX_BUSINESS_TZ") or "UTC",
        os.environ.get("TIX_HOLIDAYS", ""),
    )
    return Targets(rules=rules, calendar=calendar)


def check_departments(targets: Targets, known: set[str]) -> None:
    """A target naming a department that does not exist would silently never apply."""
    unknown = sorted(targets.departments_named() - known)
    if unknown:
        raise InvalidInput(f"SLA targets name unknown department(s): {', '.join(unknown)}")


def table(targets: Targets, departments: list[str]) -> list[dict]:
    """Every department x priority with its three targets, for `tix sla`."""
    rows = []
    for dept in departments:
        for priority in reversed(PRIORITIES):
            row = {"department": dept, "priority": priority}
            for kind in KINDS:
                value = targets.target(kind, dept, priority)
                row[kind] = int(value.total_seconds()) if value is not None else None
            rows.append(row)
    return rows
