-- A contact can be deactivated (`tix admin contact deactivate`) and reactivated, like an agent:
-- a deactivated contact can neither log in nor write by email, and is sent no ticket email.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)
ALTER TABLE contacts ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;

-- The functions that turn the session's proven token into a contact (0009, as 0010 made them)
-- now also require the contact to be active: a deactivated contact's token names nobody, even
-- for raw SQL as the application role. CREATE OR REPLACE keeps their owner and their grants
-- (EXECUTE for tix_app and tix_system only); the search_path is pinned again, as every function
-- of the schema's is (0010).
CREATE OR REPLACE FUNCTION tix_session_contact() RETURNS bigint LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.id FROM tokens t JOIN contacts c ON c.id = t.contact_id
    WHERE t.id = tix_session_token() AND c.can_login AND c.active
$$;

CREATE OR REPLACE FUNCTION tix_session_accounts() RETURNS bigint[] LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT COALESCE(array_agg(acc.id), ARRAY[]::bigint[])
    FROM tokens t
    JOIN contacts c ON c.id = t.contact_id
    JOIN accounts own ON own.id = c.account_id
    JOIN accounts acc ON acc.id = own.id OR (own.is_reseller AND acc.reseller_id = own.id)
    WHERE t.id = tix_session_token() AND c.can_login AND c.active
$$;

-- A reseller writes on its clients' tickets (it files them, too): the client's contacts read the
-- row of a contact who wrote what they see, as its author, and nothing else of the reseller.
-- The index keeps the policy's look-up to a few rows.
CREATE INDEX messages_author_contact ON messages (author_contact_id)
    WHERE author_contact_id IS NOT NULL;
CREATE POLICY tix_contact_read_authors ON contacts FOR SELECT TO tix_app
    USING (EXISTS (SELECT 1 FROM messages m WHERE m.author_contact_id = contacts.id));
