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
