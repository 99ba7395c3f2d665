-- tix schema, SQLite. Times are naive UTC ('YYYY-MM-DD HH:MM:SS[.ffffff]'), which sort as text.
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_es TEXT NOT NULL,
    email TEXT,
    created_at DATETIME NOT NULL
);

CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at DATETIME NOT NULL
);

CREATE TABLE agent_departments (
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    department_id INTEGER NOT NULL REFERENCES departments (id),
    PRIMARY KEY (agent_id, department_id)
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_reseller INTEGER NOT NULL DEFAULT 0,
    reseller_id INTEGER REFERENCES accounts (id),
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at DATETIME NOT NULL
);
CREATE INDEX accounts_reseller ON accounts (reseller_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_owner INTEGER NOT NULL DEFAULT 0,
    ticket_emails INTEGER NOT NULL DEFAULT 1,
    can_login INTEGER NOT NULL DEFAULT 1,
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at DATETIME NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hosting', 'domain', 'email')),
    created_at DATETIME NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    agent_id INTEGER REFERENCES agents (id),
    contact_id INTEGER REFERENCES contacts (id),
    created_at DATETIME NOT NULL,
    revoked_at DATETIME,
    CHECK ((agent_id IS NULL) <> (contact_id IS NULL))
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (id),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status TEXT NOT NULL CHECK (status IN
        ('open', 'answered', 'customer-reply', 'in-progress', 'on-hold', 'closed')),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    contact_id INTEGER NOT NULL REFERENCES contacts (id),
    service_id INTEGER REFERENCES services (id),
    assignee_id INTEGER REFERENCES agents (id),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    last_customer_activity_at DATETIME,
    last_agent_reply_at DATETIME,
    waiting_since DATETIME,
    reminded_at DATETIME,
    reminder_delivered_at DATETIME,
    closed_at DATETIME,
    closed_by TEXT,
    close_reason TEXT
);
-- Agents' queue: a department's live tickets by priority then age.
CREATE INDEX tickets_queue ON tickets (department_id, status, priority DESC, created_at);
-- Customers' history: newest first within an account.
CREATE INDEX tickets_account ON tickets (account_id, created_at DESC);
CREATE INDEX tickets_assignee ON tickets (assignee_id, status);
-- The hourly job: only tickets waiting on the customer are in these (partial indexes).
CREATE INDEX tickets_waiting ON tickets (waiting_since) WHERE status = 'answered' AND reminded_at IS NULL;
CREATE INDEX tickets_reminded ON tickets (reminder_delivered_at) WHERE status = 'answered' AND reminder_delivered_at IS NOT NULL;

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    author_agent_id INTEGER REFERENCES agents (id),
    author_contact_id INTEGER REFERENCES contacts (id),
    body TEXT NOT NULL,
    internal INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    message_id INTEGER REFERENCES messages (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    at DATETIME NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX events_ticket ON events (ticket_id, at);
-- The event log is append-only.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    ticket_id INTEGER REFERENCES tickets (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'sending', 'sent', 'failed', 'dead', 'uncertain')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    lease_until DATETIME,
    claimed_by TEXT,
    last_error TEXT,
    reminder_of DATETIME,
    created_at DATETIME NOT NULL,
    sent_at DATETIME
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_ticket ON outbox (ticket_id);

INSERT INTO departments (slug, name_en, name_es, created_at) VALUES
    ('hosting', 'Hosting', 'Alojamiento', CURRENT_TIMESTAMP),
    ('email', 'Email', 'Correo', CURRENT_TIMESTAMP),
    ('domains', 'Domains', 'Dominios', CURRENT_TIMESTAMP),
    ('billing', 'Billing', 'Facturación', CURRENT_TIMESTAMP),
    ('sales', 'Sales', 'Ventas', CURRENT_TIMESTAMP),
    ('administration', 'Administration', 'Administración', CURRENT_TIMESTAMP);
