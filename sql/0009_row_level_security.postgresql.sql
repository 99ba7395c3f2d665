-- Row-level security: every account stays in its own room, even for someone who
-- connects with the application role and writes raw SQL.
--
-- Roles (cluster-wide, hence created only when missing; many databases share one cluster):
--   the owner    whoever runs the migrations (owns the tables; never the role tix connects as);
--   tix_app      what `tix` connects as (through a LOGIN role granted tix_app): NOLOGIN itself,
--                not superuser, not BYPASSRLS, owns nothing; sees rows only through the policies;
--   tix_system   tix-jobs and the owner: every row (cron has no person's token).
-- Identity: each transaction of `tix` starts with set_config('tix.token_hash', <sha256 of the
-- verified token>, true). It is transaction-local, so a pooled connection never carries it into
-- the next transaction. Policies never trust a bare id a session could set for itself: the
-- SECURITY DEFINER functions below look the hash up in `tokens` (which stays hashed) and answer
-- only for an unrevoked token of an active agent or a contact allowed to log in.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tix_app') THEN
        BEGIN
            CREATE ROLE tix_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created by a concurrent migration of another database in this cluster
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tix_system') THEN
        BEGIN
            CREATE ROLE tix_system NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tix_app' AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role tix_app exists but is superuser or BYPASSRLS: row-level security would not apply';
    END IF;
    IF pg_has_role('tix_app', current_user, 'MEMBER') THEN
        RAISE EXCEPTION USING MESSAGE = 'role tix_app is a member of the owner role ' || current_user;
    END IF;
    -- The owner's SECURITY DEFINER functions read tokens and accounts through tix_system's
    -- policies (FORCE below makes the owner subject to RLS like anyone else).
    IF NOT pg_has_role(current_user, 'tix_system', 'MEMBER') THEN
        EXECUTE 'GRANT tix_system TO ' || quote_ident(current_user);
    END IF;
END
$roles$;

-- Who the current transaction acts for ------------------------------------------------------

CREATE FUNCTION tix_session_token_hash() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('tix.token_hash', true), '')
$$;

CREATE FUNCTION tix_session_agent() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT a.id FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND a.active
$$;

CREATE FUNCTION tix_session_is_admin() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT COALESCE(bool_or(a.is_admin), false) FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND a.active
$$;

CREATE FUNCTION tix_session_contact() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT c.id FROM tokens t JOIN contacts c ON c.id = t.contact_id
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND c.can_login
$$;

-- The accounts a contact may see: their own, plus a reseller's clients. Empty for agents (who
-- see everything through tix_session_agent) and for an unauthenticated session.
CREATE FUNCTION tix_session_accounts() RETURNS bigint[] LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT COALESCE(array_agg(acc.id), ARRAY[]::bigint[])
    FROM tokens t
    JOIN contacts c ON c.id = t.contact_id
    JOIN accounts own ON own.id = c.account_id
    JOIN accounts acc ON acc.id = own.id OR (own.is_reseller AND acc.reseller_id = own.id)
    WHERE t.token_hash = tix_session_token_hash() AND t.revoked_at IS NULL AND c.can_login
$$;

-- A ticket the session may see (agents: all). Used by the policies of the tables that hang off
-- tickets; reads tickets through the caller's own policies (not SECURITY DEFINER).
CREATE FUNCTION tix_ticket_visible(ticket bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM tickets WHERE id = ticket)
$$;

-- The ticket assistant's findings (tix/checks.py) are an internal note filed in the same
-- transaction as the customer's new ticket, yet the customer may neither write nor read back an
-- internal note. This files exactly that note: on a ticket the caller sees, holding only its
-- opening message, authored by the assistant (no person), with its `note` event.
CREATE FUNCTION tix_add_assistant_note(ticket bigint, note text, at timestamp, actor text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NOT tix_ticket_visible_to_caller(ticket) THEN
        RAISE EXCEPTION USING MESSAGE = 'no ticket with id ' || ticket, ERRCODE = 'insufficient_privilege';
    END IF;
    IF (SELECT count(*) FROM messages WHERE ticket_id = ticket) <> 1 THEN
        RAISE EXCEPTION 'the assistant files its note only on a new ticket'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO messages (ticket_id, body, internal, created_at) VALUES (ticket, note, true, at);
    INSERT INTO events (ticket_id, at, actor, kind) VALUES (ticket, at, actor, 'note');
END
$$;

-- Whether the *calling* session sees a ticket, from inside a SECURITY DEFINER function (whose
-- own user sees every row): the rule of the tickets policies; a session logged in as a role that
-- sees every row anyway (tix_system, the owner, a superuser) sees it too.
CREATE FUNCTION tix_ticket_visible_to_caller(ticket bigint) RETURNS boolean LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT EXISTS (SELECT 1 FROM tickets t WHERE t.id = ticket
                   AND (tix_session_agent() IS NOT NULL OR t.account_id = ANY (tix_session_accounts())
                        OR pg_has_role(session_user, 'tix_system', 'USAGE')
                        OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r
                            WHERE r.rolname = session_user)))
