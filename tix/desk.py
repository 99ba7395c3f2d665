"""The agents' desk: canned replies, watchers and full-text search.

State changes of a ticket (claim, merge, escalation) live in tix/tickets.py with the rest of the
lifecycle; this module holds what is around them.
"""

import re
import string

import peewee as pw

from tix import clock
from tix.admin import check_lang, check_slug
from tix.auth import Principal
from tix.errors import InvalidInput, NotAllowed, NotFound
from tix.models import Message, ReplyTemplate, Service, Ticket, Watcher
from tix.store import is_postgres, transaction

# -- canned replies ---------------------------------------------------------------------------

PLACEHOLDERS = {
    "customer": "the customer's name (the contact who opened the ticket)",
    "account": "the customer's account name",
    "code": "the ticket code",
    "domain": "the domain or service the ticket is about",
    "agent": "your name",
}
TEMPLATE_MAX = 20_000


def check_template_body(body: str) -> str:
    text = (body or "").strip("\n")
    if not text.strip():
        raise InvalidInput("template body is empty")
    if len(text) > TEMPLATE_MAX:
        raise InvalidInput(f"template body is longer than {TEMPLATE_MAX} characters")
    try:
        fields = [
            name for _, name, spec, conv in string.Formatter().parse(text) if name is not None
        ]
    except ValueError as exc:
        raise InvalidInput(
            f"template body: {exc} (write {{{{ and }}}} for literal braces)"
        ) from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise InvalidInput(
                f"unknown placeholder {{{name}}}: use "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )
    return text


def add_template(principal: Principal, name: str, lang: str, body: str) -> ReplyTemplate:
    principal.require_agent("manage reply templates")
    name, lang, body = (
        check_slug(name, "template name"),
        check_lang(lang),
        check_template_body(body),
    )
    with transaction():
        if (
            ReplyTemplate.select()
            .where(ReplyTemplate.name == name, ReplyTemplate.lang == lang)
            .exists()
        ):
            raise InvalidInput(
                f"template {name!r} ({lang}) already exists: use `tix template edit`"
            )
        now = clock.now()
        return ReplyTemplate.create(
            name=name,
            lang=lang,
            body=body,
            created_at=now,
            updated_at=now,
            updated_by=principal.email,
        )


def get_template(principal: Principal, name: str, lang: str) -> ReplyTemplate:
    principal.require_agent("read reply templates")
    row = ReplyTemplate.get_or_none(
        ReplyTemplate.name == (name or "").strip().lower(), ReplyTemplate.lang == lang
    )
    if row is None:
        raise NotFound(f"no template {name!r} in {lang}")
    return row


def edit_template(principal: Principal, name: str, lang: str, body: str) -> ReplyTemplate:
    principal.require_agent("manage reply templates")
    body = check_template_body(body)
    with transaction():
        row = get_template(principal, name, check_lang(lang))
        if row.body == body:
            raise NotAllowed(f"template {row.name} ({lang}) already says that")
        ReplyTemplate.update(body=body, updated_at=clock.now(), updated_by=principal.email).where(
            ReplyTemplate.id == row.id
        ).execute()
    return ReplyTemplate.get_by_id(row.id)


def list_templates(principal: Principal, lang: str | None = None) -> list[ReplyTemplate]:
    principal.require_agent("read reply templates")
    query = ReplyTemplate.select().order_by(ReplyTemplate.name, ReplyTemplate.lang)
    if lang:
        query = query.where(ReplyTemplate.lang == check_lang(lang))
    return list(query)


def _ticket_domain(ticket: Ticket) -> str | None:
    if ticket.service_id:
        return Service.get_by_id(ticket.service_id).name
    # No service named on the ticket: the account's only domain, if it has exactly one.
    domains = list(
        Service.select(Service.name)
        .where(Service.account == ticket.account_id, Service.kind == "domain")
        .limit(2)
    )
    return domains[0].name if len(domains) == 1 else None


def template_reply(principal: Principal, ticket: Ticket, name: str) -> str:
    """The body of a canned reply for this ticket, in its customer's language (the English
    template when there is none in that language), with the placeholders filled in."""
    principal.require_agent("reply with a template")
    contact = ticket.contact
    row = ReplyTemplate.get_or_none(
        ReplyTemplate.name == (name or "").strip().lower(), ReplyTemplate.lang == contact.lang
    ) or ReplyTemplate.get_or_none(
        ReplyTemplate.name == (name or "").strip().lower(), ReplyTemplate.lang == "en"
    )
    if row is None:
        tried = "en" if contact.lang == "en" else f"{contact.lang} (the customer's language) or en"
        raise NotFound(f"no template {name!r} in {tried}")
    values = {
        "customer": contact.name,
        "account": ticket.account.name,
        "code": ticket.code,
        "agent": principal.name,
        "domain": _ticket_domain(ticket),
    }
    used = {field for _, field, _, _ in string.Formatter().parse(row.body) if field}
    if "domain" in used and values["domain"] is None:
        # Better refuse than send "your domain  is..." to a customer.
        raise InvalidInput(
            f"template {row.name} uses {{domain}} but ticket {ticket.code} names no "
            "service and its account has no single domain: write the reply with -m"
        )
    return row.body.format_map(values)


