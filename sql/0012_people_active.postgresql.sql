-- A contact can be deactivated (`tix admin contact deactivate`) and reactivated, like an agent:
-- a deactivated contact can neither log in nor write by email, and is sent no ticket email.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)
ALTER TABLE contacts ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

-- The functions of migration 0009 that turn the session's token into a contact, now also
-- requiring the contact to be active: a deactivated contact's token names nobody, even for raw
-- SQL as the application role. CREATE OR REPLACE keeps their owner and their grants (EXECUTE
-- for tix_app and tix_system only); the search_path is pinned again, as a SECURITY DEFINER
-- function must not find objects through the caller's.
CREATE OR REPLACE FUNCTION tix_session_contact() RETURNS bigint LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id FROM tokens t JOIN contacts c ON c.id = t.contact_id
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND c.can_login
          AND c.active
$$;

CREATE OR REPLACE FUNCTION tix_session_accounts() RETURNS bigint[] LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT COALESCE(array_agg(acc.id), ARRAY[]::bigint[])
    FROM tokens t
    JOIN contacts c ON c.id = t.contact_id
    JOIN accounts own ON own.id = c.account_id
    JOIN accounts acc ON acc.id = own.id OR (own.is_reseller AND acc.reseller_id = own.id)
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND c.can_login
          AND c.active
$$;

-- A reseller opens a client's ticket as itself (and may write on it): the client's contacts
-- read that contact's row, as the author of what they see, and nothing else of the reseller.
-- The indexes keep the policy's look-ups to a few rows.
CREATE INDEX tickets_contact ON tickets (contact_id);
CREATE INDEX messages_author_contact ON messages (author_contact_id)
    WHERE author_contact_id IS NOT NULL;
CREATE POLICY tix_contact_read_authors ON contacts FOR SELECT TO tix_app
    USING (EXISTS (SELECT 1 FROM tickets t WHERE t.contact_id = contacts.id)
           OR EXISTS (SELECT 1 FROM messages m WHERE m.author_contact_id = contacts.id));
