"""Handing messages over exactly once: claims, the durable start mark, outcomes, leases.

The lifecycle's rule for a delivered reminder (it arms the ticket's auto-close) is passed in as
`arm_close` by the dispatcher, so the queue never depends on the lifecycle above it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import peewee as pw

from tix.models import Outbox
from tix.outbox.states import ERROR_MAX, SENDING, SENT, WORKER, Outcome, backoff, outbox_db
from tix.store import is_postgres, transaction

# (ticket_id, reminder_of, delivered_at): the lifecycle's reaction to a delivered reminder.
ArmClose = Callable[[int, object, object], object]


def expire_leases(now) -> tuple[int, int]:
    """Rows whose run stopped (killed, crashed, stalled past its lease): the ones it never began
    to hand over are claimable again; the one it was handing over may have been delivered, so it
    becomes `uncertain` rather than risk a second copy. Returns (released, uncertain)."""
    expired = SENDING & (Outbox.lease_until < now)
    with transaction():
        uncertain = (
            Outbox.update(
                status="uncertain",
                attempts=Outbox.attempts + 1,
                lease_until=None,
                last_error="the run delivering it stopped before the server's answer was recorded; "
                "it may have been delivered (use `tix-jobs outbox retry` to resend)",
            )
            .where(expired & Outbox.attempt_started_at.is_null(False))
            .execute()
        )
        released = (
            Outbox.update(
                status=pw.Case(None, [(Outbox.attempts > 0, "failed")], "pending"),
                claimed_by=None,
                lease_until=None,
            )
            .where(expired & Outbox.attempt_started_at.is_null())
            .execute()
        )
    return released, uncertain


def due(now, limit: int | None = None) -> list[Outbox]:
    """Rows a run would send now (what --dry-run lists): the claimable ones and those of a
    stopped run it would take over. Two queries, each on its partial index (the statuses are
    written out so SQLite can use them), rather than one OR that reads the whole outbox."""
    claimable = (
        Outbox.select()
        .where(pw.SQL("t1.status IN ('pending', 'failed')"), Outbox.next_attempt_at <= now)
        .order_by(Outbox.next_attempt_at, Outbox.id)
    )
    taken_over = Outbox.select().where(
        pw.SQL("t1.status = 'sending'"),
        Outbox.lease_until < now,
        Outbox.attempt_started_at.is_null(),
    )
    if limit:
        claimable = claimable.limit(limit)
    rows = sorted([*claimable, *taken_over], key=lambda row: (row.next_attempt_at, row.id))
    return rows[:limit] if limit else rows


def count_due(now) -> int:
    """How many rows `due` would list (each count read from its partial index)."""
    claimable = Outbox.select().where(
        pw.SQL("t1.status IN ('pending', 'failed')"), Outbox.next_attempt_at <= now
    )
    taken_over = Outbox.select().where(
        pw.SQL("t1.status = 'sending'"),
        Outbox.lease_until < now,
        Outbox.attempt_started_at.is_null(),
    )
    return claimable.count() + taken_over.count()


@dataclass(slots=True)
class Claimed:
    """A claimed row, as much of it as sending needs: read with the claim itself (one
    statement; building models from a query of 100 ids was most of a claim's cost)."""

    id: int
    message_id: str
    ticket_id: int | None
    kind: str
    recipient: str
    raw: str
    attempts: int
    reminder_of: object
    created_at: object
    next_attempt_at: object


_CLAIMED = (
    "id, message_id, ticket_id, kind, recipient, raw, attempts, reminder_of, created_at,"
    " next_attempt_at"
)


def _claimed(row: tuple) -> Claimed:
    values = list(row)
    for i, field in ((7, Outbox.reminder_of), (8, Outbox.created_at), (9, Outbox.next_attempt_at)):
        values[i] = field.python_value(values[i])
    return Claimed(*values)


def claim(now, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due rows for this run; no other run can hold the same rows."""
    until = now + lease
    db = outbox_db()
    with transaction():
        if is_postgres(db):
            # `raw` is read apart, and only when rows were claimed: a role that may not read it
            # (the application role, migration 0013) can still run a claim that finds nothing.
            rows = db.execute_sql(
                "UPDATE outbox SET status = 'sending', claimed_by = %s, lease_until = %s,"
                " attempt_started_at = NULL"
                " WHERE id IN (SELECT id FROM outbox"
                "  WHERE status IN ('pending', 'failed') AND next_attempt_at <= %s"
                "  ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)"
                f" RETURNING {_CLAIMED.replace(' raw,', ' NULL,')}",
                (WORKER, until, now, limit),
            ).fetchall()
            if rows:
                raw = dict(
                    db.execute_sql(
                        "SELECT id, raw FROM outbox WHERE id = ANY(%s)", ([r[0] for r in rows],)
                    ).fetchall()
                )
                rows = [(*r[:5], raw[r[0]], *r[6:]) for r in rows]
        else:
            # Inside BEGIN IMMEDIATE this run holds SQLite's write lock: the claim is atomic.
            # outbox_claimable (0007) holds the claimable rows in this order; without statistics
            # SQLite would rather read outbox_due and sort every pending row for each claim.
            rows = db.execute_sql(
                "UPDATE outbox SET status = 'sending', claimed_by = ?, lease_until = ?,"
                " attempt_started_at = NULL"
                " WHERE id IN (SELECT id FROM outbox INDEXED BY outbox_claimable"
                "  WHERE status IN ('pending', 'failed') AND next_attempt_at <= ?"
                "  ORDER BY next_attempt_at, id LIMIT ?)"
                f" RETURNING {_CLAIMED}",
                (
                    WORKER,
                    Outbox.lease_until.db_value(until),
                    Outbox.next_attempt_at.db_value(now),
                    limit,
                ),
            ).fetchall()
    claimed = [_claimed(row) for row in rows]
    return sorted(claimed, key=lambda row: (row.next_attempt_at, row.id))


@dataclass
class Delivered:
    """A message the server accepted whose `sent` is not written yet: it is written in the
    same transaction as the next message's start on the same connection (see `start`)."""

    row: Outbox
    at: object


def start(
    row: Outbox, now, previous: Delivered | None = None, *, arm_close: ArmClose
) -> tuple[bool, str | None]:
    """Record that a connection is about to hand `row` over, together with the outcome of the
    message it handed over before (`previous`, accepted by the server); inside the caller's
    transaction when a reminder's delivery arms a close, else one statement. Returns (whether
    the row is still this run's, the new status of `previous`). When the row is no longer
    ours (its lease expired and another run took it, or its reminder was cancelled) it must
    not be sent.

    Why one write per message is enough: the marker of message N is durable before its bytes
    leave, so a run killed while sending N leaves N `uncertain`, never sent twice; every
    message its connection sent before N is recorded `sent` by then too. If the run dies
    between a message's acceptance and this write, that message is left started, hence
    `uncertain` (not lost, not resent). Each connection has at most one such message at any
    time, so a kill leaves at most one `uncertain` per connection; the dispatcher commits the
    marks of all its connections together (`start_many`: one commit, one flush, for several
    messages)."""
    if previous is not None and arms_a_close(previous.row):
        previous_status = _record(previous.row, SENT, previous.at, None, arm_close)
        return _mark_started(row, now), previous_status
    changed = start_many([(row, previous)], now)
    return row.id in changed, ("sent" if previous and previous.row.id in changed else None)


def start_many(marks: list[tuple[Outbox, "Delivered | None"]], now) -> set[int]:
    """The start marks of several connections' next rows, each with the `sent` of the message
    that connection handed over before (none of which arms a close: see `start`), in ONE
    statement; returns the ids it changed (a row missing is no longer ours; a previous one
    missing was taken over). Every SET expression reads the row as it was, and the WHERE keeps
    each part a compare-and-set of its own."""
    db = outbox_db()
    p = db.param
    sent = [(prev.row.id, prev.at) for _, prev in marks if prev is not None]
    new = [row.id for row, _ in marks]
    params: list = []
    if sent:
        ids = ", ".join([p] * len(sent))
        when = " ".join(f"WHEN {p} THEN {p}" for _ in sent)
        sql = (
            f"UPDATE outbox SET attempts = attempts + (CASE WHEN id IN ({ids}) THEN 1 ELSE 0 END),"
            f" sent_at = CASE id {when} ELSE sent_at END,"
            f" status = CASE WHEN id IN ({ids}) THEN 'sent' ELSE status END,"
            f" lease_until = CASE WHEN id IN ({ids}) THEN NULL ELSE lease_until END,"
            f" last_error = CASE WHEN id IN ({ids}) THEN NULL ELSE last_error END,"
            f" attempt_started_at = CASE WHEN id IN ({ids}) THEN NULL ELSE {p} END"
            # Every id once more, alone: the rows are found by primary key (with only the OR,
            # PostgreSQL read its `new` half through outbox_leases: every row the run holds).
            f" WHERE claimed_by = {p} AND id IN ({', '.join([p] * (len(sent) + len(new)))})"
            f" AND ((id IN ({ids}) AND status IN ('sending', 'uncertain'))"
            f"  OR (id IN ({', '.join([p] * len(new))}) AND status = 'sending'))"
            " RETURNING id"
        )
        sent_ids = [i for i, _ in sent]
        params = [*sent_ids]
        for i, at in sent:
            params += [i, Outbox.sent_at.db_value(at)]
        params += sent_ids * 3 + sent_ids + [Outbox.attempt_started_at.db_value(now), WORKER]
        params += sent_ids + new + sent_ids + new
    else:
        sql = (
            f"UPDATE outbox SET attempt_started_at = {p} WHERE claimed_by = {p}"
            f" AND id IN ({', '.join([p] * len(new))}) AND status = 'sending' RETURNING id"
        )
        params = [Outbox.attempt_started_at.db_value(now), WORKER, *new]
    return {r[0] for r in db.execute_sql(sql, params).fetchall()}


def renew_lease(now, lease: timedelta) -> None:
    """Keep the rows this run still holds leased to it (inside the caller's transaction)."""
    Outbox.update(lease_until=now + lease).where(SENDING, Outbox.claimed_by == WORKER).execute()


def _mark_started(row: Outbox, now) -> bool:
    return _execute(_MARK_STARTED, (Outbox.attempt_started_at.db_value(now), row.id, WORKER)) == 1


def arms_a_close(row: Outbox) -> bool:
    """A reminder's delivery starts its ticket's auto-close countdown (more writes)."""
    return row.reminder_of is not None and row.ticket_id is not None


def record(
    row: Outbox,
    outcome: Outcome,
    now,
    lifetime: timedelta,
    previous: Delivered | None = None,
    *,
    arm_close: ArmClose,
) -> tuple[str | None, str | None]:
    """Store the outcome of one attempt (and of `previous`, a message accepted before it on
    the same connection), inside the caller's transaction; returns the new status of each
    (None for a row no longer this run's). A delivered reminder arms its ticket's auto-close
    in the same transaction."""
    previous_status = None
    if previous is not None:
        previous_status = _record(previous.row, SENT, previous.at, None, arm_close)
    return _record(row, outcome, now, lifetime, arm_close), previous_status


def record_delivered(previous: Delivered | None, *, arm_close: ArmClose) -> str | None:
    """Write the `sent` of the last accepted message of a connection (nothing follows it),
    inside the caller's transaction."""
    if previous is None:
        return None
    return _record(previous.row, SENT, previous.at, None, arm_close)


# The two writes every message makes, as plain SQL: peewee building them cost more than SQLite
# running them (the dispatcher is measured against a bare smtplib loop, bench scenario 4).
_MARK_STARTED = (
    "UPDATE outbox SET attempt_started_at = {p}"
    " WHERE id = {p} AND claimed_by = {p} AND status = 'sending'"
)


# `uncertain` included: if this run stalled past its lease, another marked the row uncertain;
# the server has now answered, so the truth can still be recorded.
_MARK_SENT = (
    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, lease_until = NULL,"
    " attempt_started_at = NULL, last_error = NULL, sent_at = {p}"
    " WHERE id = {p} AND claimed_by = {p} AND status IN ('sending', 'uncertain')"
)


def _execute(statement: str, params: tuple) -> int:
    db = outbox_db()
    return db.execute_sql(statement.format(p=db.param), params).rowcount


def _record(
    row: Outbox, outcome: Outcome, now, lifetime: timedelta | None, arm_close: ArmClose
) -> str | None:
    if outcome.status == "sent":
        if _execute(_MARK_SENT, (Outbox.sent_at.db_value(now), row.id, WORKER)) != 1:
            return None
        if arms_a_close(row):
            arm_close(row.ticket_id, row.reminder_of, now)
        return "sent"
    attempts = row.attempts + 1
    changes = {
        "attempts": Outbox.attempts + 1,
        "lease_until": None,
        "attempt_started_at": None,
        "last_error": (outcome.error or "")[:ERROR_MAX] or None,
    }
    status = outcome.status
    if status == "retry":
        age = now - row.created_at
        if age >= lifetime:
            # Like an MTA's queue lifetime: a temporary failure past it is final.
            status = "dead"
            changes["last_error"] = (
                f"gave up after {waited(age)} undelivered ({attempts} attempts): {outcome.error}"
            )[:ERROR_MAX]
        else:
            status = "failed"
            changes["next_attempt_at"] = now + backoff(attempts)
    # `uncertain` included, as in _MARK_SENT.
    updated = (
        Outbox.update(status=status, **changes)
        .where(
            Outbox.id == row.id,
            Outbox.claimed_by == WORKER,
            Outbox.status.in_(("sending", "uncertain")),
        )
        .execute()
    )
    return status if updated == 1 else None


def waited(age: timedelta) -> str:
    """A queue age for people: `5d 2h`, `7h`, `45m`."""
    days, hours = divmod(int(age.total_seconds() // 3600), 24)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    return f"{hours}h" if hours else f"{int(age.total_seconds() // 60)}m"


def release_unstarted() -> int:
    """Give back rows this run claimed but will not try (it is stopping on an error)."""
    with transaction():
        return (
            Outbox.update(
                status=pw.Case(None, [(Outbox.attempts > 0, "failed")], "pending"),
                claimed_by=None,
                lease_until=None,
            )
            .where(SENDING, Outbox.claimed_by == WORKER, Outbox.attempt_started_at.is_null())
            .execute()
        )
