"""Building notification emails and queueing them in the outbox.

Each email is rendered once, when queued, with a fixed Message-ID, so a retry sends the very
same bytes and the receiving side can spot a duplicate. Templates are plain text in the
recipient's language, one file each in tix/templates/<kind>.<lang>.txt (first line
`Subject: ...`, then a blank line, then the body); a file of the same name and format in
`<config>/templates/` overrides the built-in one.
"""

import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from tix import clock, mail_words, replykeys, settings
from tix.mailfold import (
    MAX_LINE,
    PLAIN_ADDRESS,
    PLAIN_NAME,
    PLAIN_REPLY_TO,
    folded,
    policy_line,
    text_part,
    token_line,
)
from tix.models import Outbox
from tix.paths import config_dir

if TYPE_CHECKING:
    from email.message import EmailMessage

# Kinds whose email is written by a person; every other kind is sent automatically.
HUMAN_KINDS = {"agent-reply"}

STATUS_WORDS = mail_words.STATUS  # where they were found before tix.mail_words

# C0/C1 controls, line and paragraph separators, bidi and other format characters: none of
# these belong in a header, and CR/LF would start a new one.
_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def header_safe(text: str, limit: int = 200) -> str:
    """Text from a ticket made fit for a header: one line, no control characters, and no
    `=?...?=` sequence a mail client would decode into something else."""
    text = text or ""
    if text.isascii() and text.isprintable():
        cleaned = text  # no control character (the only unsafe category ASCII has)
    else:
        cleaned = "".join(" " if unicodedata.category(ch) in _UNSAFE else ch for ch in text)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    cleaned = cleaned.replace("=?", "= ?").replace("?=", "? =")
    return cleaned[:limit]


# Characters with a meaning in an address header (RFC 5322 specials). formataddr quotes them,
# but Python's email folding drops the quotes of a long display name, and then `Name,
# other@evil.test` would put a second address into To (and a lone `.` next to an encoded word
# makes a header Python's own parser fails on); without them a name is always one phrase.
_ADDRESS_SPECIALS = re.compile(r'[,;:<>@()\[\]\\".]')


def display_name(name: str) -> str:
    """A person's name fit for a To header: header_safe, without address punctuation."""
    return header_safe(_ADDRESS_SPECIALS.sub(" ", name or ""), 80)


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    lang: str = "en"
    # The person, when tix knows them: their emails about a ticket carry a reply key for them.
    contact_id: int | None = None
    agent_id: int | None = None


# The built-in templates, one file per kind and language, in the very format of the overrides
# a company puts in <config>/templates (so there is one format to learn and to edit).
BUILT_IN_TEMPLATES = Path(__file__).parent / "templates"


def _read_template(path: Path) -> tuple[str, str] | None:
    """(subject, body) of a template file, or None if it is missing or not in the format."""
    if not path.is_file():
        return None
    first, _, body = path.read_text(encoding="utf-8").partition("\n")
    if not first.lower().startswith("subject:"):
        return None
    return first.split(":", 1)[1].strip(), body.lstrip("\n")


def _template(kind: str, lang: str) -> tuple[str, str]:
    """The company's override for this kind and language, else the built-in one, else the
    built-in English one."""
    for folder, language in (
        (config_dir() / "templates", lang),
        (BUILT_IN_TEMPLATES, lang),
        (BUILT_IN_TEMPLATES, "en"),
    ):
        found = _read_template(folder / f"{kind}.{language}.txt")
        if found is not None:
            return found
    raise KeyError(f"no mail template {kind!r}")


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(kind: str, lang: str, values: dict, templates: dict | None = None) -> tuple[str, str]:
    """`templates`: a dict the caller keeps for one batch, so a batch of reminders reads each
    override file once rather than once per email (never kept longer: an edited template is
    used by the next batch)."""
    if templates is None:
        subject_tpl, body_tpl = _template(kind, lang)
    else:
        if (kind, lang) not in templates:
            templates[(kind, lang)] = _template(kind, lang)
        subject_tpl, body_tpl = templates[(kind, lang)]
    values = _Blank(values)
    return subject_tpl.format_map(values), body_tpl.format_map(values)


def new_message_id(domain: str) -> str:
    """A unique Message-ID whose first part grows with time, so the outbox's unique index on it
    takes new rows at one end instead of dirtying pages all over a big store."""
    return f"<{time.time_ns():016x}.{uuid.uuid4().hex[:16]}@{domain}>"


def thread_id(code: str, domain: str) -> str:
    """The Message-ID every email of a ticket refers to, so clients thread them together."""
    return f"<ticket-{code}@{domain}>"