$$;

DO $functions$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['tix_session_agent()', 'tix_session_is_admin()',
                              'tix_session_contact()', 'tix_session_accounts()',
                              'tix_ticket_visible_to_caller(bigint)',
                              'tix_add_assistant_note(bigint, text, timestamp, text)'] LOOP
        -- A SECURITY DEFINER function must not find objects through the caller's search_path.
        EXECUTE 'ALTER FUNCTION ' || fn || ' SET search_path = '
            || quote_ident(current_schema()) || ', pg_temp';
        EXECUTE 'REVOKE ALL ON FUNCTION ' || fn || ' FROM PUBLIC';
        EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO tix_app, tix_system';
    END LOOP;
END
$functions$;

-- Policies ----------------------------------------------------------------------------------
-- Each function call is wrapped in (SELECT ...) so PostgreSQL evaluates it once per statement
-- (an InitPlan), not once per row. Policies are TO tix_app; tix_system gets every row below.

-- People and the desk's structure: read by anyone signed in, written by admins.
CREATE POLICY tix_read ON departments FOR SELECT TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL OR (SELECT tix_session_contact()) IS NOT NULL);
CREATE POLICY tix_admin_write ON departments FOR ALL TO tix_app
    USING ((SELECT tix_session_is_admin())) WITH CHECK ((SELECT tix_session_is_admin()));
CREATE POLICY tix_read ON agents FOR SELECT TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL OR (SELECT tix_session_contact()) IS NOT NULL);
CREATE POLICY tix_admin_write ON agents FOR ALL TO tix_app
    USING ((SELECT tix_session_is_admin())) WITH CHECK ((SELECT tix_session_is_admin()));
CREATE POLICY tix_read ON agent_departments FOR SELECT TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL OR (SELECT tix_session_contact()) IS NOT NULL);
CREATE POLICY tix_admin_write ON agent_departments FOR ALL TO tix_app
    USING ((SELECT tix_session_is_admin())) WITH CHECK ((SELECT tix_session_is_admin()));

-- Tokens: a session sees only its own token row (that is how `tix` verifies it); admins issue
-- and revoke. A hash is a credential for the database, so not even agents list them.
CREATE POLICY tix_own_token ON tokens FOR SELECT TO tix_app
    USING (token_hash = tix_session_token_hash());
CREATE POLICY tix_admin_write ON tokens FOR ALL TO tix_app
    USING ((SELECT tix_session_is_admin())) WITH CHECK ((SELECT tix_session_is_admin()));

-- Customer data: agents every row; a contact the rows of the accounts they may see, read-only.
CREATE POLICY tix_agent_all ON accounts FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON accounts FOR SELECT TO tix_app
    USING (id = ANY ((SELECT tix_session_accounts())::bigint[]));
CREATE POLICY tix_agent_all ON contacts FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON contacts FOR SELECT TO tix_app
    USING (account_id = ANY ((SELECT tix_session_accounts())::bigint[]));
CREATE POLICY tix_agent_all ON services FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON services FOR SELECT TO tix_app
    USING (account_id = ANY ((SELECT tix_session_accounts())::bigint[]));

-- Tickets: a contact opens and updates (reply, close, reopen) tickets of their accounts only,
-- and cannot move one to another account (WITH CHECK). Nobody but tix_system deletes.
CREATE POLICY tix_agent_all ON tickets FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON tickets FOR SELECT TO tix_app
    USING (account_id = ANY ((SELECT tix_session_accounts())::bigint[]));
CREATE POLICY tix_contact_insert ON tickets FOR INSERT TO tix_app
    WITH CHECK (account_id = ANY ((SELECT tix_session_accounts())::bigint[]));
CREATE POLICY tix_contact_update ON tickets FOR UPDATE TO tix_app
    USING (account_id = ANY ((SELECT tix_session_accounts())::bigint[]))
    WITH CHECK (account_id = ANY ((SELECT tix_session_accounts())::bigint[]));

-- Messages: internal notes never reach a contact; a contact writes only as themselves.
CREATE POLICY tix_agent_all ON messages FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON messages FOR SELECT TO tix_app
    USING (NOT internal AND tix_ticket_visible(ticket_id));
CREATE POLICY tix_contact_insert ON messages FOR INSERT TO tix_app
    WITH CHECK (NOT internal AND author_agent_id IS NULL
                AND author_contact_id = (SELECT tix_session_contact())
                AND tix_ticket_visible(ticket_id));

