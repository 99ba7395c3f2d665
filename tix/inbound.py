"""Email in: what `tix-jobs mail-in` does with one RFC 5322 message.

    a reply ([CODE] in the subject, or In-Reply-To/References naming a message tix sent)
        from a contact of the ticket's account or its assigned agent -> tickets.reply
    a new message to a department address from a known contact      -> tickets.create
    an automatic message (out-of-office, bounce, list)               -> an event, nothing else
    a reply or new ticket nothing proves is from its From           -> held (tix/held.py)
    an answer to "did you send this?" (its reply key)               -> the held message filed
    anything else                                                    -> refused, with a notice

Who sent a message is proven by a reply key or our MTA's DMARC/DKIM verdict, never by its From
header alone: tix/mailtrust.py decides. Each outcome is one transaction together with its row
in `inbound_mail`, whose unique Message-ID makes a redelivered message a no-op. "No such
ticket" and "not your ticket" are refused with the very same notice, which never names a
ticket. The lifecycle rules themselves (reopening a closed ticket, the emails a reply causes)
are tix/tickets.py's, not repeated here.
"""

from dataclasses import dataclass
from email.utils import parseaddr

import peewee as pw

from tix import clock, held, mail, mailsettings, replykeys, settings, tickets
from tix.errors import InvalidInput, NotAllowed
from tix.mailparse import auto_reason, html_to_text  # noqa: F401  (tix.inbound's API)
from tix.mailtext import (
    Incoming,
    body_for_ticket,
    files,
    message_key,
    parse,
    reply_text,
    subject_for_ticket,
    text_for_ticket,
)
from tix.mailtrust import Decision, author_for, contact_for, decide, find_ticket
from tix.models import Agent, Department, InboundMail, Outbox, Ticket
from tix.quotes import trim_reply  # noqa: F401  (tix.inbound's API)
from tix.store import dialect, transaction

OUTCOMES = ("reply", "created", "auto-reply", "held", "refused", "flood", "ignored")


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


# -- recording and answering -----------------------------------------------------------------


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
    contact = contact_for(address)
    if contact is not None:
        return mail.Recipient(contact.email, contact.name, contact.lang)
    agent = Agent.get_or_none(pw.fn.LOWER(Agent.email) == address)
    if agent is not None:
        return mail.Recipient(agent.email, agent.name, agent.lang)
    return mail.Recipient(address, "", "en")