def _references(code: str | None, reply_key: str | None, conf: settings.Settings) -> str:
    """The ticket's thread id, then the reply key's (which a reply's References copies)."""
    refs = [thread_id(code, conf.mail_domain)] if code else []
    if reply_key:
        refs.append(replykeys.thread_ref(reply_key, conf))
    return " ".join(refs)


def build(
    *,
    kind: str,
    code: str | None,
    subject: str,
    body: str,
    recipient: Recipient,
    message_id: str,
    conf: settings.Settings,
    now=None,
    reply_key: str | None = None,
) -> "EmailMessage":
    # Imported here: the email package is ~3 ms of start-up that reading commands never use.
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr

    msg = EmailMessage()
    msg["From"] = conf.mail_from
    msg["To"] = formataddr((display_name(recipient.name), recipient.email))
    if reply_key:
        msg["Reply-To"] = replykeys.reply_to(reply_key, conf)
    safe_subject = header_safe(subject)
    msg["Subject"] = f"[{code}] {safe_subject}" if code else safe_subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime((now or clock.now()).replace(tzinfo=UTC))
    if code:
        msg["In-Reply-To"] = thread_id(code, conf.mail_domain)
    if code or reply_key:
        msg["References"] = _references(code, reply_key, conf)
    if code:
        msg["X-Tix-Ticket"] = code
    if kind not in HUMAN_KINDS:
        msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


# -- writing many emails cheaply --------------------------------------------------------------
#
# EmailMessage parses every header it is given and refolds it on output: about 1 ms a message,
# most of what the hourly job spent per reminder. `raw_message` writes the same text directly:
# headers that are plain ASCII the email policy leaves as they are (simple names and addresses,
# words folded at spaces) are written as they are; any other (non-ASCII or quoted names and
# subjects, overlong words) is written by EmailMessage itself, one header at a time, cached.
# header_safe runs first either way. tests/test_jobs_batching.py checks that the result is
# exactly `build(...).as_string()`, hostile subjects included.


def _plain_address_line(header: str, value: str) -> str | None:
    """`Header: Name <address>` (or a bare address) as it is, when the policy leaves it so."""
    line = f"{header}: {value}"
    return line if len(line) <= MAX_LINE and PLAIN_REPLY_TO.fullmatch(value) else None


def raw_message(
    *,
    kind: str,
    code: str | None,
    subject: str,
    body: str,
    recipient: Recipient,
    message_id: str,
    conf: settings.Settings,
    now=None,
    reply_key: str | None = None,
) -> tuple[str, str]:
    """(the Subject as stored in the outbox, the whole message as text): exactly
    `build(...).as_string()`, without EmailMessage's parsing of plain headers."""
    from email.utils import format_datetime, formataddr

    now = now or clock.now()
    name = display_name(recipient.name)
    plain_to = f"To: {name} <{recipient.email}>"
    if not (
        PLAIN_NAME.fullmatch(name)
        and PLAIN_ADDRESS.fullmatch(recipient.email)
        and len(plain_to) <= MAX_LINE
    ):
        plain_to = None
    safe_subject = header_safe(subject)
    stored_subject = f"[{code}] {safe_subject}" if code else safe_subject
    date = format_datetime(now.replace(tzinfo=UTC))
    # (header, value, its line when plain ASCII the policy leaves alone, else None)
    headers = [
        ("From", conf.mail_from, _plain_address_line("From", conf.mail_from)),
        ("To", formataddr((name, recipient.email)), plain_to),
    ]
    if reply_key:
        value = replykeys.reply_to(reply_key, conf)
        headers.append(("Reply-To", value, _plain_address_line("Reply-To", value)))
    headers += [
        ("Subject", stored_subject, folded("Subject", stored_subject)),
        ("Message-ID", message_id, token_line("Message-ID", message_id)),
        ("Date", date, f"Date: {date}"),
    ]
    if code:
        root = thread_id(code, conf.mail_domain)
        headers.append(("In-Reply-To", root, token_line("In-Reply-To", root)))
    if code or reply_key:
        refs = _references(code, reply_key, conf)
        headers.append(("References", refs, folded("References", refs)))
    if code:
        headers.append(("X-Tix-Ticket", code, token_line("X-Tix-Ticket", code)))
    lines = [
        plain if plain is not None else policy_line(header, value)
        for header, value, plain in headers
    ]
    if kind not in HUMAN_KINDS:
        lines.append("Auto-Submitted: auto-generated")
    cte, payload = text_part(body)
    lines += [
        'Content-Type: text/plain; charset="utf-8"',
        f"Content-Transfer-Encoding: {cte}",
        "MIME-Version: 1.0",
    ]
    return stored_subject, "\n".join(lines) + "\n\n" + payload


