-- Email in that a forger cannot use (docs/mail-in.md, "Who sent it").
--
-- reply_keys: each notification carries a random key for its one recipient (in its Reply-To
-- address and its References); a reply that brings it back is filed as that person, on that
-- ticket. Only the key's sha256 is kept: the store holds no key that could be mailed in.
-- A key of a held message (held_id) answers "did you send this?" and files nothing else.
CREATE TABLE held_mail (
    id INTEGER PRIMARY KEY,
    message_id TEXT,
    sender TEXT NOT NULL,
    received_at DATETIME NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reply', 'new')),
    ticket_id INTEGER REFERENCES tickets (id),
    department_id INTEGER REFERENCES departments (id),
    contact_id INTEGER REFERENCES contacts (id),
    agent_id INTEGER REFERENCES agents (id),
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    notified INTEGER NOT NULL DEFAULT 0,
    filed_at DATETIME,
    filed_ticket_id INTEGER REFERENCES tickets (id),
    CHECK ((contact_id IS NULL) <> (agent_id IS NULL))
);
CREATE INDEX held_mail_ticket ON held_mail (ticket_id);
CREATE INDEX held_mail_waiting ON held_mail (id) WHERE filed_at IS NULL;

CREATE TABLE reply_keys (
    key_hash TEXT PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets (id),
    held_id INTEGER REFERENCES held_mail (id),
    contact_id INTEGER REFERENCES contacts (id),
    agent_id INTEGER REFERENCES agents (id),
    created_at DATETIME NOT NULL,
    used_at DATETIME,
    revoked_at DATETIME,
    CHECK ((contact_id IS NULL) <> (agent_id IS NULL)),
    CHECK ((ticket_id IS NULL) <> (held_id IS NULL))
);
CREATE INDEX reply_keys_ticket ON reply_keys (ticket_id);
CREATE INDEX reply_keys_held ON reply_keys (held_id);

-- inbound_mail learns the outcome 'held'. SQLite cannot alter a CHECK constraint: the table is
-- rebuilt with the same columns in the same order and its index made again (no table refers to
-- inbound_mail, no trigger reads it).
CREATE TABLE inbound_mail_new (
    id INTEGER PRIMARY KEY,
    message_id TEXT UNIQUE,
    sender TEXT NOT NULL,
    received_at DATETIME NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN
        ('reply', 'created', 'auto-reply', 'refused', 'flood', 'ignored', 'held')),
    notified INTEGER NOT NULL DEFAULT 0,
    ticket_id INTEGER REFERENCES tickets (id)
);
INSERT INTO inbound_mail_new (id, message_id, sender, received_at, outcome, notified, ticket_id)
    SELECT id, message_id, sender, received_at, outcome, notified, ticket_id FROM inbound_mail;
DROP TABLE inbound_mail;
ALTER TABLE inbound_mail_new RENAME TO inbound_mail;
CREATE INDEX inbound_mail_sender ON inbound_mail (sender, received_at);
