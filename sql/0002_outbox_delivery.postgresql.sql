-- tix-jobs: when the current delivery attempt of an outbox row began to hand the
-- message to the mail server. A row whose lease expires while this is set may already have been
-- delivered, so it becomes 'uncertain' (resent only by `tix-jobs outbox retry`) instead of being
-- sent twice; a row claimed but never started is simply claimed again.
ALTER TABLE outbox ADD COLUMN attempt_started_at TIMESTAMP;

-- Expired leases are looked up on every dispatch run.
CREATE INDEX outbox_leases ON outbox (lease_until) WHERE status = 'sending';
