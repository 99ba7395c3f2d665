-- Email in that a forger cannot use (docs/mail-in.md, "Who sent it").
--
-- reply_keys: each notification carries a random key for its one recipient (in its Reply-To
-- address and its References); a reply that brings it back is filed as that person, on that
-- ticket. Only the key's sha256 is kept: the store holds no key that could be mailed in.
-- A key of a held message (held_id) answers "did you send this?" and files nothing else.
-- held_mail: what mail-in kept without filing it (no key, no trusted verdict), raw included.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)
CREATE TABLE held_mail (
    id BIGSERIAL PRIMARY KEY,
    message_id TEXT,
    sender TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reply', 'new')),
    ticket_id BIGINT REFERENCES tickets (id),
    department_id BIGINT REFERENCES departments (id),
    contact_id BIGINT REFERENCES contacts (id),
    agent_id BIGINT REFERENCES agents (id),
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BYTEA NOT NULL,
    notified BOOLEAN NOT NULL DEFAULT FALSE,
    filed_at TIMESTAMP,
    filed_ticket_id BIGINT REFERENCES tickets (id),
    CHECK (num_nonnulls(contact_id, agent_id) = 1)
);
CREATE INDEX held_mail_ticket ON held_mail (ticket_id);
CREATE INDEX held_mail_waiting ON held_mail (id) WHERE filed_at IS NULL;

CREATE TABLE reply_keys (
    key_hash TEXT PRIMARY KEY,
    ticket_id BIGINT REFERENCES tickets (id),
    held_id BIGINT REFERENCES held_mail (id),
    contact_id BIGINT REFERENCES contacts (id),
    agent_id BIGINT REFERENCES agents (id),
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    CHECK (num_nonnulls(contact_id, agent_id) = 1),
    CHECK (num_nonnulls(ticket_id, held_id) = 1)
);
CREATE INDEX reply_keys_ticket ON reply_keys (ticket_id);
CREATE INDEX reply_keys_held ON reply_keys (held_id);

ALTER TABLE inbound_mail DROP CONSTRAINT inbound_mail_outcome_check;
ALTER TABLE inbound_mail ADD CONSTRAINT inbound_mail_outcome_check CHECK (outcome IN
    ('reply', 'created', 'auto-reply', 'refused', 'flood', 'ignored', 'held'));

-- Row-level security ---------------------------------------------------------------------------
-- reply_keys: an agent's session queues emails with their keys (a customer's session asks
-- tix-jobs to, 0010), so it may add a key of a ticket it sees, fresh, for no held message; no
-- session of the application role reads, changes or deletes one (the key is inserted without
-- RETURNING). A contact adds none: a key they chose would be a credential they hold.
-- held_mail: agents read it (`tix show`); only tix_system (mail-in) writes it.
ALTER TABLE reply_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE reply_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tix_agent_insert ON reply_keys FOR INSERT TO tix_app
    WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL AND held_id IS NULL
                AND used_at IS NULL AND revoked_at IS NULL AND tix_ticket_visible(ticket_id));
CREATE POLICY tix_system_all ON reply_keys FOR ALL TO tix_system USING (true) WITH CHECK (true);
GRANT INSERT ON reply_keys TO tix_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON reply_keys TO tix_system;

ALTER TABLE held_mail ENABLE ROW LEVEL SECURITY;
ALTER TABLE held_mail FORCE ROW LEVEL SECURITY;
CREATE POLICY tix_agent_read ON held_mail FOR SELECT TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_system_all ON held_mail FOR ALL TO tix_system USING (true) WITH CHECK (true);
GRANT SELECT ON held_mail TO tix_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON held_mail TO tix_system;

-- The outbox keeps each email as it will be sent, keys included: the application role reads
-- every column of it but `raw` (tix reads `raw` only in tix-jobs), so neither a contact nor an
-- agent finds someone else's key there. Ids come from 0010's trigger, as for every table.
DO $reply_keys$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_attribute a
    WHERE a.attrelid = 'outbox'::regclass AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname <> 'raw';
    EXECUTE 'REVOKE SELECT ON outbox FROM tix_app';
    EXECUTE 'GRANT SELECT (' || cols || ') ON outbox TO tix_app';
    EXECUTE 'ALTER TABLE held_mail ALTER COLUMN id DROP DEFAULT';
    EXECUTE 'CREATE TRIGGER tix_assign_id BEFORE INSERT ON held_mail FOR EACH ROW EXECUTE FUNCTION'
        || ' tix_assign_id(' || quote_literal(pg_get_serial_sequence('held_mail', 'id')) || ')';
    EXECUTE 'GRANT USAGE, SELECT ON SEQUENCE ' || pg_get_serial_sequence('held_mail', 'id')
        || ' TO tix_system';
END
$reply_keys$;
