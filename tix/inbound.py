"""Email in: what `tix-jobs mail-in` does with one RFC 5322 message.

    a reply ([CODE] in the subject, or In-Reply-To/References naming a message tix sent)
        from a contact of the ticket's account or its assigned agent -> tickets.reply
    a new message to a department address from a known contact      -> tickets.create
    an automatic message (out-of-office, bounce, list)               -> an event, nothing else
    anything else                                                    -> refused, with a notice

Each outcome is one transaction together with its row in `inbound_mail`, whose unique
Message-ID makes a redelivered message a no-op. "No such ticket" and "not your ticket" are
refused with the very same notice, which never names a ticket. The lifecycle rules themselves
(reopening a closed ticket, the emails a reply causes) are tix/tickets.py's, not repeated here.
"""

import email
import email.policy
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import PurePosixPath

import peewee as pw

from tix import clock, codes, mail, settings, tickets
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed
from tix.models import Agent, Contact, Department, InboundMail, Outbox, Ticket
from tix.store import dialect, transaction

OUTCOMES = ("reply", "created", "auto-reply", "refused", "flood", "ignored")
MESSAGE_ID_MAX = 998  # a header line's limit; longer ids are junk, not worth an index entry
SUBJECT_CODE = re.compile(r"\[\s*#?([0-9A-Za-z]{4}-?[0-9A-Za-z]{4})\s*\]")
ANGLE_ID = re.compile(r"<[^<>\s]+>")
EMPTY_BODY = "(no text in the email; the original message is attached)"
TRUNCATED = "\n\n[... cut at the length limit; the original message is attached]"


@dataclass
class Outcome:
    """What became of one message: `outcome` is one of OUTCOMES, `detail` one line for the log."""

    outcome: str
    detail: str
    code: str | None = None
    notified: bool = False

    @property
    def rejected(self) -> bool:
        """Refused or over the flood limit: `--maildir` files these in the rejected folder."""
        return self.outcome in ("refused", "flood")


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


# -- deciding -------------------------------------------------------------------------------


def _contact(address: str) -> Contact | None:
    if not address:
        return None
    return Contact.get_or_none(pw.fn.LOWER(Contact.email) == address)


def _author(ticket: Ticket, address: str) -> Principal | None:
    """Who may write to this ticket by email: a contact of its account, or its assignee."""
    contact = _contact(address)
    if contact is not None and contact.account_id == ticket.account_id:
        return Principal(contact=contact)
    if ticket.assignee_id and address:
        agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == address, Agent.active == True)
        if agent is not None and agent.id == ticket.assignee_id:
            return Principal(agent=agent)
    return None


def find_ticket(incoming: Incoming, conf: settings.Settings) -> tuple[Ticket | None, bool, bool]:
    """(ticket, named, proven): `named` when the message names a ticket at all (a code in the
    subject or a thread id, even of no ticket); `proven` when it answers a Message-ID tix
    generated (random, so knowing it proves the sender received that email)."""
    sent_ids = incoming.references + incoming.embedded_ids
    if sent_ids:
        row = (
            Outbox.select(Outbox.ticket)
            .where(Outbox.message_id.in_(sent_ids), Outbox.ticket.is_null(False))
            .first()
        )
        if row is not None:
            return Ticket.get_by_id(row.ticket_id), True, True
    thread = re.compile(rf"<ticket-([0-9A-Za-z-]{{8,9}})@{re.escape(conf.mail_domain)}>", re.I)
    named = []
    for ref in incoming.references:
        match = thread.fullmatch(ref)
        if match:
            named.append(match[1])
    named += SUBJECT_CODE.findall(incoming.subject)
    for typed in named:
        code = codes.normalize(typed)
        if code:
            return Ticket.get_or_none(Ticket.code == code), True, False
    return None, bool(named), False


def _department_for(incoming: Incoming) -> Department | None:
    for dept in Department.select().where(Department.email.is_null(False)).order_by(Department.id):
        if dept.email.strip().lower() in incoming.recipients:
            return dept
    return None


def _own_addresses(conf: settings.Settings) -> set[str]:
    own = {parseaddr(conf.mail_from)[1].lower()}
    own.update(
        d.email.strip().lower()
        for d in Department.select(Department.email).where(Department.email.is_null(False))
    )
    return own


def _record(
    incoming: Incoming, outcome: str, *, ticket: Ticket | None = None, notified: bool = False
) -> None:
    InboundMail.create(
        message_id=incoming.message_id,
        sender=incoming.sender or "<>",
        received_at=clock.now(),
        outcome=outcome,
        notified=notified,
        ticket=ticket,
    )


