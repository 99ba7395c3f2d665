"""Building notification emails and queueing them in the outbox.

Each email is rendered once, when queued, with a fixed Message-ID, so a retry sends the very
same bytes and the receiving side can spot a duplicate. Templates are plain text in the
recipient's language; a file `<config>/templates/<kind>.<lang>.txt` overrides the built-in one
(first line `Subject: ...`, then a blank line, then the body).
"""

import re
import unicodedata
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, format_datetime
from datetime import timezone

from tix import clock, settings
from tix.models import Outbox
from tix.store import config_dir

# Kinds whose email is written by a person; every other kind is sent automatically.
HUMAN_KINDS = {"agent-reply"}

TEMPLATES = {
    ("ticket-created", "en"): (
        "We received your ticket: {subject}",
        "Hello {name},\n\nWe received your ticket {code} ({department}, priority {priority}) and "
        "a technician will answer soon.\n\n{body}\n\nReply to this email or run "
        "`tix reply {code}` to add to it.\n",
    ),
    ("ticket-created", "es"): (
        "Hemos recibido su ticket: {subject}",
        "Hola {name}:\n\nHemos recibido su ticket {code} ({department}, prioridad {priority}) y "
        "un técnico le responderá pronto.\n\n{body}\n\nResponda a este correo o ejecute "
        "`tix reply {code}` para añadir información.\n",
    ),
    ("agent-reply", "en"): (
        "{subject}",
        "Hello {name},\n\n{body}\n\n-- \n{author}, {department}\nTicket {code}: reply to this "
        "email to answer.\n",
    ),
    ("agent-reply", "es"): (
        "{subject}",
        "Hola {name}:\n\n{body}\n\n-- \n{author}, {department}\nTicket {code}: responda a este "
        "correo para contestar.\n",
    ),
    ("status-changed", "en"): (
        "{subject}",
        "Hello {name},\n\nYour ticket {code} is now {status}.\n",
    ),
    ("status-changed", "es"): (
        "{subject}",
        "Hola {name}:\n\nSu ticket {code} ahora está {status}.\n",
    ),
    ("closed", "en"): (
        "Closed: {subject}",
        "Hello {name},\n\nYour ticket {code} has been closed. If you still need help, reply to "
        "this email or run `tix reopen {code}` and it will be reopened.\n",
    ),
    ("closed", "es"): (
        "Cerrado: {subject}",
        "Hola {name}:\n\nSu ticket {code} se ha cerrado. Si aún necesita ayuda, responda a este "
        "correo o ejecute `tix reopen {code}` y se reabrirá.\n",
    ),
    ("reopened", "en"): (
        "Reopened: {subject}",
        "Hello {name},\n\nTicket {code} has been reopened.\n\n{body}\n",
    ),
    ("reopened", "es"): (
        "Reabierto: {subject}",
        "Hola {name}:\n\nEl ticket {code} se ha reabierto.\n\n{body}\n",
    ),
    ("reminder", "en"): (
        "Waiting for your answer: {subject}",
        "Hello {name},\n\nWe answered your ticket {code} and are waiting for your reply. Your "
        "ticket {code} will be closed in {close_after} unless you answer; reply to reopen it any "
        "time.\n",
    ),
    ("reminder", "es"): (
        "Esperamos su respuesta: {subject}",
        "Hola {name}:\n\nRespondimos a su ticket {code} y esperamos su respuesta. Su ticket "
        "{code} se cerrará en {close_after} si no contesta; responda para reabrirlo cuando "
        "quiera.\n",
    ),
    ("auto-closed", "en"): (
        "Closed: {subject}",
        "Hello {name},\n\nWe closed your ticket {code} because we did not hear back from you. "
        "Reply to this email or run `tix reopen {code}` to reopen it any time.\n",
    ),
    ("auto-closed", "es"): (
        "Cerrado: {subject}",
        "Hola {name}:\n\nHemos cerrado su ticket {code} porque no recibimos respuesta. Responda "
        "a este correo o ejecute `tix reopen {code}` para reabrirlo cuando quiera.\n",
    ),
    # Notices to agents.
    ("agent-new-ticket", "en"): (
        "New {priority} ticket: {subject}",
        "{customer} opened {code} in {department} (priority {priority}).\n\n{body}\n",
    ),
    ("agent-new-ticket", "es"): (
        "Nuevo ticket {priority}: {subject}",
        "{customer} abrió {code} en {department} (prioridad {priority}).\n\n{body}\n",
    ),
    ("agent-customer-reply", "en"): (
        "Customer replied: {subject}",
        "{customer} replied on {code}.\n\n{body}\n",
    ),
    ("agent-customer-reply", "es"): (
        "Respuesta del cliente: {subject}",
        "{customer} respondió en {code}.\n\n{body}\n",
    ),
    ("agent-assigned", "en"): (
        "Assigned to you: {subject}",
        "Ticket {code} ({department}, priority {priority}) is now yours.\n",
    ),
    ("agent-assigned", "es"): (
        "Asignado a usted: {subject}",
        "El ticket {code} ({department}, prioridad {priority}) ahora es suyo.\n",
    ),
}

