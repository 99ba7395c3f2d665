"""Reply keys: the secret each notification carries for its one recipient, so that a reply
proves who it answers for, whatever its From header says.

    key         160 random bits in lower-case base32: 32 characters, [a-z2-7]
    in an email Reply-To: `<local>+<key>@<domain>` (TIX_MAIL_FROM's address), and
                References: `<reply-<key>@<domain>>` after the ticket's thread id, which a
                reply's client copies even when it ignores Reply-To
    stored      only sha256(key), in reply_keys (migration 0013), with the ticket (or held
                message) and the one contact or agent it was sent to

A stolen database copy holds no key that could be mailed in. The key is the proof, not the
permission: who may write to the ticket is still decided by the rules of email in.
"""

import base64
import functools
import hashlib
import re
import secrets

from tix import settings

KEY_CHARS = 32  # 20 random bytes in base32, no padding
_KEY = r"[a-z2-7]{32}"
REDACTED = "reply-key-removed"


def new_key() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.lower().encode("ascii")).hexdigest()


def _address(conf: settings.Settings) -> tuple[str, str, str]:
    """(display name, local part, domain) of TIX_MAIL_FROM."""
    name, address = _parsed(conf.mail_from)
    local, _, domain = address.rpartition("@")
    return name, local or "support", domain or conf.mail_domain


@functools.lru_cache(maxsize=8)
def _parsed(mail_from: str) -> tuple[str, str]:
    """Parsed once per process: every email the hourly job writes asks for it twice, and
    email.utils' parser was a fifth of the job's time."""
    from email.utils import parseaddr  # the email package only when an email is written

    return parseaddr(mail_from)


def reply_address(key: str, conf: settings.Settings) -> str:
    _, local, domain = _address(conf)
    return f"{local}+{key}@{domain}"


def reply_to(key: str, conf: settings.Settings) -> str:
    """The Reply-To header's value: TIX_MAIL_FROM's name, with the keyed address."""
    from email.utils import formataddr

    name, _, _ = _address(conf)
    return formataddr((name, reply_address(key, conf)))


def thread_ref(key: str, conf: settings.Settings) -> str:
    return f"<reply-{key}@{conf.mail_domain}>"


def keys_in(addresses, references, conf: settings.Settings) -> list[str]:
    """The key-shaped strings a message carries: in a recipient address (To, Cc, Delivered-To,
    X-Original-To) first, then in In-Reply-To/References; each once, lower case."""
    _, local, domain = _address(conf)
    by_address = re.compile(rf"{re.escape(local)}\+({_KEY})@{re.escape(domain)}", re.I)
    by_reference = re.compile(rf"<reply-({_KEY})@{re.escape(conf.mail_domain)}>", re.I)
    found = []
    for address in sorted(addresses):
        match = by_address.fullmatch(address)
        if match:
            found.append(match[1].lower())
    for ref in references:
        match = by_reference.fullmatch(ref)
        if match:
            found.append(match[1].lower())
    return list(dict.fromkeys(found))


def redact(raw: bytes, keys: list[str]) -> bytes:
    """The message with these keys removed, for the copy kept on a ticket (where everyone who
    reads the ticket could otherwise take the key and mail in as its person)."""
    for key in keys:
        raw = re.sub(re.escape(key).encode(), REDACTED.encode(), raw, flags=re.I)
    return raw


def key_row(key: str, *, ticket_id, held_id, contact_id, agent_id, now) -> tuple:
    """A reply_keys row (KEY_COLUMNS) for store.insert_rows."""
    return (key_hash(key), ticket_id, held_id, contact_id, agent_id, now)


KEY_COLUMNS = ("key_hash", "ticket_id", "held_id", "contact_id", "agent_id", "created_at")


def insert(rows: list[tuple]) -> None:
    """Insert key rows, a few hundred per statement, without RETURNING: the application role
    may add keys but never read one back (migration 0013)."""
    if rows:
        from tix.store import insert_rows

        insert_rows("reply_keys", KEY_COLUMNS, rows)


def find(keys: list[str]):
    """The first of these keys tix issued and has not revoked (a ReplyKey), or None."""
    if not keys:
        return None
    from tix.models import ReplyKey

    hashes = [key_hash(k) for k in keys]
    rows = {
        row.key_hash: row
        for row in ReplyKey.select().where(
            ReplyKey.key_hash.in_(hashes), ReplyKey.revoked_at.is_null()
        )
    }
    return next((rows[h] for h in hashes if h in rows), None)


def mark_used(key) -> None:
    """When a key last filed something (kept for the record; a key stays valid)."""
    from tix import clock
    from tix.models import ReplyKey

    ReplyKey.update(used_at=clock.now()).where(ReplyKey.key_hash == key.key_hash).execute()
