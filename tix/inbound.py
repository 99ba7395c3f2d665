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

import hashlib
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parseaddr

import peewee as pw

from tix import clock, codes, mail, mailparse, settings, tickets
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed
from tix.inbound_limits import lock_sender as _lock_sender
from tix.inbound_limits import window_text as _window_text
from tix.mailparse import auto_reason, html_to_text  # noqa: F401  (tix.inbound's API)
from tix.models import Agent, Contact, Department, InboundMail, Outbox, Ticket
from tix.quotes import footer_patterns, trim_reply, trim_signature
from tix.store import transaction

OUTCOMES = ("reply", "created", "auto-reply", "refused", "flood", "ignored")
# Message-IDs longer than this are recorded as a hash: any length still dedupes.
MESSAGE_ID_STORED_MAX = 255
SUBJECT_CODE = re.compile(r"\[\s*#?([0-9A-Za-z]{4}-?[0-9A-Za-z]{4})\s*\]")
EMPTY_BODY = "(no text in the email; the original message is attached)"
TRUNCATED = "\n\n[... cut at the length limit; the original message is attached]"
_FORWARD = re.compile(r"^\s*(fwd?|rv|reenv)\s*:", re.I)


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
    msg: Message
    sender: str  # the From address, lower case; "" when there is none (or it is not trusted)
    subject: str
    message_id: str | None
    references: list[str]  # ids in In-Reply-To and References
    recipients: set[str]  # To, Cc, Delivered-To, X-Original-To (lower case)
    auto_reason: str | None  # why this is an automatic message, or None
    embedded_ids: list[str] = field(default_factory=list)  # a bounce's copy of what we sent
    parsed: mailparse.ParsedMail | None = None  # everything tix/mailparse read


# -- reading a message (tix/mailparse.py reads; tix/quotes.py trims) --------------------------


def parse(raw: bytes, limits: settings.MailInSettings | None = None) -> Incoming:
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


def _reply_text(incoming: Incoming, limits: settings.MailInSettings | None, conf) -> str:
    footers = footer_patterns(limits.footers) if limits and limits.footers else None
    # Text past twice the body limit would be cut anyway: not worth copying while trimming.
    return trim_reply(incoming.parsed.text[: 2 * conf.body_max_chars], footers)


# -- deciding -------------------------------------------------------------------------------


def _contact(address: str) -> Contact | None:
    """The active contact with this address (a deactivated one writes like a stranger)."""
    if not address:
        return None
    return Contact.get_or_none(pw.fn.LOWER(Contact.email) == address, Contact.active == True)


def _author(ticket: Ticket, address: str) -> Principal | None:
    """Who may write to this ticket by email: a contact who may see it (of its account, or its
    reseller's), or its assignee."""
    contact = _contact(address)
    if contact is not None and Principal(contact=contact).can_see_account(ticket.account_id):
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
        message_id=message_key(incoming.message_id),
        sender=incoming.sender or "<>",
        received_at=clock.now(),
        outcome=outcome,
        notified=notified,
        ticket=ticket,
    )


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
    if incoming.parsed is not None and incoming.parsed.no_notice:
        return False  # spam, list mail, a null sender: a notice would be backscatter
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
    found = [
        tickets.NewAttachment(a.filename, a.data, a.content_type)
        for a in incoming.parsed.attachments
    ]
    return found + [tickets.NewAttachment(f"email-{stamp}.eml", incoming.raw, "message/rfc822")]


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
    incoming = parse(raw, limits)
    if incoming.message_id:
        if (
            InboundMail.select()
            .where(InboundMail.message_id == message_key(incoming.message_id))
            .exists()
        ):
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
    body = _body_for_ticket(_reply_text(incoming, limits, conf), conf)
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
    if _FORWARD.match(incoming.subject):
        text = trim_signature(incoming.parsed.text)
    else:
        text = _reply_text(incoming, limits, conf)
    body = _body_for_ticket(text, conf)
    try:
        new = tickets.prepare(
            principal,
            department=dept.slug,
            priority="medium",
            subject=subject,
            body=body,
            attachments=_files(incoming),
            conf=conf,
        )
        review = checks.review(principal, new)
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
            ticket = tickets.create(principal, new, conf=conf, assistant_note=review.note())
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
