"""The emails customers' commands asked for (PostgreSQL, application role; migration 0010).

A customer's session never writes the outbox: the database records a request only for a change
that session made in the same transaction (tix_request_mail). tix-jobs, with every row in view,
renders each request here exactly as the lifecycle would have queued it: tix's recipients for
the kind, tix's templates, the ticket as it is and the message the email quotes.
"""

from tix import clock, mail, settings, tickets
from tix.models import Message, Ticket, database_proxy
from tix.store import dialect, transaction

# Kinds a customer's change sends to the customer's side; the others go to agents.
TO_CUSTOMERS = ("ticket-created", "closed")


def render(conf: settings.Settings) -> int:
    """Queue the emails of every pending request, a batch per transaction; how many requests."""
    db = database_proxy.obj
    if dialect(db) != "postgresql":
        return 0
    done = 0
    while True:
        with transaction():
            # SKIP LOCKED: two runs at once render each request once.
            batch = db.execute_sql(
                "SELECT id, ticket_id, kind, message_id FROM mail_requests"
                " WHERE rendered_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (conf.batch_size,),
            ).fetchall()
            if not batch:
                return done
            for _, ticket_id, kind, message_id in batch:
                ticket = Ticket.get_by_id(ticket_id)
                body = Message.get_by_id(message_id).body if message_id else ""
                recipients = (
                    tickets.customer_recipients(ticket)
                    if kind in TO_CUSTOMERS
                    else tickets.agent_recipients(ticket)
                )
                mail.queue(
                    kind=kind,
                    recipients=recipients,
                    values=tickets.mail_values(ticket, body=body),
                    ticket=ticket,
                    conf=conf,
                )
            db.execute_sql(
                "UPDATE mail_requests SET rendered_at = %s WHERE id = ANY(%s)",
                (clock.now(), [row[0] for row in batch]),
            )
            done += len(batch)
