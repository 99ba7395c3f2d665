"""One email as mail-in reads it (tix/mailparse reads), and what of it goes on a ticket: its
text (tix/quotes.py trims the history), its subject, its files and the raw message itself."""

import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message

from tix import clock, mail, mailparse, mailsettings, settings, tickets
from tix.quotes import footer_patterns, trim_reply, trim_signature

# Message-IDs longer than this are recorded as a hash: any length still dedupes.
MESSAGE_ID_STORED_MAX = 255

EMPTY_BODY = "(no text in the email; the original message is attached)"
TRUNCATED = "\n\n[... cut at the length limit; the original message is attached]"
_FORWARD = re.compile(r"^\s*(fwd?|rv|reenv)\s*:", re.I)


@dataclass
class Incoming:
    raw: bytes
    msg: Message
    sender: str  # the From address, lower case; "" when there is none (or it is not trusted)
    subject: str
    message_id: str | None
    references: list[str]  # ids in In-Reply-To and References
    recipients: set[str]  # To, Cc, Delivered-To, X-Original-To (lower case)
    auto_reason: str | None  # why this is an automatic message, or None
    embedded_ids: list[str] = field(default_factory=list)  # a bounce's copy of what we sent
    parsed: mailparse.ParsedMail | None = None  # everything tix/mailparse read


def parse(raw: bytes, limits: mailsettings.MailInSettings | None = None) -> Incoming:
    """InvalidInput for input that is no message, or one nested too deep to read."""
    spam_score = limits.spam_score if limits else mailparse.SPAM_SCORE
    parsed = mailparse.parse(raw, spam_score=spam_score)
    return Incoming(
        raw=raw,
        msg=parsed.msg,
        sender=parsed.sender or "",
        subject=parsed.subject,
        message_id=parsed.message_id,
        references=parsed.references,
        recipients=parsed.recipients,
        auto_reason=parsed.auto_reason,
        embedded_ids=parsed.embedded_ids,
        parsed=parsed,
    )


def message_key(message_id: str | None) -> str | None:
    """What `inbound_mail` records for a Message-ID: itself, or a hash of a long one."""
    if message_id is None or len(message_id) <= MESSAGE_ID_STORED_MAX:
        return message_id
    return f"<sha256-{hashlib.sha256(message_id.encode('utf-8', 'surrogatepass')).hexdigest()}>"


def reply_text(incoming, limits: mailsettings.MailInSettings | None, conf) -> str:
    footers = footer_patterns(limits.footers) if limits and limits.footers else None
    # Text past twice the body limit would be cut anyway: not worth copying while trimming.
    return trim_reply(incoming.parsed.text[: 2 * conf.body_max_chars], footers)


def text_for_ticket(incoming, limits, conf) -> str:
    """A new ticket's text: a forward keeps everything but the signature."""
    if _FORWARD.match(incoming.subject):
        return trim_signature(incoming.parsed.text)
    return reply_text(incoming, limits, conf)


def body_for_ticket(text: str, conf: settings.Settings) -> str:
    text = text.strip()
    if not text:
        return EMPTY_BODY
    text = text.replace("\x00", "")
    if len(text) > conf.body_max_chars:
        text = text[: conf.body_max_chars - len(TRUNCATED)] + TRUNCATED
    return text


def files(incoming) -> list[tickets.NewAttachment]:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    found = [
        tickets.NewAttachment(a.filename, a.data, a.content_type)
        for a in incoming.parsed.attachments
    ]
    return found + [tickets.NewAttachment(f"email-{stamp}.eml", incoming.raw, "message/rfc822")]


def subject_for_ticket(subject: str) -> str:
    cleaned = mail.header_safe(subject, tickets.SUBJECT_MAX)
    return cleaned or "(no subject)"