def _lock_sender(sender: str) -> None:
    """Serialise messages from one sender so two deliveries at once cannot both pass the flood
    limit (SQLite's BEGIN IMMEDIATE already serialises every writer). On PostgreSQL a row of
    job_locks, which the application role cannot lock (an advisory lock it could), for one of
    65536 buckets of senders; waited for at most TIX_BUSY_TIMEOUT, after which mail-in defers the
    message (exit 75) rather than hang."""
    db = InboundMail._meta.database.obj
    if dialect(db) == "postgresql":
        import hashlib

        from tix.store import busy_timeout_ms

        bucket = hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:4]
        db.execute_sql(f"SET LOCAL lock_timeout = {busy_timeout_ms():d}")
        db.execute_sql(
            "INSERT INTO job_locks (name) VALUES (%s)"
            " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
            (f"mail-in:{bucket}",),
        )


def _window_text(window, lang: str) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return (
            f"{hours} {'horas' if lang == 'es' else 'hours'}"
            if hours != 1
            else ("hora" if lang == "es" else "hour")
        )
    return f"{minutes} {'minutos' if lang == 'es' else 'minutes'}"


def _recipient_for(address: str) -> mail.Recipient:
    contact = _contact(address)
    if contact is not None:
        return mail.Recipient(contact.email, contact.name, contact.lang)
    agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == address)
    if agent is not None:
        return mail.Recipient(agent.email, agent.name, agent.lang)
    return mail.Recipient(address, "", "en")


def _may_notify(
    incoming: Incoming, conf: settings.Settings, limits: settings.MailInSettings
) -> bool:
    """Never answer a robot, a null sender or ourselves; and at most `flood_limit` notices per
    window to one address, so a loop with a robot that does not mark its mail stays bounded."""
    address = incoming.sender
    if incoming.auto_reason or "@" not in address or address in _own_addresses(conf):
        return False
    recent = (
        InboundMail.select()
        .where(
            InboundMail.sender == address,
            InboundMail.notified == True,
            InboundMail.received_at >= clock.now() - limits.flood_window,
        )
        .count()
    )
    return recent < limits.flood_limit


def _refuse(
    incoming: Incoming,
    conf,
    limits,
    *,
    kind: str = "mail-refused",
    outcome="refused",
    detail: str,
    **values,
) -> Outcome:
    """Nothing is filed; the sender is told why (if they may be answered at all)."""
    with transaction():
        _lock_sender(incoming.sender)
        notify = _may_notify(incoming, conf, limits)
        if kind == "mail-flood" and notify:
            # One flood notice per window is enough to explain the silence.
            notify = (
                not InboundMail.select()
                .where(
                    InboundMail.sender == incoming.sender,
                    InboundMail.outcome == "flood",
                    InboundMail.notified == True,
                    InboundMail.received_at >= clock.now() - limits.flood_window,
                )
                .exists()
            )
        if notify:
            recipient = _recipient_for(incoming.sender)
            values = dict(
                values,
                sender=incoming.sender,
                original_subject=mail.header_safe(incoming.subject) or "(no subject)",
            )
            if kind == "mail-flood":
                values["window"] = _window_text(limits.flood_window, recipient.lang)
                values["limit"] = limits.flood_limit
            # No `code` and no ticket: the notice must not confirm that any ticket exists.
            mail.queue(kind=kind, recipients=[recipient], values=values, ticket=None, conf=conf)
        _record(incoming, outcome, notified=notify)
    return Outcome(
        outcome, detail + ("; sender notified" if notify else "; not answered"), notified=notify
    )


def _body_for_ticket(text: str, conf: settings.Settings) -> str:
    text = text.strip()
    if not text:
        return EMPTY_BODY
    text = text.replace("\x00", "")
    if len(text) > conf.body_max_chars:
        text = text[: conf.body_max_chars - len(TRUNCATED)] + TRUNCATED
    return text


def _files(incoming: Incoming) -> list[tickets.NewAttachment]:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return mail_attachments(incoming.msg) + [
        tickets.NewAttachment(f"email-{stamp}.eml", incoming.raw, "message/rfc822")
    ]


def _subject_for_ticket(subject: str) -> str:
    cleaned = mail.header_safe(subject, tickets.SUBJECT_MAX)
    return cleaned or "(no subject)"


