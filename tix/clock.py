"""The one clock tix reads. Times are naive UTC datetimes everywhere below the CLI.

Tests move time with freezegun; the demo moves it with `advance`.
"""

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """Current time as naive UTC, microseconds kept."""
    return datetime.now(UTC).replace(tzinfo=None) + _offset


def advance(delta: timedelta) -> None:
    """Move tix's clock forward (the demo uses this to show a wait without sleeping)."""
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)


def to_local(value: datetime | None, tz=None) -> datetime | None:
    """A stored naive-UTC time as an aware time in the user's zone (the system's by default)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).astimezone(tz)


def iso(value: datetime | None, tz=None) -> str | None:
    local = to_local(value, tz)
    return local.isoformat(timespec="seconds") if local else None
