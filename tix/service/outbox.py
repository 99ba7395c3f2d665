"""The email queue as `tix-jobs outbox` shows and requeues it (cron's door; no principal:
tix-jobs acts as the system)."""

from tix import outbox
from tix.service import shapes

STATUSES = outbox.STATUSES  # what `tix-jobs outbox --status` takes


def rows(status: str | None = None, limit: int | None = None) -> list[dict]:
    return [shapes.outbox_row(row) for row in outbox.listing(status, limit)]


def retry(row_id: int) -> dict:
    row = outbox.retry(row_id)
    return {"id": row.id, "kind": row.kind, "recipient": row.recipient}


def retry_all_dead() -> int:
    return outbox.retry_all_dead()


def retry_all_uncertain() -> int:
    return outbox.retry_all_uncertain()
