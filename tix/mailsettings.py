"""Settings of the mail tix sends and reads (TIX_SMTP_*, TIX_MAIL_*), read when a job sends or
reads mail: apart from tix/settings.py, whose settings every command reads, so a command that
only queues mail never builds these."""

import os
from dataclasses import dataclass
from datetime import timedelta

from tix.errors import InvalidInput
from tix.settings import parse_duration, positive_setting

# -- outgoing: the SMTP server tix-jobs sends through --------------------------------------------

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


# -- incoming: mail-in ---------------------------------------------------------------------------


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