-- Attachments: those of a visible ticket, except the ones on internal notes.
CREATE POLICY tix_agent_all ON attachments FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON attachments FOR SELECT TO tix_app
    USING (tix_ticket_visible(ticket_id)
           AND (message_id IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.id = message_id)));
CREATE POLICY tix_contact_insert ON attachments FOR INSERT TO tix_app
    WITH CHECK (tix_ticket_visible(ticket_id));

-- Events: a contact's own changes append events; notes' events stay with the agents.
CREATE POLICY tix_agent_all ON events FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON events FOR SELECT TO tix_app
    USING (kind <> 'note' AND tix_ticket_visible(ticket_id));
CREATE POLICY tix_contact_insert ON events FOR INSERT TO tix_app
    WITH CHECK (kind <> 'note' AND tix_ticket_visible(ticket_id));

-- Outbox: a contact's change queues emails about their ticket (INSERT ... RETURNING needs to
-- read the new row back); everything else about delivery is tix-jobs' business.
CREATE POLICY tix_agent_all ON outbox FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON outbox FOR SELECT TO tix_app
    USING (ticket_id IS NOT NULL AND tix_ticket_visible(ticket_id));
CREATE POLICY tix_contact_insert ON outbox FOR INSERT TO tix_app
    WITH CHECK (ticket_id IS NOT NULL AND tix_ticket_visible(ticket_id));
-- A contact's reply ends the wait, and with it cancels the ticket's queued reminder (0007).
CREATE POLICY tix_contact_cancel_reminder ON outbox FOR UPDATE TO tix_app
    USING (kind = 'reminder' AND ticket_id IS NOT NULL AND tix_ticket_visible(ticket_id))
    WITH CHECK (kind = 'reminder' AND status = 'cancelled' AND tix_ticket_visible(ticket_id));

-- Which migrations are applied: `tix` checks it before anyone is known.
CREATE POLICY tix_read ON schema_migrations FOR SELECT TO tix_app USING (true);

-- Every other table (those of migrations 0002-0008: inbound mail, reply templates, watchers,
-- escalation firings, ...) gets the same rule by its shape, so none is left open:
--   a ticket_id column -> agents every row; a contact reads and adds rows of visible tickets;
--   an account_id column -> the same by account;
--   neither            -> agents only.
-- Then, for every table: RLS enabled and FORCED (the owner is bound too), tix_system sees all,
-- and tix_app gets table privileges (rows still only through the policies). No default
-- privileges are granted: a table created by a later migration is closed to tix_app until that
-- migration covers it (tests/test_rls.py checks the catalogue).
DO $tables$
DECLARE
    tbl record;
    q text;
    visible text;
BEGIN
    FOR tbl IN
        SELECT c.oid, c.relname FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
    LOOP
        q := quote_ident(tbl.relname);
        IF NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = tbl.oid) THEN
            EXECUTE 'CREATE POLICY tix_agent_all ON ' || q || ' FOR ALL TO tix_app'
                || ' USING ((SELECT tix_session_agent()) IS NOT NULL)'
                || ' WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL)';
            visible := NULL;
            IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl.oid
                       AND a.attname = 'ticket_id' AND NOT a.attisdropped) THEN
                visible := 'ticket_id IS NOT NULL AND tix_ticket_visible(ticket_id)';
            ELSIF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl.oid
                          AND a.attname = 'account_id' AND NOT a.attisdropped) THEN
                visible := 'account_id = ANY ((SELECT tix_session_accounts())::bigint[])';
            END IF;
            IF visible IS NOT NULL THEN
                EXECUTE 'CREATE POLICY tix_contact_read ON ' || q || ' FOR SELECT TO tix_app USING ('
                    || visible || ')';
                EXECUTE 'CREATE POLICY tix_contact_insert ON ' || q
                    || ' FOR INSERT TO tix_app WITH CHECK (' || visible || ')';
            END IF;
        END IF;
        EXECUTE 'CREATE POLICY tix_system_all ON ' || q
            || ' FOR ALL TO tix_system USING (true) WITH CHECK (true)';
        EXECUTE 'ALTER TABLE ' || q || ' ENABLE ROW LEVEL SECURITY';
        EXECUTE 'ALTER TABLE ' || q || ' FORCE ROW LEVEL SECURITY';
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ' || q || ' TO tix_app, tix_system';
    END LOOP;
    -- Views run with the querying user's rights, so they cannot be a way around the policies.
    FOR tbl IN
        SELECT c.oid, c.relname FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v'
    LOOP
        EXECUTE 'ALTER VIEW ' || quote_ident(tbl.relname) || ' SET (security_invoker = true)';
        EXECUTE 'GRANT SELECT ON ' || quote_ident(tbl.relname) || ' TO tix_app, tix_system';
    END LOOP;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || quote_ident(current_schema()) || ' TO tix_app, tix_system';
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || quote_ident(current_schema())
        || ' TO tix_app, tix_system';
END
$tables$;
