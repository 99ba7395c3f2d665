-- The agents' desk: canned replies, watchers, merged tickets, escalation firings,
-- and the index `tix next` claims from.

CREATE TABLE reply_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('en', 'es')),
    body TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (name, lang)
);

CREATE TABLE watchers (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    agent_id INTEGER NOT NULL REFERENCES agents (id),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (ticket_id, agent_id)
);
CREATE INDEX watchers_agent ON watchers (agent_id);

-- A ticket closed by `tix merge` points at the ticket it was merged into.
ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER REFERENCES tickets (id);

-- One row each time an escalation rule fires on a ticket; the unique key is what makes a rule
-- fire once per waiting period (period_start = the customer's last message, or creation).
CREATE TABLE escalation_firings (
    id INTEGER PRIMARY KEY,
    rule TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    period_start DATETIME NOT NULL,
    fired_at DATETIME NOT NULL,
    UNIQUE (rule, ticket_id, period_start)
);

-- `tix next`: unassigned tickets waiting for an agent, most urgent first, oldest wait first.
CREATE INDEX tickets_unclaimed ON tickets
    (department_id, priority DESC, COALESCE(last_customer_activity_at, created_at))
    WHERE assignee_id IS NULL AND status IN ('open', 'customer-reply');
