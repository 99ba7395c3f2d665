"""One RFC 5322 message, as bytes, read into what mail-in files: who sent it, its subject and
ids, the text a person reads, its files, and why it must never be answered.

Pure: no store, no settings read here (the caller passes them). Mail is hostile and clients are
sloppy, so reading is lenient (tix/mailparse/lenient.py) and nothing here raises but
InvalidInput, for input that is no message at all or nests too deep to read.

    parse(raw) -> ParsedMail
    ParsedMail.authentication(trusted_ids) -> AuthVerdict  (tix/mailparse/authres.py)
"""

import email
import email.parser
import email.utils
import re
from dataclasses import dataclass, field
from email._policybase import Compat32  # email.policy would import headerregistry (slow)
from email.message import Message

from tix.errors import InvalidInput
from tix.mailparse import lenient
from tix.mailparse.authres import AuthVerdict, authentication_verdict, parse_authentication_results
from tix.mailparse.charsets import decode_bytes, header_text
from tix.mailparse.parts import (
    MailAttachment,
    attachments,
    body_parts,
    forwarded_block,
    forwarded_messages,
    part_text,
)
from tix.mailparse.sender import Sender, read_sender

__all__ = [
    "AuthVerdict",
    "MailAttachment",
    "ParsedMail",
    "Sender",
    "auto_reason",
    "decode_bytes",
    "header_text",
    "html_to_text",
    "parse",
    "parse_authentication_results",
]


class _RawHeaders(Compat32):
    """compat32 (whose MIME reading is the most forgiving), but header values come back as the
    raw text they were, 8-bit bytes as surrogates, for tix/mailparse/charsets.py to decode:
    compat32 would hand out email.header.Header objects for those, which nothing can split."""

    def header_fetch_parse(self, name, value):
        return value


POLICY = _RawHeaders()
ANGLE_ID = re.compile(r"<[^<>\s]+>")
CHUNK = 64 * 1024
SPAM_SCORE = 5.0  # X-Spam-Score at or over this is spam (SpamAssassin's default threshold)
_NULL_SENDERS = ("mailer-daemon", "postmaster")


@dataclass
class ParsedMail:
    raw: bytes  # the message as it came: always what is kept
    msg: Message  # the parsed tree (email.message.Message, compat32)
    sender: str | None  # the From addr-spec, lower case; None when `sender_problem` says why
    sender_name: str
    sender_problem: str | None
    subject: str
    message_id: str | None  # with its angle brackets, any length
    references: list[str]  # ids in In-Reply-To and References
    recipients: set[str]  # To, Cc, Delivered-To, X-Original-To (lower case)
    text: str  # the body as text, quoted history still in it (tix/quotes.py trims)
    attachments: list[MailAttachment]
    auto_reason: str | None  # why a machine sent it (RFC 3834 and what robots use), or None
    no_notice: str | None  # why no notice may ever be sent to its sender (backscatter), or None
    embedded_ids: list[str] = field(default_factory=list)  # a bounce's copy of what we sent
    repairs: list[str] = field(default_factory=list)  # what the lenient reading fixed

    @property
    def sender_domain(self) -> str:
        return (self.sender or "").rpartition("@")[2]

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every top-level header in order, top first, values as raw text."""
        return [(name, str(value)) for name, value in self.msg.items()]

    def authentication(self, trusted_ids: set[str], hops: int = 1) -> AuthVerdict:
        """Whether our MTA's Authentication-Results authenticate the From domain."""
        return authentication_verdict(self.headers, self.sender_domain, trusted_ids, hops)


def html_to_text(html: str) -> str:
    """HTML mail as text (tix/mailparse/html.py, imported when HTML comes)."""
    from tix.mailparse.html import html_to_text as convert

    return convert(html)


def _header(msg, name: str) -> str:
    """A header as decoded text ("" if missing or too broken to read); repeated ones joined."""
    try:
        return " ".join(header_text(v) for v in (msg.get_all(name) or [])).strip()
    except Exception:
        return ""


def _read(raw: bytes) -> tuple[Message, list[str]]:
    repairs = []
    fixed = lenient.drop_leading_junk(raw)
    if fixed is not raw:
        repairs.append("junk before the headers dropped")
    tidied = lenient.tidy_obsolete_names(fixed)
    if tidied is not fixed:
        repairs.append("blanks before header colons dropped")
    joined = lenient.join_broken_continuations(tidied)
    if joined is not tidied:
        repairs.append("header lines without indentation joined")
    try:
        # Fed in chunks: given the whole message at once, the email package holds it three
        # times over (a StringIO of 4-byte characters, and its lines) and peaks at ~9x its size.
        parser = email.parser.BytesFeedParser(policy=POLICY)
        view = memoryview(joined)
        for start in range(0, len(joined), CHUNK):
            parser.feed(bytes(view[start : start + CHUNK]))
        return parser.close(), repairs
    except RecursionError:
        raise InvalidInput("the message nests MIME parts too deep to read") from None


