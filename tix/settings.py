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


# -- tix-jobs: outgoing mail and the outbox ----------------------------------------------------

SMTP_SECURITY = ("starttls", "tls", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SMTP_KEYRING_SERVICE = "tix-smtp"


@dataclass(frozen=True)
class SmtpSettings:
    """Where tix-jobs sends mail. The password is deliberately not a field: it is fetched only
    when a connection logs in (`smtp_password`), so no repr or log line can carry it."""

    host: str
    port: int
    security: str
    user: str | None
    timeout: float
    cafile: str | None


def load_smtp() -> SmtpSettings | None:
    """The SMTP server from TIX_SMTP_*, or None when TIX_SMTP_HOST is unset (the mail folder)."""
    host = (os.environ.get("TIX_SMTP_HOST") or "").strip()
    if not host:
        return None
    security = (os.environ.get("TIX_SMTP_SECURITY") or "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise InvalidInput(
            f"TIX_SMTP_SECURITY: {security!r}: use one of {', '.join(SMTP_SECURITY)}"
        )
    port = positive_setting("TIX_SMTP_PORT", SMTP_DEFAULT_PORTS[security])
    if port > 65535:
        raise InvalidInput(f"TIX_SMTP_PORT: {port} is not a port number")
    timeout = parse_duration(os.environ.get("TIX_SMTP_TIMEOUT", "60s"), "TIX_SMTP_TIMEOUT")
    cafile = (os.environ.get("TIX_SMTP_CAFILE") or "").strip() or None
    if cafile and not os.path.isfile(cafile):
        raise InvalidInput(f"TIX_SMTP_CAFILE: no such file {cafile!r}")
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        user=(os.environ.get("TIX_SMTP_USER") or "").strip() or None,
        timeout=timeout.total_seconds(),
        cafile=cafile,
    )


def smtp_password(user: str) -> str:
    """TIX_SMTP_PASSWORD if set (cron without a keyring), else the keyring entry
    service `tix-smtp`, username = TIX_SMTP_USER. Never logged, never stored by tix."""
    password = os.environ.get("TIX_SMTP_PASSWORD")
    if password:
        return password
    try:
        import keyring

        password = keyring.get_password(SMTP_KEYRING_SERVICE, user)
    except Exception:  # no usable keyring backend on this host
        password = None
    if not password:
        raise InvalidInput(
            f"TIX_SMTP_USER is {user!r} but no password: store it with "
            f"`keyring set {SMTP_KEYRING_SERVICE} {user}` or set TIX_SMTP_PASSWORD"
        )
    return password


def smtp_connections() -> int:
    """SMTP connections a dispatch run uses at once (each sends its own messages in turn)."""
    return positive_setting("TIX_SMTP_CONNECTIONS", SMTP_CONNECTIONS_DEFAULT)


SMTP_CONNECTIONS_DEFAULT = 8


def outbox_lease() -> timedelta:
    """How long a dispatch run may hold a claimed outbox row before another run takes it over."""
    return parse_duration(os.environ.get("TIX_OUTBOX_LEASE", "10m"), "TIX_OUTBOX_LEASE")


# -- tix-jobs mail-in and the ticket assistant ----------------------------------------


@dataclass(frozen=True)
class MailInSettings:
    # At most `flood_limit` new tickets per sender per `flood_window`; the same cap bounds the
    # refusal notices sent to one address, so a mail loop with a stranger's robot cannot grow.
    flood_limit: int
    flood_window: timedelta
    # Lines that end a reply (mobile footers), "|"-separated; "default" is tix.quotes' list.
    footers: str = "default"
    # Upstream spam score (X-Spam-Score) from which a message is spam: never answered.
    spam_score: float = 5.0
    # Whose Authentication-Results count (our MTA's authserv-ids), and below how many of our
    # own Received headers they may sit (tix/mailparse/authres.py). None trusted: a mail whose
    # only proof is its From header is held.
    trusted_authserv: frozenset[str] = frozenset()
    auth_hops: int = 1


def _float_setting(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a number") from None


def load_mail_in() -> MailInSettings:
    return MailInSettings(
        flood_limit=positive_setting("TIX_MAIL_IN_FLOOD_LIMIT", 10),
        flood_window=parse_duration(
            os.environ.get("TIX_MAIL_IN_FLOOD_WINDOW", "15m"), "TIX_MAIL_IN_FLOOD_WINDOW"
        ),
        footers=os.environ.get("TIX_MAIL_FOOTERS", "").strip() or "default",
        spam_score=_float_setting("TIX_MAIL_SPAM_SCORE", 5.0),
        trusted_authserv=frozenset(
            part.strip().lower()
            for part in os.environ.get("TIX_MAIL_TRUSTED_AUTHSERV", "").split(",")
            if part.strip()
        ),
        auth_hops=positive_setting("TIX_MAIL_AUTH_HOPS", 1),
    )


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