# -- watchers ---------------------------------------------------------------------------------


def watch(principal: Principal, ticket: Ticket) -> None:
    principal.require_agent("watch tickets")
    with transaction():
        if (
            Watcher.select()
            .where(Watcher.ticket == ticket.id, Watcher.agent == principal.agent.id)
            .exists()
        ):
            raise NotAllowed(f"you already watch {ticket.code}")
        Watcher.insert(ticket=ticket.id, agent=principal.agent.id, created_at=clock.now()).execute()


def unwatch(principal: Principal, ticket: Ticket) -> None:
    principal.require_agent("watch tickets")
    with transaction():
        removed = (
            Watcher.delete()
            .where(Watcher.ticket == ticket.id, Watcher.agent == principal.agent.id)
            .execute()
        )
    if not removed:
        raise NotAllowed(f"you do not watch {ticket.code}")


def watchers_of(ticket: Ticket) -> list[str]:
    from tix.models import Agent

    return [
        a.email
        for a in Agent.select(Agent.email)
        .join(Watcher, on=(Watcher.agent == Agent.id))
        .where(Watcher.ticket == ticket.id)
        .order_by(Agent.email)
    ]


# -- full-text search -------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def search_terms(text: str) -> list[str]:
    """The words of a search: every one must appear (in the subject or in one message)."""
    terms = _WORD.findall((text or "").lower())
    if not terms:
        raise InvalidInput("search text has no words to look for")
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"search text has more than {MAX_TERMS} words")
    return terms


FEW_MATCHES = 1000


def _few_matches(query: str) -> bool:
    """Whether the words match fewer than FEW_MATCHES subjects and as few messages. Each count
    stops at FEW_MATCHES, so it costs little however common the words are. `query` is an FTS5
    query on SQLite, the words themselves on PostgreSQL."""
    db = Ticket._meta.database
    if not is_postgres(db.obj):
        counts = [
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)"
            for table in ("tickets_fts", "messages_fts")
        ]
    else:
        counts = [
            f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE to_tsvector('simple', {column})"
            " @@ plainto_tsquery('simple', %s) LIMIT %s) AS hits"
            for table, column in (("tickets", "subject"), ("messages", "body"))
        ]
    for sql in counts:
        (count,) = db.execute_sql(sql, (query, FEW_MATCHES)).fetchone()
        if count >= FEW_MATCHES:
            return False
    return True


def search_condition(principal: Principal, text: str):
    """A condition on Ticket: the subject, or one message body the principal may read, holds
    every word of `text`. Customers never match on internal notes.

    Rare words (fewer than FEW_MATCHES hits) are looked up and their few tickets fetched; common
    words are only tested while the listing walks tickets in display order and stops at --limit.
    Either plan alone is slow on the other case at 1M tickets (seconds rather than milliseconds).
    """
    terms = search_terms(text)
    messages = Message.select(Message.ticket)
    if not principal.agent:
        messages = messages.where(Message.internal == False)
    if not is_postgres():
        # Each word quoted as an FTS5 string, so nothing the user types is query syntax.
        fts_query = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        subject_hits = pw.SQL(
            "(SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)", [fts_query]
        )
        messages = messages.where(
            Message.id.in_(
                pw.SQL("(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [fts_query])
            )
        )
        ticket_id = Ticket.id
        if not _few_matches(fts_query):
            # `+id`: the matches are only tested, never used to find the tickets, so SQLite
            # walks tickets in the order it prints them (tickets_live, the account's index,
            # tickets_all_order of migration 0008) instead of fetching and sorting every match.
            ticket_id = pw.NodeList((pw.SQL("+"), Ticket.id), glue="")
        return ticket_id.in_(subject_hits) | ticket_id.in_(messages)
    # PostgreSQL: the same expressions as the GIN indexes of migration 0006, so they serve.
    words = " ".join(terms)
    ts_query = pw.fn.plainto_tsquery(pw.SQL("'simple'"), words)

    def matches(column):
        return pw.Expression(pw.fn.to_tsvector(pw.SQL("'simple'"), column), "@@", ts_query)

    messages = messages.where(matches(Message.body))
    if _few_matches(words):
        # One semi-join over both index lookups, so the planner starts from the few matches
        # (with `subject @@ q OR id IN (...)` it can only walk: 1.6 s for a rare word, --all, 1M).
        matched = Ticket.alias("matched")
        return Ticket.id.in_(matched.select(matched.id).where(matches(matched.subject)) | messages)
    return matches(Ticket.subject) | Ticket.id.in_(messages)