def handle(
    raw: bytes,
    *,
    conf: settings.Settings | None = None,
    limits: settings.MailInSettings | None = None,
) -> Outcome:
    """File one message; see the module docstring for the rules."""
    conf = conf or settings.load()
    limits = limits or settings.load_mail_in()
    incoming = parse(raw)
    if incoming.message_id:
        if InboundMail.select().where(InboundMail.message_id == incoming.message_id).exists():
            return Outcome("ignored", f"{incoming.message_id} was already handled")
        if Outbox.select().where(Outbox.message_id == incoming.message_id).exists():
            with transaction():
                _record(incoming, "ignored")
            return Outcome("ignored", "one of tix's own emails came back: dropped")
    if incoming.sender in _own_addresses(conf):
        with transaction():
            _record(incoming, "ignored")
        return Outcome("ignored", f"mail from tix's own address {incoming.sender}: dropped")

    ticket, named, proven = find_ticket(incoming, conf)
    if incoming.auto_reason:
        return _automatic(incoming, ticket, proven)
    author = _author(ticket, incoming.sender) if ticket is not None else None
    if author is not None:
        return _reply(incoming, ticket, author, conf, limits)
    # A ticket named that this sender may not write to reads exactly like one that does not
    # exist: both fall through to the department route, and are refused outside it.
    dept = _department_for(incoming)
    contact = _contact(incoming.sender)
    if dept is None or contact is None:
        if named or ticket is not None:
            why = "may not write to the ticket it names (or there is none)"
        elif dept is not None:
            why = "is not a contact"
        else:
            why = "names no ticket and wrote to no department address"
        return _refuse(incoming, conf, limits, detail=f"{incoming.sender or '<>'} {why}")
    return _create(incoming, dept, contact, conf, limits)


def _automatic(incoming: Incoming, ticket: Ticket | None, proven: bool) -> Outcome:
    """Logged on the ticket when it is about one the sender may write to (or answers an email
    tix sent, as a bounce does); otherwise dropped. Never answered either way."""
    author = _author(ticket, incoming.sender) if ticket is not None else None
    if ticket is None or not (proven or author):
        with transaction():
            _record(incoming, "ignored")
        return Outcome(
            "ignored",
            f"automatic message ({incoming.auto_reason}) about no ticket "
            "of its sender: dropped, not answered",
        )
    actor = author.actor if author else f"mail:{incoming.sender or '<>'}"
    with transaction():
        tickets.log_auto_reply(
            ticket,
            actor=actor,
            sender=incoming.sender or "<>",
            subject=incoming.subject,
            reason=incoming.auto_reason,
            message_id=incoming.message_id,
        )
        _record(incoming, "auto-reply", ticket=ticket)
    return Outcome(
        "auto-reply",
        f"automatic message ({incoming.auto_reason}) logged on {ticket.code}; nothing changed",
        code=ticket.code,
    )


def _reply(incoming, ticket, author, conf, limits) -> Outcome:
    body = _body_for_ticket(trim_reply(body_text(incoming.msg)), conf)
    try:
        with transaction():
            message = tickets.reply(author, ticket, body, attachments=_files(incoming), conf=conf)
            _record(incoming, "reply", ticket=message.ticket_id)
    except (InvalidInput, NotAllowed) as exc:
        # The sender may write to this ticket, so telling them why is no leak.
        return _refuse(
            incoming,
            conf,
            limits,
            kind="mail-not-filed",
            reason=str(exc),
            detail=f"reply to {ticket.code} not filed: {exc}",
        )
    except pw.IntegrityError:
        return Outcome("ignored", f"{incoming.message_id} was already handled")
    code = Ticket.get_by_id(message.ticket_id).code
    return Outcome("reply", f"reply from {incoming.sender} filed on {code}", code=code)


def _create(incoming, dept, contact, conf, limits) -> Outcome:
    from tix import checks

    principal = Principal(contact=contact)
    subject = _subject_for_ticket(incoming.subject)
    text = body_text(incoming.msg)
    text = trim_signature(text) if _FORWARD.match(incoming.subject) else trim_reply(text)
    body = _body_for_ticket(text, conf)
    review = checks.review(
        principal, department=dept.slug, priority="medium", subject=subject, body=body
    )
    try:
        with transaction():
            _lock_sender(incoming.sender)
            opened = (
                InboundMail.select()
                .where(
                    InboundMail.sender == incoming.sender,
                    InboundMail.outcome == "created",
                    InboundMail.received_at >= clock.now() - limits.flood_window,
                )
                .count()
            )
            if opened >= limits.flood_limit:
                raise _Flood()
            ticket = tickets.create(
                principal,
                department=dept.slug,
                priority="medium",
                subject=subject,
                body=body,
                attachments=_files(incoming),
                conf=conf,
                assistant_note=review.note(),
            )
            _record(incoming, "created", ticket=ticket)
    except _Flood:
        return _refuse(
            incoming,
            conf,
            limits,
            kind="mail-flood",
            outcome="flood",
            detail=f"{incoming.sender} opened {limits.flood_limit} tickets in "
            f"{_window_text(limits.flood_window, 'en')}: not filed",
        )
    except InvalidInput as exc:
        return _refuse(
            incoming,
            conf,
            limits,
            kind="mail-not-filed",
            reason=str(exc),
            detail=f"new ticket not filed: {exc}",
        )
    except pw.IntegrityError:
        return Outcome("ignored", f"{incoming.message_id} was already handled")
    return Outcome(
        "created", f"{incoming.sender} opened {ticket.code} in {dept.slug}", code=ticket.code
    )


class _Flood(Exception):
    """Raised inside the transaction to roll it back when the sender is over the limit."""
