"""Every error tix reports on purpose, each with its documented exit code."""


class TixError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = 1


class InvalidInput(TixError):
    """Bad input: unknown department, malformed date, empty body... (exit 2)."""

    exit_code = 2


class NotFound(TixError):
    """The thing does not exist, or is not yours: both read the same (exit 3)."""

    exit_code = 3


class NotAllowed(TixError):
    """Not allowed in this state, or not permitted for your role (exit 4)."""

    exit_code = 4


class StoreError(TixError):
    """The store is unreachable or failed (exit 1); messages never carry a password."""

    exit_code = 1


class NotLoggedIn(TixError):
    """No valid token: permission problem (exit 4)."""

    exit_code = 4


def shown(text: str, limit: int = 60) -> str:
    """What a user typed, fit for a one-line message: as typed if it is short printable text,
    else quoted with its control characters escaped, and cut."""
    text = text or ""
    if len(text) > limit:
        text = text[:limit] + "..."
    return text if text.isprintable() else repr(text)


def ticket_not_found(code: str) -> NotFound:
    # One message for "does not exist" and "not yours", so nobody learns another account's codes.
    return NotFound(f"no ticket {shown(code.upper())}")


def one_line(text: str) -> str:
    """The message as one printable line whatever the user typed into it (a URL, a name):
    control characters, line and paragraph separators and undecodable bytes are escaped."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
