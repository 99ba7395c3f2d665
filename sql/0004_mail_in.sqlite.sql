-- Email in: one row per message `tix-jobs mail-in` handled. The unique Message-ID makes
-- a redelivered message (MTA retry, Maildir re-run) a no-op; (sender, received_at) answers the
-- flood limit ("how many tickets did this address open in the last 15 minutes?") and the cap
-- on refusal notices sent to one address.
CREATE TABLE inbound_mail (
    id INTEGER PRIMARY KEY,
    message_id TEXT UNIQUE,
    sender TEXT NOT NULL,
    received_at DATETIME NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN
        ('reply', 'created', 'auto-reply', 'refused', 'flood', 'ignored')),
    notified INTEGER NOT NULL DEFAULT 0,
    ticket_id INTEGER REFERENCES tickets (id)
);
CREATE INDEX inbound_mail_sender ON inbound_mail (sender, received_at);
