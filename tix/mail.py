"""Building notification emails and queueing them in the outbox.

Each email is rendered once, when queued, with a fixed Message-ID, so a retry sends the very
same bytes and the receiving side can spot a duplicate. Templates are plain text in the
recipient's language, one file each in tix/templates/<kind>.<lang>.txt (first line
`Subject: ...`, then a blank line, then the body); a file of the same name and format in
`<config>/templates/` overrides the built-in one.
"""

import functools
import re
import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from tix import clock, mail_words, settings
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
) -> "EmailMessage":
    # Imported here: the email package is ~3 ms of start-up that reading commands never use.
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr

    msg = EmailMessage()
    msg["From"] = conf.mail_from
    msg["To"] = formataddr((display_name(recipient.name), recipient.email))
    safe_subject = header_safe(subject)
    msg["Subject"] = f"[{code}] {safe_subject}" if code else safe_subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime((now or clock.now()).replace(tzinfo=UTC))
    if code:
        root = thread_id(code, conf.mail_domain)
        msg["In-Reply-To"] = root
        msg["References"] = root
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

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_PLAIN_NAME = re.compile(rf"[{_ATEXT}]+(?: [{_ATEXT}]+)*")
_PLAIN_ADDRESS = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PLAIN_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
_PLAIN_TOKEN = re.compile(r"[\x21-\x7e]+")
_MAX_LINE = 78  # the email policy's max_line_length


def _folded(name: str, value: str) -> str | None:
    """`Name: value` folded as the email policy folds plain ASCII words, None for anything
    else: on one line if it fits; else alone on the next line if it fits there; else word by
    word, each fold taking the space before the word onto the new line."""
    if not _PLAIN_WORDS.fullmatch(value):
        return None
    if len(name) + 2 + len(value) <= _MAX_LINE:
        return f"{name}: {value}"
    if len(value) + 1 <= _MAX_LINE:
        return f"{name}:\n {value}"
    lines, line = [], f"{name}: "
    for index, word in enumerate(value.split(" ")):
        if index:
            if len(line) + 1 > _MAX_LINE:
                return None  # a space that does not fit: left to the policy
            line += " "
        if len(line) + len(word) <= _MAX_LINE:
            line += word
        elif len(word) + 1 <= _MAX_LINE:
            lines.append(line[:-1])
            line = " " + word
        else:
            return None
    lines.append(line)
    return "\n".join(lines)


def _token_line(name: str, value: str) -> str | None:
    line = f"{name}: {value}"
    return line if _PLAIN_TOKEN.fullmatch(value) and len(line) <= _MAX_LINE else None


@functools.lru_cache(maxsize=4096)
def _policy_line(name: str, value: str) -> str:
    """One header exactly as EmailMessage writes it. The generator folds each header on its
    own, so this is the very text it has in a whole message. Cached: From is the same in every
    email of a run, and a customer's To in every email to them."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg[name] = value
    return msg.as_string().split("\n\n", 1)[0]


def _text_part(body: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, payload) as EmailMessage.set_content + as_string give them."""
    from email import base64mime, contentmanager, policy

    cte, payload = contentmanager._encode_text(body, "utf-8", None, policy.default)
    if cte == "8bit":
        # as_string() (text output) re-encodes 8-bit text in base64.
        cte = "base64"
        payload = base64mime.body_encode(payload.encode("ascii", "surrogateescape"))
    return cte, payload


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
) -> tuple[str, str]:
    """(the Subject as stored in the outbox, the whole message as text): exactly
    `build(...).as_string()`, without EmailMessage's parsing of plain headers."""
    from email.utils import format_datetime, formataddr

    now = now or clock.now()
    name = display_name(recipient.name)
    plain_to = f"To: {name} <{recipient.email}>"
    if not (
        _PLAIN_NAME.fullmatch(name)
        and _PLAIN_ADDRESS.fullmatch(recipient.email)
        and len(plain_to) <= _MAX_LINE
    ):
        plain_to = None
    safe_subject = header_safe(subject)
    stored_subject = f"[{code}] {safe_subject}" if code else safe_subject
    date = format_datetime(now.replace(tzinfo=UTC))
    # (header, value, its line when plain ASCII the policy leaves alone, else None)
    headers = [
        ("From", conf.mail_from, None),
        ("To", formataddr((name, recipient.email)), plain_to),
        ("Subject", stored_subject, _folded("Subject", stored_subject)),
        ("Message-ID", message_id, _token_line("Message-ID", message_id)),
        ("Date", date, f"Date: {date}"),
    ]
    if code:
        root = thread_id(code, conf.mail_domain)
        headers += [
            ("In-Reply-To", root, _token_line("In-Reply-To", root)),
            ("References", root, _token_line("References", root)),
            ("X-Tix-Ticket", code, _token_line("X-Tix-Ticket", code)),
        ]
    lines = [
        plain if plain is not None else _policy_line(header, value)
        for header, value, plain in headers
    ]
    if kind not in HUMAN_KINDS:
        lines.append("Auto-Submitted: auto-generated")
    cte, payload = _text_part(body)
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
) -> list[dict]:
    """One outbox row (as a dict to insert) per recipient, each in their own language, each
    with its own fixed Message-ID."""
    rows = []
    code = values.get("code")
    for recipient in recipients:
        # Each email in its recipient's language: statuses, priorities, departments, delays.
        lang_values = mail_words.localized(dict(values, name=recipient.name), recipient.lang)
        subject, body = render(kind, recipient.lang, lang_values, templates)
        message_id = new_message_id(conf.mail_domain)
        stored_subject, raw = raw_message(
            kind=kind,
            code=code,
            subject=subject,
            body=body,
            recipient=recipient,
            message_id=message_id,
            conf=conf,
            now=now,
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


def queue(
    *,
    kind: str,
    recipients: list[Recipient],
    values: dict,
    ticket=None,
    conf: settings.Settings,
    reminder_of=None,
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
    return [
        Outbox.create(**row)
        for row in outbox_rows(
            kind=kind,
            recipients=recipients,
            values=values,
            ticket_id=ticket_id,
            conf=conf,
            now=clock.now(),
            reminder_of=reminder_of,
        )
    ]
