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
        total += timedelta(**{_UNITS[unit.lower()]: int(amount)})
    if total <= timedelta(0):
        raise InvalidInput(f"{what}: {text!r} must be longer than zero")
    return total


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a whole number") from None
    if value <= 0:
        raise InvalidInput(f"{name}: must be greater than zero")
    return value


@dataclass(frozen=True)
class Settings:
    remind_after: timedelta
    close_after: timedelta
    max_attempts: int
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
        max_attempts=_int_setting("TIX_MAX_ATTEMPTS", 8),
        attachment_max_bytes=_int_setting("TIX_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        body_max_chars=_int_setting("TIX_BODY_MAX_CHARS", 100_000),
        mail_from=os.environ.get("TIX_MAIL_FROM", "Support <support@tix.localhost>"),
        batch_size=_int_setting("TIX_BATCH_SIZE", 500),
    )
