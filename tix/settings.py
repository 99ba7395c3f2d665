"""Settings, read from the environment (what cron and a service manager set).

Durations are written like `48h`, `90m`, `2d` or `1h30m`; zero, negative or unparsable values are
refused when a command starts, with exit 2.
"""

import os
import re
from dataclasses import dataclass
from datetime import timedelta

from tix.errors import InvalidInput

_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, what: str = "duration") -> timedelta:
    """'48h', '90m', '2d', '1h30m' -> timedelta; anything else, or zero, is an InvalidInput."""
    cleaned = (text or "").strip()
    if not cleaned or _DURATION.sub("", cleaned).strip():
        raise InvalidInput(f"{what}: {text!r} is not a duration like 48h, 90m or 2d")
    total = timedelta()
    for amount, unit in _DURATION.findall(cleaned):
        if len(amount) > 9:
            raise InvalidInput(f"{what}: {text!r} is too large")
        try:
            total += timedelta(**{_UNITS[unit.lower()]: int(amount)})
        except OverflowError:  # 999999999w: nine digits, but past timedelta's range
            raise InvalidInput(f"{what}: {text!r} is too large") from None
    if total <= timedelta(0):
        raise InvalidInput(f"{what}: {text!r} must be longer than zero")
    return total


def positive_setting(name: str, default, kind=int):
    """A setting that is a number above zero (`kind`: int or float), else `default`."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise InvalidInput(f"{name}: {raw!r} is not {what}") from None
    if value <= 0:
        raise InvalidInput(f"{name}: must be greater than zero")
    return value


@dataclass(frozen=True)
class Settings:
    remind_after: timedelta
    close_after: timedelta
    # A message still undelivered this long after it was queued is given up (`dead`) at its next
    # temporary failure, like an MTA's queue lifetime; attempts alone never give up.
    outbox_lifetime: timedelta
    attachment_max_bytes: int
    body_max_chars: int
    mail_from: str
    batch_size: int

    @property
    def mail_domain(self) -> str:
        return self.mail_from.rsplit("@", 1)[-1].strip(">").strip() or "localhost"


def load() -> Settings:
    return Settings(
        remind_after=parse_duration(os.environ.get("TIX_REMIND_AFTER", "48h"), "TIX_REMIND_AFTER"),
        close_after=parse_duration(os.environ.get("TIX_CLOSE_AFTER", "24h"), "TIX_CLOSE_AFTER"),
        outbox_lifetime=parse_duration(
            os.environ.get("TIX_OUTBOX_LIFETIME", "5d"), "TIX_OUTBOX_LIFETIME"
        ),
        attachment_max_bytes=positive_setting("TIX_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        body_max_chars=positive_setting("TIX_BODY_MAX_CHARS", 100_000),
        mail_from=os.environ.get("TIX_MAIL_FROM", "Support <support@tix.localhost>"),
        batch_size=positive_setting("TIX_BATCH_SIZE", 500),
    )


# -- the outbox (the mail tix sends and reads is tix/mailsettings.py) ------------------------


def outbox_lease() -> timedelta:
    """How long a dispatch run may hold a claimed outbox row before another run takes it over."""
    return parse_duration(os.environ.get("TIX_OUTBOX_LEASE", "10m"), "TIX_OUTBOX_LEASE")


# -- the ticket assistant ------------------------------------------------------------------


@dataclass(frozen=True)
class ChecksSettings:
    # A new emergency is flagged when the account already has this many open emergencies.
    emergency_open_limit: int
    # After this many milliseconds in checks, the remaining (plug-in) checks are skipped.
    budget_ms: int


def load_checks() -> ChecksSettings:
    return ChecksSettings(
        emergency_open_limit=positive_setting("TIX_CHECKS_EMERGENCY_OPEN_LIMIT", 1),
        budget_ms=positive_setting("TIX_CHECKS_BUDGET_MS", 500),
    )
