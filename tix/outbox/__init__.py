"""The outbox as a work queue: claiming rows, recording each delivery, listing and requeueing.

A row's life: `pending` -> `sending` (claimed by one run, under a lease) -> `sent`; or
`failed` (a temporary failure: retried after an exponential backoff), `dead` (refused, or too
many attempts) or `uncertain` (the server may have it: never resent without `retry`).

Exactly-once rests on compare-and-sets on `claimed_by`: the claim of a batch (FOR UPDATE
SKIP LOCKED on PostgreSQL, the write lock of an immediate transaction on SQLite), `start` just
before each message is handed over, and its outcome. A message accepted by the server has its
`sent` written together with the next message's `start` (one write per message; see `start`).
A run that dies leaves its rows leased; once the lease expires the rows it never started are
claimed again and the one it was handing over becomes `uncertain`.
"""

from tix.outbox.attention import (
    REMINDER_CANCELLED,
    cancel_pending_reminders,
    listing,
    retry,
    retry_all_dead,
)
from tix.outbox.delivery import (
    DISPATCH_FIELDS,
    Delivered,
    claim,
    due,
    expire_leases,
    record,
    record_delivered,
    release_unstarted,
    start,
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
