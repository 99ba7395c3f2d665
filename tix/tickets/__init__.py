"""The ticket lifecycle: every state change goes through this package.

Each transition is one transaction that changes the ticket, appends its event, and
queues the emails it causes; if any part fails, none of it happens.

    create            -> open
    agent reply       -> answered        (the waiting-on-customer clock starts)
    customer reply    -> customer-reply  (clock and reminder cleared; a closed ticket reopens)
    status (agents)   -> in-progress | on-hold
    close             -> closed          (by agent, customer, or `auto` from tix-jobs)
    reopen            -> open
    internal note     -> no change, never seen by the customer

The package, by what each file holds:
    rules        valid input, statuses, due predicates (one definition of each rule)
    reading      visibility, finding, listing, threads and history
    recipients   who is emailed about a ticket, and the values the templates use
    record       the writes every transition shares (event, attachments, locked re-read)
    creating     NewTicket (validated once) and create
    checked      the account check's results and fixes on a ticket
    transitions  reply, note, close, reopen, status, reassign, auto-replies
    agents       claim_next, merge, escalate
    batch        the hourly job's reminders and auto-closes, a batch per transaction
"""

from tix.outbox import REMINDER_CANCELLED, cancel_pending_reminders
from tix.tickets.agents import (
    claim_next,
    escalate,
    merge,
)
from tix.tickets.batch import (
    autoclose,
    autoclose_batch,
    due_for_autoclose,
    due_for_reminder,
    remind,
    remind_batch,
    reminder_delivered,
)
from tix.tickets.checked import log_fix, record_diagnosis, save_diagnosis
from tix.tickets.creating import NewTicket, create, prepare
from tix.tickets.reading import (
    account_for,
    attachments_of,
    department_by_slug,
    department_slugs,
    get_attachment,
    get_ticket,
    history,
    list_tickets,
    merged_target,
    open_codes,
    thread,
    visible_tickets,
)
from tix.tickets.recipients import (
    agent_recipient,
    agent_recipients,
    contact_recipient,
    customer_recipients,
    customer_recipients_of,
    mail_values,
    mail_values_of,
    watcher_recipients,
)
from tix.tickets.rules import (
    AGENT_STATUSES,
    ASSISTANT_ACTOR,
    AWAITING_AGENT,
    CLOCK_CLEARED,
    JOBS_ACTOR,
    SUBJECT_MAX,
    UNCHANGED,
    NewAttachment,
    check_attachments,
    check_priority,
    check_reply,
    clean_body,
    clean_subject,
    close_due,
    read_attachment,
    reminder_due,
    wait_text,
    waiting_period_start,
    waiting_period_start_sql,
)
from tix.tickets.transitions import (
    close,
    log_auto_reply,
    reassign,
    reopen,
    reply,
    set_status,
)
