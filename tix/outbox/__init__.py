"""The outbox as a work queue: claiming rows, recording each delivery, listing and requeueing.

A row's life: `pending` -> `sending` (claimed by one run, under a lease) -> `sent`; or
`failed` (a temporary failure: retried after an exponential backoff), `dead` (refused, not sendable,
or still failing once older than TIX_OUTBOX_LIFETIME) or `uncertain` (the server may have it: never resent without `retry`).

Exactly-once rests on compare-and-sets on `claimed_by`: the claim of a batch (FOR UPDATE
SKIP LOCKED on PostgreSQL, the write lock of an immediate transaction on SQLite), `start` just
before each message is handed over, and its outcome. A message accepted by the server has its
`sent` written together with the next message's `start` on the same SMTP connection (one write
per message; the dispatcher commits the writes of all its connections together).
A run that dies leaves its rows leased; once the lease expires the rows it never started are
claimed again and the one each of its connections was handing over becomes `uncertain`.
"""

from typing import TYPE_CHECKING

from tix import lazy

# name -> the module that defines it. Each module is imported when one of its names is first
# used: a ticket's change queues mail without loading the claims and leases of delivery.
_HOMES = {
    "REMINDER_CANCELLED": "tix.outbox.attention",
    "cancel_pending_reminders": "tix.outbox.attention",
    "listing": "tix.outbox.attention",
    "retry": "tix.outbox.attention",
    "retry_all_dead": "tix.outbox.attention",
    "retry_all_uncertain": "tix.outbox.attention",
    "Claimed": "tix.outbox.delivery",
    "Delivered": "tix.outbox.delivery",
    "arms_a_close": "tix.outbox.delivery",
    "claim": "tix.outbox.delivery",
    "count_due": "tix.outbox.delivery",
    "due": "tix.outbox.delivery",
    "expire_leases": "tix.outbox.delivery",
    "record": "tix.outbox.delivery",
    "record_delivered": "tix.outbox.delivery",
    "release_unstarted": "tix.outbox.delivery",
    "renew_lease": "tix.outbox.delivery",
    "start": "tix.outbox.delivery",
    "start_many": "tix.outbox.delivery",
    "ATTENTION": "tix.outbox.states",
    "CLAIMABLE": "tix.outbox.states",
    "LIST_STATUSES": "tix.outbox.states",
    "RETRYABLE": "tix.outbox.states",
    "SENT": "tix.outbox.states",
    "STATUSES": "tix.outbox.states",
    "WORKER": "tix.outbox.states",
    "Outcome": "tix.outbox.states",
    "backoff": "tix.outbox.states",
}

__all__ = sorted(_HOMES)


__getattr__, __dir__ = lazy.names_from(__name__, _HOMES)


if TYPE_CHECKING:  # what type checkers and readers see; at run time, __getattr__ above
    from tix.outbox.attention import (
        REMINDER_CANCELLED,
        cancel_pending_reminders,
        listing,
        retry,
        retry_all_dead,
        retry_all_uncertain,
    )
    from tix.outbox.delivery import (
        Claimed,
        Delivered,
        arms_a_close,
        claim,
        count_due,
        due,
        expire_leases,
        record,
        record_delivered,
        release_unstarted,
        renew_lease,
        start,
        start_many,
    )
    from tix.outbox.states import (
        ATTENTION,
        CLAIMABLE,
        LIST_STATUSES,
        RETRYABLE,
        SENT,
        STATUSES,
        WORKER,
        Outcome,
        backoff,
    )