def _may_notify(
    incoming: Incoming, conf: settings.Settings, limits: mailsettings.MailInSettings
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


# -- filing ---------------------------------------------------------------------------------


def handle(
    raw: bytes,
    *,
    conf: settings.Settings | None = None,
    limits: mailsettings.MailInSettings | None = None,
) -> Outcome:
    """File one message; see the module docstring for the rules."""
    conf = conf or settings.load()
    limits = limits or mailsettings.load_mail_in()
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

    if incoming.auto_reason:
        ticket, _, proven = find_ticket(incoming, conf)
        return _automatic(incoming, ticket, proven)
    decision = decide(incoming, conf, limits)
    if decision.key is not None:
        # Proven by its key: it is that person's, wherever it came from; and the copy kept on
        # the ticket (which others read) keeps no key to mail in with.
        incoming.sender = decision.author.email.lower()
        incoming.raw = replykeys.redact(incoming.raw, decision.used_keys)
    if decision.action == "confirm":
        return _confirm(incoming, decision, conf, limits)
    if decision.action == "reply":
        return _reply(incoming, decision, conf, limits)
    if decision.action == "create":
        return _create(incoming, decision, conf, limits)
    if decision.action == "hold":
        return _hold(incoming, decision, conf, limits)
    return _refuse(incoming, conf, limits, detail=f"{incoming.sender or '<>'} {decision.why}")


def _automatic(incoming: Incoming, ticket: Ticket | None, proven: bool) -> Outcome:
    """Logged on the ticket when it is about one the sender may write to (or answers an email
    tix sent, as a bounce does); otherwise dropped. Never answered either way."""
    author = author_for(ticket, incoming.sender) if ticket is not None else None
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


def _reply(incoming: Incoming, decision: Decision, conf, limits, *, answer=None) -> Outcome:
    """File a reply. `answer`: the confirmation that files the decision's held message (and
    `incoming` is that message): the answer is what is recorded and told, and it files once."""
    record, ticket, author = answer or incoming, decision.ticket, decision.author
    body = body_for_ticket(reply_text(incoming, limits, conf), conf)
    try:
        with transaction():
            message = tickets.reply(author, ticket, body, attachments=files(incoming), conf=conf)
            _proven(decision, message.ticket_id)
            _record(record, "reply", ticket=message.ticket_id)
    except (InvalidInput, NotAllowed) as exc:
        # The sender may write to this ticket, so telling them why is no leak.
        return _refuse(
            record,
            conf,
            limits,
            kind="mail-not-filed",
            reason=str(exc),
            detail=f"reply to {ticket.code} not filed: {exc}",
        )
    except (pw.IntegrityError, held.AlreadyFiled):
        return Outcome("ignored", f"{record.message_id} was already handled")
    code = Ticket.get_by_id(message.ticket_id).code
    return Outcome(
        "reply", f"reply from {author.email} filed on {code} ({decision.why})", code=code
    )


def _create(incoming: Incoming, decision: Decision, conf, limits, *, answer=None) -> Outcome:
    from tix import checks
    from tix.service import diagnosis

    record, dept, principal = answer or incoming, decision.department, decision.author
    subject = subject_for_ticket(incoming.subject)
    body = body_for_ticket(text_for_ticket(incoming, limits, conf), conf)
    try:
        new = tickets.prepare(
            principal,
            department=dept.slug,
            priority="medium",
            subject=subject,
            body=body,
            attachments=files(incoming),
            conf=conf,
        )
        review = checks.review(principal, new)
        # The account check, as for `tix create` (never its fixes: no consent by email), run
        # before the sender's lock is taken, and not for a sender already over the flood limit.
        found = (
            None if _opened(record.sender, limits) >= limits.flood_limit else diagnosis.run_for(new)
        )
        note = "\n".join(filter(None, [review.note(), *diagnosis.note_lines(found)])) or None
        with transaction():
            _lock_sender(record.sender)
            if _opened(record.sender, limits) >= limits.flood_limit:
                raise _Flood()
            ticket = tickets.create(principal, new, conf=conf, assistant_note=note, diagnosis=found)
            _proven(decision, ticket.id)
            _record(record, "created", ticket=ticket)
    except _Flood:
        return _refuse(
            record,
            conf,
            limits,
            kind="mail-flood",
            outcome="flood",
            detail=f"{record.sender} opened {limits.flood_limit} tickets in "
            f"{_window_text(limits.flood_window, 'en')}: not filed",
        )
    except InvalidInput as exc:
        return _refuse(
            record,
            conf,
            limits,
            kind="mail-not-filed",
            reason=str(exc),
            detail=f"new ticket not filed: {exc}",
        )
    except (pw.IntegrityError, held.AlreadyFiled):
        return Outcome("ignored", f"{record.message_id} was already handled")
    return Outcome(
        "created", f"{record.sender} opened {ticket.code} in {dept.slug}", code=ticket.code
    )


def _proven(decision: Decision, ticket_id: int) -> None:
    """Within the filing transaction: the key's last use, and a held message filed once."""
    if decision.held is not None:
        held.mark_filed(decision.held, ticket_id)
    if decision.key is not None:
        replykeys.mark_used(decision.key)


def _opened(sender: str, limits) -> int:
    """New tickets this sender opened (or asked to, held) in the flood window."""
    return (
        InboundMail.select()
        .where(
            InboundMail.sender == sender,
            (InboundMail.outcome == "created")
            | ((InboundMail.outcome == "held") & InboundMail.ticket.is_null()),
            InboundMail.received_at >= clock.now() - limits.flood_window,
        )
        .count()
    )


class _Flood(Exception):
    """Raised inside the transaction to roll it back when the sender is over the limit."""


# -- held messages ----------------------------------------------------------------------------


def _hold(incoming: Incoming, decision: Decision, conf, limits) -> Outcome:
    """Kept, not filed; the person it claims to be from is asked, once, whether they sent it."""
    ticket = decision.ticket
    what = f"reply to {ticket.code}" if ticket is not None else "new ticket"
    try:
        with transaction():
            _lock_sender(incoming.sender)
            if ticket is None and _opened(incoming.sender, limits) >= limits.flood_limit:
                raise _Flood()
            notify = _may_notify(incoming, conf, limits)
            row = held.store(incoming, decision, notified=notify)
            if notify:
                held.queue_notice(row, decision.author, conf)
            _record(incoming, "held", ticket=ticket, notified=notify)
    except _Flood:
        return _refuse(
            incoming,
            conf,
            limits,
            kind="mail-flood",
            outcome="flood",
            detail=f"{incoming.sender} asked for {limits.flood_limit} tickets in "
            f"{_window_text(limits.flood_window, 'en')}: not kept",
        )
    except pw.IntegrityError:
        return Outcome("ignored", f"{incoming.message_id} was already handled")
    asked = f"asked {incoming.sender} to confirm" if notify else "not answered"
    return Outcome(
        "held",
        f"{what} from {incoming.sender} held as #{row.id} ({decision.why}); {asked}",
        code=ticket.code if ticket is not None else None,
        notified=notify,
    )


def _confirm(answer: Incoming, decision: Decision, conf, limits) -> Outcome:
    """An answer to "did you send this?": the held message is filed as its person, once."""
    if decision.held.filed_at is not None:
        with transaction():
            _record(answer, "ignored")
        return Outcome("ignored", f"held message #{decision.held.id} was already filed")
    content = parse(bytes(decision.held.raw), limits)
    if decision.ticket is None:
        return _create(content, decision, conf, limits, answer=answer)
    return _reply(content, decision, conf, limits, answer=answer)
