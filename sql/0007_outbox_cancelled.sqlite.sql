-- tix-jobs: a reminder still queued when its wait ends (the customer or an agent
-- replied, the ticket was closed, reopened or changed status) is 'cancelled' in the transaction
-- that ended the wait, so the customer never gets a stale "will be closed" email.
-- SQLite cannot alter a CHECK constraint: the table is rebuilt with the same columns, in the
-- same order, and its indexes made again (no table refers to outbox, no trigger reads it;
-- outbox_due is not made again, see below).
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    ticket_id INTEGER REFERENCES tickets (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'sending', 'sent', 'failed', 'dead', 'uncertain', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_until DATETIME,
    claimed_by TEXT,
    last_error TEXT,
    reminder_of DATETIME,
    created_at DATETIME NOT NULL,
    sent_at DATETIME,
    attempt_started_at DATETIME
);
INSERT INTO outbox_new (id, message_id, ticket_id, kind, recipient, subject, raw, status, attempts,
                        next_attempt_at, lease_until, claimed_by, last_error, reminder_of,
                        created_at, sent_at, attempt_started_at)
    SELECT id, message_id, ticket_id, kind, recipient, subject, raw, status, attempts,
           next_attempt_at, lease_until, claimed_by, last_error, reminder_of, created_at, sent_at,
           attempt_started_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_ticket ON outbox (ticket_id);
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE status = 'sending';

-- The outbox's indexes, for a dispatcher that writes once per message. Every write
-- that moves a row from `sending` to `sent` also rewrites each index on `status`, and on a
-- loaded machine that index upkeep was most of the cost of a message. So:
-- * claims read outbox_claimable: the claimable rows only, already in claiming order (the
--   claim no longer sorts every pending row, which outbox_due made it do, for each 100 rows);
-- * `tix-jobs outbox --status` for the statuses that need a person reads outbox_attention;
--   the common ones (pending, sending, sent) are the newest rows, found walking back by id;
-- * outbox_due, which every one of those writes kept up to date, goes.
CREATE INDEX outbox_claimable ON outbox (next_attempt_at, id) WHERE status IN ('pending', 'failed');
CREATE INDEX outbox_attention ON outbox (status, id)
    WHERE status IN ('failed', 'dead', 'uncertain', 'cancelled');
