"""The outbox's states and what each allows; how long a failed message waits before its retry."""

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

import peewee as pw

from tix.models import Outbox

# Every status a row can have, in the order of its life.
STATUSES = ("pending", "sending", "sent", "failed", "dead", "uncertain", "cancelled")
CLAIMABLE = ("pending", "failed")


# The rows runs hold, written out rather than bound: the only way SQLite can read them through
# the partial index outbox_leases (WHERE status = 'sending') instead of the whole outbox.
SENDING = pw.SQL("outbox.status = 'sending'")


# The same for the rows outbox_attention holds (migration 0007).
ATTENTION_ROWS = pw.SQL("outbox.status IN ('failed', 'dead', 'uncertain', 'cancelled')")


RETRYABLE = ("failed", "dead", "uncertain")


# cancelled: a reminder whose wait ended before it was sent (migration 0007); never sent.
ATTENTION = ("failed", "dead", "uncertain", "cancelled")  # what outbox_attention holds (0007)


LIST_STATUSES = STATUSES  # what `tix-jobs outbox --status` takes


BACKOFF_FIRST = timedelta(minutes=15)


BACKOFF_MAX = timedelta(hours=24)


ERROR_MAX = 500


# Who holds a claim: unique per process run, readable in `tix-jobs outbox`.
WORKER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to: sent, retry (temporary), dead, or uncertain."""

    status: str
    error: str | None = None


SENT = Outcome("sent")


def backoff(attempts: int) -> timedelta:
    """15 min after the first failure, doubling, at most a day: 8 attempts span about 32 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def outbox_db():
    return Outbox._meta.database.obj
