"""How every door (the CLI, tix-jobs, mail-in, the server) turns a failure into what it
reports: one line and a documented exit code, the same everywhere."""

from tix.errors import InvalidInput, StoreError, TixError


def as_tix_error(exc: BaseException, url: str = "") -> TixError | None:
    """The failure every door reports the same way (CLI, tix-jobs, mail-in, the server): tix's
    own errors as they are, bad bytes and store failures as one line with their exit code;
    None for anything else (a bug, to be reported as one)."""
    if isinstance(exc, TixError):
        return exc
    if isinstance(exc, UnicodeError):  # before ValueError, its base class
        # Undecodable bytes on stdin, or in argv (Python keeps those as surrogates that no
        # database accepts); the store rolled back whatever the command had begun.
        return InvalidInput("input is not valid UTF-8")
    if isinstance(exc, ValueError):
        # psycopg2 refuses NUL in a query parameter (SQLite takes it): bad input, not a crash.
        return InvalidInput("input contains a NUL character") if "NUL (0x00)" in str(exc) else None
    import peewee

    if not isinstance(exc, peewee.DatabaseError | peewee.InterfaceError):
        return None
    from tix.store import busy_timeout_ms, hide_secrets, mask_url

    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if line == "database is locked":
        return StoreError(
            f"store {mask_url(url)} is locked by another process (waited "
            f"{busy_timeout_ms() / 1000:g}s, TIX_BUSY_TIMEOUT): nothing was changed; try again"
        )
    return StoreError(f"store {mask_url(url)} failed: {hide_secrets(line, url)}")