def outbox_rows(
    *,
    kind: str,
    recipients: list[Recipient],
    values: dict,
    ticket_id: int | None,
    conf: settings.Settings,
    now,
    reminder_of=None,
    templates: dict | None = None,
    held_id: int | None = None,
) -> list[dict]:
    """One outbox row (as a dict to insert) per recipient, each in their own language, each
    with its own fixed Message-ID. An email about a ticket (or a held message) to a person tix
    knows carries a new reply key for them: the row's "reply_key" is its reply_keys row, for
    insert_reply_keys (no other key of the dict is a column of reply_keys)."""
    rows = []
    code = values.get("code")
    for recipient in recipients:
        # Each email in its recipient's language: statuses, priorities, departments, delays.
        lang_values = mail_words.localized(dict(values, name=recipient.name), recipient.lang)
        subject, body = render(kind, recipient.lang, lang_values, templates)
        message_id = new_message_id(conf.mail_domain)
        person = recipient.contact_id or recipient.agent_id
        key = replykeys.new_key() if person and (ticket_id or held_id) else None
        stored_subject, raw = raw_message(
            kind=kind,
            code=code,
            subject=subject,
            body=body,
            recipient=recipient,
            message_id=message_id,
            conf=conf,
            now=now,
            reply_key=key,
        )
        rows.append(
            {
                "message_id": message_id,
                "ticket": ticket_id,
                "kind": kind,
                "recipient": recipient.email,
                "subject": stored_subject,
                "raw": raw,
                "status": "pending",
                "next_attempt_at": now,
                "reminder_of": reminder_of,
                "created_at": now,
                "reply_key": key
                and replykeys.key_row(
                    key,
                    ticket_id=None if held_id else ticket_id,
                    held_id=held_id,
                    contact_id=recipient.contact_id,
                    agent_id=None if recipient.contact_id else recipient.agent_id,
                    now=now,
                ),
            }
        )
    return rows


OUTBOX_COLUMNS = (
    "message_id",
    "ticket_id",
    "kind",
    "recipient",
    "subject",
    "raw",
    "status",
    "next_attempt_at",
    "reminder_of",
    "created_at",
)


def insert_outbox_rows(rows: list[dict]) -> None:
    """Insert the rows outbox_rows made, a few hundred per statement."""
    from tix.store import insert_rows

    insert_rows(
        "outbox",
        OUTBOX_COLUMNS,
        [
            (
                row["message_id"],
                row["ticket"],
                row["kind"],
                row["recipient"],
                row["subject"],
                row["raw"],
                row["status"],
                row["next_attempt_at"],
                row["reminder_of"],
                row["created_at"],
            )
            for row in rows
        ],
    )


def insert_reply_keys(rows: list[dict]) -> None:
    """The reply keys of rows outbox_rows made (after the rows themselves are queued)."""
    replykeys.insert([row["reply_key"] for row in rows if row.get("reply_key")])


def queue(
    *,
    kind: str,
    recipients: list[Recipient],
    values: dict,
    ticket=None,
    conf: settings.Settings,
    reminder_of=None,
    held_id: int | None = None,
) -> list[Outbox]:
    """Render and queue one email per recipient (each in their own language). The caller's
    transaction makes the email part of the state change that caused it.

    A customer's session through PostgreSQL's application role writes no email: it asks the
    database for this one (migration 0010), which accepts only for a change this transaction
    made, and tix-jobs renders it for tix's own recipients (tix/jobs/mail_requests.py)."""
    from tix.store import dialect, has_identity

    ticket_id = ticket.id if ticket is not None else None
    db = Outbox._meta.database.obj
    if ticket_id is not None and has_identity() and dialect(db) == "postgresql":
        (requested,) = db.execute_sql(
            "SELECT tix_request_mail(%s, %s)", (kind, ticket_id)
        ).fetchone()
        if requested:
            return []
    rows = outbox_rows(
        kind=kind,
        recipients=recipients,
        values=values,
        ticket_id=ticket_id,
        conf=conf,
        now=clock.now(),
        reminder_of=reminder_of,
        held_id=held_id,
    )
    queued = [Outbox.create(**{k: v for k, v in row.items() if k != "reply_key"}) for row in rows]
    insert_reply_keys(rows)
    return queued
