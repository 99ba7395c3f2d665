"""Reading one RFC 5322 message for `tix-jobs mail-in` (tix/inbound.py decides what to do with
it): its headers, whether a robot sent it, its text (HTML turned into text, quoted history and
signatures trimmed) and its attachments."""

import email
import email.policy
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import PurePosixPath

from tix import mail, tickets
from tix.errors import InvalidInput

MESSAGE_ID_MAX = 998  # a header line's limit; longer ids are junk, not worth an index entry
ANGLE_ID = re.compile(r"<[^<>\s]+>")


@dataclass
class Incoming:
    raw: bytes
    msg: EmailMessage
    sender: str  # the From address, lower case; "" when there is none
    subject: str
    message_id: str | None
    references: list[str]  # ids in In-Reply-To and References
    recipients: set[str]  # To, Cc, Delivered-To, X-Original-To (lower case)
    auto_reason: str | None  # why this is an automatic message, or None
    embedded_ids: list[str] = field(default_factory=list)  # a bounce's copy of what we sent


# -- reading a message ------------------------------------------------------------------------


def _header(msg, name: str) -> str:
    """A header as text, or "" if missing or too broken for the parser (mail is hostile)."""
    try:
        values = msg.get_all(name) or []
        return " ".join(str(v) for v in values).strip()
    except Exception:
        return ""


def parse(raw: bytes) -> Incoming:
    if not raw or not raw.strip():
        raise InvalidInput("no message on input")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not msg.keys():
        raise InvalidInput("input is not an email message (no headers)")
    sender = parseaddr(_header(msg, "From"))[1].strip().lower()
    message_id = (ANGLE_ID.findall(_header(msg, "Message-ID")) or [None])[0]
    if message_id and len(message_id) > MESSAGE_ID_MAX:
        message_id = None
    references = ANGLE_ID.findall(_header(msg, "In-Reply-To") + " " + _header(msg, "References"))
    recipients = {
        addr.strip().lower()
        for _, addr in getaddresses(
            [_header(msg, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
        )
        if addr
    }
    incoming = Incoming(
        raw=raw,
        msg=msg,
        sender=sender,
        subject=_header(msg, "Subject"),
        message_id=message_id,
        references=references,
        recipients=recipients,
        auto_reason=auto_reason(msg),
    )
    if incoming.auto_reason:
        incoming.embedded_ids = _embedded_message_ids(msg)
    return incoming


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


def _embedded_message_ids(msg) -> list[str]:
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
                inner = email.message_from_string(part.get_content(), policy=email.policy.default)
                found += ANGLE_ID.findall(_header(inner, "Message-ID"))
        except Exception:
            continue
    return found


class _HtmlText(HTMLParser):
    """HTML mail as plain text; quoted history (<blockquote>) and styles are dropped."""

    SKIP = {"style", "script", "head", "blockquote", "title"}
    BREAK = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BREAK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decoded_text(part) -> str:
    try:
        return part.get_content()
    except Exception:
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def body_part(msg):
    try:
        return msg.get_body(preferencelist=("plain", "html"))
    except Exception:
        return None


def body_text(msg) -> str:
    part = body_part(msg)
    if part is None:
        return ""
    text = _decoded_text(part)
    if part.get_content_type() == "text/html":
        text = html_to_text(text)
    return text


# -- trimming quoted history and signatures ---------------------------------------------------

# "On Mon, 3 Jun 2024 at 10:00, Support <s@x> wrote:" (Gmail, Apple Mail, Thunderbird), which
# clients wrap over two or three lines; and the same in Spanish, French and German clients.
_ATTRIBUTION = [
    re.compile(r"On\b.{0,300}\bwrote:", re.I | re.S),
    re.compile(r"El\b.{0,300}\bescribi[oó]:", re.I | re.S),
    re.compile(r"Le\b.{0,300}\ba [ée]crit ?:", re.I | re.S),
    re.compile(r"Am\b.{0,300}\bschrieb\b.{0,120}:", re.I | re.S),
]
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Mensaje original|Message d'origine)\s*-{2,}\s*$", re.I
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|De)\s*:\*?\s*\S", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Enviado|Fecha|To|Para|Subject|Asunto)\s*:", re.I)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_FORWARD = re.compile(r"^\s*(fwd?|rv|reenv)\s*:", re.I)


def _is_attribution(lines: list[str], i: int) -> bool:
    first = lines[i].strip()
    if not first or first.split()[0].lower() not in ("on", "el", "le", "am"):
        return False
    for span in (1, 2, 3):
        joined = " ".join(line.strip() for line in lines[i : i + span])
        if any(pattern.fullmatch(joined) for pattern in _ATTRIBUTION):
            return True
    return False


def _is_outlook_header(lines: list[str], i: int) -> bool:
    if _UNDERSCORES.match(lines[i]) and i + 1 < len(lines) and _OUTLOOK_FROM.match(lines[i + 1]):
        return True
    return bool(
        _OUTLOOK_FROM.match(lines[i])
        and any(_OUTLOOK_NEXT.match(line) for line in lines[i + 1 : i + 4])
    )


def trim_reply(text: str) -> str:
    """The new text of a reply: everything from the first quoted-history header or signature
    delimiter on is cut, and "> " quoted lines are dropped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if (
            line in ("-- ", "--")
            or _ORIGINAL.match(line)
            or _is_attribution(lines, i)
            or _is_outlook_header(lines, i)
        ):
            cut = i
            break
    kept = [line.rstrip() for line in lines[:cut] if not line.startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")


def trim_signature(text: str) -> str:
    """For a new message: only the signature goes (what a customer forwards is the point)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if line in ("-- ", "--"):
            lines = lines[:i]
            break
    return "\n".join(line.rstrip() for line in lines).strip("\n")


# -- attachments ------------------------------------------------------------------------------


def _safe_filename(name: str | None, ctype: str, index: int) -> str:
    cleaned = mail.header_safe(PurePosixPath((name or "").replace("\\", "/")).name, 200)
    if cleaned in ("", ".", ".."):
        cleaned = f"attachment-{index}{mimetypes.guess_extension(ctype) or '.bin'}"
    return cleaned


def mail_attachments(msg) -> list[tickets.NewAttachment]:
    """Every attached file (and forwarded message) of a mail, decoded, in order."""
    body = body_part(msg)
    found: list[tickets.NewAttachment] = []

    def visit(part):
        if part is body:
            return
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()[0]
            found.append(
                tickets.NewAttachment(
                    _safe_filename(part.get_filename() or "forwarded.eml", ctype, len(found) + 1),
                    inner.as_bytes(),
                    ctype,
                )
            )
            return
        if part.get_content_maintype() == "multipart":
            for sub in part.iter_parts():
                visit(sub)
            return
        filename = part.get_filename()
        # Inline text without a name is an alternative of the body, not a file.
        if (
            not filename
            and part.get_content_disposition() != "attachment"
            and part.get_content_maintype() == "text"
        ):
            return
        data = part.get_payload(decode=True) or b""
        found.append(
            tickets.NewAttachment(_safe_filename(filename, ctype, len(found) + 1), data, ctype)
        )

    visit(msg)
    return found
