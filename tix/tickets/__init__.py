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

Each module is imported when one of its names is first used (`tix.tickets.list_tickets` loads
reading and rules, not the lifecycle's writers and their mail and outbox): a reading command
starts without them.
"""

from typing import TYPE_CHECKING

from tix import lazy

# name -> the module that defines it
_HOMES = {
    "log_fix": "tix.tickets.checked",
    "record_diagnosis": "tix.tickets.checked",
    "save_diagnosis": "tix.tickets.checked",
    "department_slugs": "tix.tickets.reading",
    "open_codes": "tix.tickets.reading",
    "agent_recipient": "tix.tickets.recipients",
    "contact_recipient": "tix.tickets.recipients",
    "check_reply": "tix.tickets.rules",
    "REMINDER_CANCELLED": "tix.outbox",
    "cancel_pending_reminders": "tix.outbox",
    "claim_next": "tix.tickets.agents",
    "escalate": "tix.tickets.agents",
    "merge": "tix.tickets.agents",
    "autoclose": "tix.tickets.batch",
    "autoclose_batch": "tix.tickets.batch",
    "due_for_autoclose": "tix.tickets.batch",
    "due_for_reminder": "tix.tickets.batch",
    "remind": "tix.tickets.batch",
    "remind_batch": "tix.tickets.batch",
    "reminder_delivered": "tix.tickets.batch",
    "NewTicket": "tix.tickets.creating",
    "create": "tix.tickets.creating",
    "prepare": "tix.tickets.creating",
    "account_for": "tix.tickets.reading",
    "attachments_of": "tix.tickets.reading",
    "department_by_slug": "tix.tickets.reading",
    "get_attachment": "tix.tickets.reading",
    "get_ticket": "tix.tickets.reading",
    "history": "tix.tickets.reading",
    "list_tickets": "tix.tickets.reading",
    "merged_target": "tix.tickets.reading",
    "thread": "tix.tickets.reading",
    "visible_tickets": "tix.tickets.reading",
    "agent_recipients": "tix.tickets.recipients",
    "customer_recipients": "tix.tickets.recipients",
    "customer_recipients_of": "tix.tickets.recipients",
    "mail_values": "tix.tickets.recipients",
    "mail_values_of": "tix.tickets.recipients",
    "watcher_recipients": "tix.tickets.recipients",
    "AGENT_STATUSES": "tix.tickets.rules",
    "ASSISTANT_ACTOR": "tix.tickets.rules",
    "AWAITING_AGENT": "tix.tickets.rules",
    "CLOCK_CLEARED": "tix.tickets.rules",
    "JOBS_ACTOR": "tix.tickets.rules",
    "SUBJECT_MAX": "tix.tickets.rules",
    "UNCHANGED": "tix.tickets.rules",
    "NewAttachment": "tix.tickets.rules",
    "check_attachments": "tix.tickets.rules",
    "check_priority": "tix.tickets.rules",
    "clean_body": "tix.tickets.rules",
    "clean_subject": "tix.tickets.rules",
    "close_due": "tix.tickets.rules",
    "read_attachment": "tix.tickets.rules",
    "reminder_due": "tix.tickets.rules",
    "wait_text": "tix.tickets.rules",
    "waiting_period_start": "tix.tickets.rules",
    "waiting_period_start_sql": "tix.tickets.rules",
    "close": "tix.tickets.transitions",
    "log_auto_reply": "tix.tickets.transitions",
    "reassign": "tix.tickets.transitions",
    "reopen": "tix.tickets.transitions",
    "reply": "tix.tickets.transitions",
    "set_status": "tix.tickets.transitions",
}

__all__ = sorted(_HOMES)


__getattr__, __dir__ = lazy.names_from(__name__, _HOMES)


if TYPE_CHECKING:  # what type checkers and readers see; at run time, __getattr__ above
    from tix.outbox import (
        REMINDER_CANCELLED,
        cancel_pending_reminders,
    )
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
    from tix.tickets.checked import (
        log_fix,
        record_diagnosis,
        save_diagnosis,
    )
    from tix.tickets.creating import (
        NewTicket,
        create,
        prepare,
    )
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
