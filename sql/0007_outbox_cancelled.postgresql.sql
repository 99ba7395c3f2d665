-- tix-jobs: a reminder still queued when its wait ends (the customer or an agent
-- replied, the ticket was closed, reopened or changed status) is 'cancelled' in the transaction
-- that ended the wait, so the customer never gets a stale "will be closed" email.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN
    ('pending', 'sending', 'sent', 'failed', 'dead', 'uncertain', 'cancelled'));

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
DROP INDEX outbox_due;