STATUS_WORDS = {
    "es": {
        "open": "abierto", "answered": "respondido", "customer-reply": "con respuesta del cliente",
        "in-progress": "en curso", "on-hold": "en espera", "closed": "cerrado",
    },
}

# C0/C1 controls, line and paragraph separators, bidi and other format characters: none of
# these belong in a header, and CR/LF would start a new one.
_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


def header_safe(text: str, limit: int = 200) -> str:
    """Text from a ticket made fit for a header: one line, no control characters, and no
    `=?...?=` sequence a mail client would decode into something else."""
    cleaned = "".join(" " if unicodedata.category(ch) in _UNSAFE else ch for ch in text or "")
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    cleaned = cleaned.replace("=?", "= ?").replace("?=", "? =")
    return cleaned[:limit]


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    lang: str = "en"


def _template(kind: str, lang: str) -> tuple[str, str]:
    override = config_dir() / "templates" / f"{kind}.{lang}.txt"
    if override.is_file():
        text = override.read_text(encoding="utf-8")
        first, _, body = text.partition("\n")
        if first.lower().startswith("subject:"):
            return first.split(":", 1)[1].strip(), body.lstrip("\n")
    return TEMPLATES.get((kind, lang)) or TEMPLATES[(kind, "en")]


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(kind: str, lang: str, values: dict) -> tuple[str, str]:
    subject_tpl, body_tpl = _template(kind, lang)
    values = _Blank(values)
    return subject_tpl.format_map(values), body_tpl.format_map(values)


def thread_id(code: str, domain: str) -> str:
    """The Message-ID every email of a ticket refers to, so clients thread them together."""
    return f"<ticket-{code}@{domain}>"


def build(
    *, kind: str, code: str | None, subject: str, body: str, recipient: Recipient,
    message_id: str, conf: settings.Settings,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = conf.mail_from
    msg["To"] = formataddr((header_safe(recipient.name, 80), recipient.email))
    safe_subject = header_safe(subject)
    msg["Subject"] = f"[{code}] {safe_subject}" if code else safe_subject
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(clock.now().replace(tzinfo=timezone.utc))
    if code:
        root = thread_id(code, conf.mail_domain)
        msg["In-Reply-To"] = root
        msg["References"] = root
        msg["X-Tix-Ticket"] = code
    if kind not in HUMAN_KINDS:
        msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def queue(
    *, kind: str, recipients: list[Recipient], values: dict, ticket=None,
    conf: settings.Settings, reminder_of=None,
) -> list[Outbox]:
    """Render and queue one email per recipient (each in their own language). The caller's
    transaction makes the email part of the state change that caused it."""
    rows = []
    now = clock.now()
    code = values.get("code")
    for recipient in recipients:
        lang_values = dict(values, name=recipient.name)
        if recipient.lang in STATUS_WORDS and "status" in values:
            lang_values["status"] = STATUS_WORDS[recipient.lang].get(values["status"], values["status"])
        subject, body = render(kind, recipient.lang, lang_values)
        message_id = f"<{uuid.uuid4().hex}@{conf.mail_domain}>"
        msg = build(kind=kind, code=code, subject=subject, body=body, recipient=recipient,
                    message_id=message_id, conf=conf)
        rows.append(Outbox.create(
            message_id=message_id, ticket=ticket, kind=kind, recipient=recipient.email,
            subject=str(msg["Subject"]), raw=msg.as_string(), status="pending",
            next_attempt_at=now, reminder_of=reminder_of, created_at=now,
        ))
    return rows
