-- tix schema, PostgreSQL. Times are UTC in TIMESTAMP (without time zone) columns, as on SQLite.
CREATE TABLE departments (
    id BIGSERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_es TEXT NOT NULL,
    email TEXT,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE agents (
    id BIGSERIAL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE agent_departments (
    agent_id BIGINT NOT NULL REFERENCES agents (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    PRIMARY KEY (agent_id, department_id)
);

CREATE TABLE accounts (
    id BIGSERIAL PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_reseller BOOLEAN NOT NULL DEFAULT FALSE,
    reseller_id BIGINT REFERENCES accounts (id),
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX accounts_reseller ON accounts (reseller_id);

CREATE TABLE contacts (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    is_owner BOOLEAN NOT NULL DEFAULT FALSE,
    ticket_emails BOOLEAN NOT NULL DEFAULT TRUE,
    can_login BOOLEAN NOT NULL DEFAULT TRUE,
    lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'es')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE TABLE services (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('hosting', 'domain', 'email')),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    agent_id BIGINT REFERENCES agents (id),
    contact_id BIGINT REFERENCES contacts (id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CHECK ((agent_id IS NULL) <> (contact_id IS NULL))
);

CREATE TABLE tickets (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    priority SMALLINT NOT NULL CHECK (priority BETWEEN 1 AND 4),
    status TEXT NOT NULL CHECK (status IN
        ('open', 'answered', 'customer-reply', 'in-progress', 'on-hold', 'closed')),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    service_id BIGINT REFERENCES services (id),
    assignee_id BIGINT REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_customer_activity_at TIMESTAMP,
    last_agent_reply_at TIMESTAMP,
    waiting_since TIMESTAMP,
    reminded_at TIMESTAMP,
    reminder_delivered_at TIMESTAMP,
    closed_at TIMESTAMP,
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
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    author_agent_id BIGINT REFERENCES agents (id),
    author_contact_id BIGINT REFERENCES contacts (id),
    body TEXT NOT NULL,
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_ticket ON messages (ticket_id, created_at);

CREATE TABLE attachments (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    message_id BIGINT REFERENCES messages (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    data BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_ticket ON attachments (ticket_id);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    before TEXT,
    after TEXT
);
CREATE INDEX events_ticket ON events (ticket_id, at);
-- The event log is append-only.
CREATE FUNCTION tix_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION tix_events_append_only();

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    ticket_id BIGINT REFERENCES tickets (id),
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'sending', 'sent', 'failed', 'dead', 'uncertain')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    claimed_by TEXT,
    last_error TEXT,
    reminder_of TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_ticket ON outbox (ticket_id);

INSERT INTO departments (slug, name_en, name_es, created_at) VALUES
    ('hosting', 'Hosting', 'Alojamiento', (now() AT TIME ZONE 'utc')),
    ('email', 'Email', 'Correo', (now() AT TIME ZONE 'utc')),
    ('domains', 'Domains', 'Dominios', (now() AT TIME ZONE 'utc')),
    ('billing', 'Billing', 'Facturación', (now() AT TIME ZONE 'utc')),
    ('sales', 'Sales', 'Ventas', (now() AT TIME ZONE 'utc')),
    ('administration', 'Administration', 'Administración', (now() AT TIME ZONE 'utc'));
