"""The one clock tix reads. Times are naive UTC datetimes everywhere below the CLI.

Tests move time with freezegun; the demo moves it with `advance`.
"""

import re
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


_ISO_MOMENT = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?(?:Z|[+-]\d\d:?\d\d)?)?"
)
_DURATION_LIKE = re.compile(r"(?:\d+\s*[A-Za-z]\s*)+")


def since(text: str) -> datetime:
    """`--since`, as naive UTC: a duration back from now (`90m`, `6h`, `2d`, `1w`, `1h30m`) or an
    ISO 8601 date or time (`2025-01-15`, `2025-01-15 10:00`, `2025-01-15T10:00:00+01:00`;
    without an offset it is local time). Anything else (`2025`, `12`, `yesterday`) and a zero
    duration are bad input: guessing a date from them would quietly list the wrong tickets."""
    from tix.errors import InvalidInput, quoted
    from tix.settings import parse_duration

    value = (text or "").strip()
    if _DURATION_LIKE.fullmatch(value):
        delta = parse_duration(value, "--since")
        try:
            return now() - delta
        except OverflowError:  # a duration reaching back before year 1
            raise InvalidInput(
                f"--since {quoted(text)} reaches back further than the calendar"
            ) from None
    if _ISO_MOMENT.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.astimezone()
            # Converting to UTC can leave the calendar (0001-01-01 east of UTC): bad input too.
            return moment.astimezone(UTC).replace(tzinfo=None)
        except (ValueError, OverflowError):
            pass
    raise InvalidInput.said("since", value=quoted(text))