def parse(raw: bytes, *, spam_score: float = SPAM_SCORE) -> ParsedMail:
    """Read one message. InvalidInput for no message at all, or one nested too deep."""
    if not raw or not raw.strip():
        raise InvalidInput("no message on input")
    lenient.check_depth(raw)
    msg, repairs = _read(raw)
    if not msg.keys():
        raise InvalidInput("input is not an email message (no headers)")
    try:
        return _parsed(raw, msg, repairs, spam_score)
    except RecursionError:
        raise InvalidInput("the message nests MIME parts too deep to read") from None


def _parsed(raw: bytes, msg: Message, repairs: list[str], spam_score: float) -> ParsedMail:
    sender = read_sender([str(v) for v in msg.get_all("From") or []])
    ids = ANGLE_ID.findall(_header(msg, "Message-ID"))
    message_id = ids[0] if ids else None
    references = ANGLE_ID.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References"))
    recipients = set()
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        for value in msg.get_all(name) or []:
            for _, addr in email.utils.getaddresses([header_text(value)]):
                if addr and "@" in addr:
                    recipients.add(addr.strip().lower())
    body = body_parts(msg)
    texts = [part_text(part) for part in body]
    texts += [forwarded_block(inner) for inner in forwarded_messages(msg, body)]
    reason = auto_reason(msg)
    parsed = ParsedMail(
        raw=raw,
        msg=msg,
        sender=sender.address,
        sender_name=sender.name,
        sender_problem=sender.problem,
        subject=_header(msg, "Subject"),
        message_id=message_id,
        references=references,
        recipients=recipients,
        text="\n\n".join(t.strip("\n") for t in texts if t.strip()),
        attachments=attachments(msg, body),
        auto_reason=reason,
        no_notice=no_notice_reason(msg, sender, spam_score),
        repairs=repairs,
    )
    if reason:
        parsed.embedded_ids = embedded_message_ids(msg)
    return parsed


def auto_reason(msg) -> str | None:
    """Why a message was sent by a machine (RFC 3834 and the headers robots use in practice),
    or None for a message from a person."""
    submitted = _header(msg, "Auto-Submitted").lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {submitted.split(';')[0].strip()}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name) is not None:
            return name
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if msg.get("Return-Path") is not None and _header(msg, "Return-Path").strip("<> \t") == "":
        return "null sender"
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    return None


def no_notice_reason(msg, sender: Sender, spam_score: float = SPAM_SCORE) -> str | None:
    """Why a notice to this message's sender would be backscatter: spam by the upstream
    filter's word, list mail, or a null or daemon sender. None if it may be answered."""
    if _header(msg, "X-Spam-Flag").lower().startswith("yes"):
        return "X-Spam-Flag: YES"
    if _header(msg, "X-Spam-Status").lower().startswith("yes"):
        return "X-Spam-Status: Yes"
    score = re.match(r"\s*(-?\d+(?:\.\d+)?)", _header(msg, "X-Spam-Score"))
    if score and float(score[1]) >= spam_score:
        return f"X-Spam-Score: {score[1]}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if msg.get(name) is not None:
            return f"list mail ({name})"
    precedence = _header(msg, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if msg.get("Return-Path") is not None and _header(msg, "Return-Path").strip("<> \t") == "":
        return "null sender (Return-Path: <>)"
    local = (sender.address or "").partition("@")[0]
    if local in _NULL_SENDERS:
        return f"null sender ({local})"
    if sender.problem:
        return f"no trustworthy sender: {sender.problem}"
    if not (sender.address or "").isascii():
        return "a UTF-8 address (RFC 6532): tix's mail cannot be addressed to it"
    return None


def embedded_message_ids(msg) -> list[str]:
    """The Message-IDs inside a bounce (its copy of the message that could not be delivered),
    so a delivery failure can be logged on the ticket whose email bounced."""
    found = []
    for part in msg.walk():
        ctype = part.get_content_type()
        try:
            if ctype == "message/rfc822":
                inner = part.get_payload()[0]
                found += ANGLE_ID.findall(_header(inner, "Message-ID"))
            elif ctype == "text/rfc822-headers":
                inner = email.message_from_string(part_text(part), policy=POLICY)
                found += ANGLE_ID.findall(_header(inner, "Message-ID"))
        except Exception:
            continue
    return found
