-- Row-level security, hardened: raw SQL as the application role, with any identity or none,
-- can do nothing that tix itself would not do for that identity (docs/security.md lists each
-- attack and its test). On top of 0009, which stays as stores applied it:
--   * every function here runs with search_path = <schema>, pg_temp (a session's temporary
--     table or function never stands in for ours), and tix_app may create nothing in the schema;
--   * identity: a proof that cannot be replayed (HMAC of a per-backend challenge, keyed by the
--     stored hash) instead of the hash itself, which other sessions read in pg_stat_activity;
--   * a contact's session never writes an email: it asks for one (tix_request_mail), and only
--     for a change it made in this very transaction; tix-jobs renders it for tix's recipients;
--   * a contact's ticket changes are the lifecycle's (tix_tickets_guard); no column a contact
--     writes points at another account's row; only tix_system deletes (agents: watchers);
--   * ids come from a trigger, so tix_app holds no sequence privilege at all;
--   * the jobs' locks are rows of job_locks, which tix_app cannot read or lock.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)

-- Who the current session is -----------------------------------------------------------------

-- tix_system, the owner, a superuser: roles that see every row anyway.
CREATE FUNCTION tix_session_is_system() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(session_user, 'tix_system', 'USAGE')
        OR COALESCE((SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r
                     WHERE r.rolname = session_user), false)
$$;

-- What a session proves its token against: this backend (pid and start time), which no other
-- session, nor a later backend with the same pid, shares.
CREATE FUNCTION tix_identity_challenge() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT pg_backend_pid()::text || ':'
        || (extract(epoch FROM a.backend_start) * 1000000)::bigint::text
    FROM pg_stat_get_activity(pg_backend_pid()) a
$$;

-- HMAC-SHA256 (RFC 2104), built on the server's sha256().
CREATE FUNCTION tix_hmac(key bytea, message bytea) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT
AS $$
DECLARE
    ipad bytea;
    opad bytea;
BEGIN
    IF length(key) > 64 THEN
        key := sha256(key);
    END IF;
    key := key || decode(repeat('00', 64 - length(key)), 'hex');
    ipad := key;
    opad := key;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(key, i) # 54);
        opad := set_byte(opad, i, get_byte(key, i) # 92);
    END LOOP;
    RETURN sha256(opad || sha256(ipad || message));
END
$$;

-- tix.identity = '<locator>:<proof>': locator = hex sha256 of the token's stored hash (names the
-- token, proves nothing), proof = hex HMAC(stored hash, tix_identity_challenge()). Seen by
-- another session, it is worth nothing there. Transaction-local, like 0009's setting.
CREATE INDEX tokens_locator ON tokens (encode(sha256(decode(token_hash, 'hex')), 'hex'));

CREATE FUNCTION tix_session_token() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT t.id
    FROM (SELECT split_part(v, ':', 1) AS locator, split_part(v, ':', 2) AS proof
          FROM NULLIF(current_setting('tix.identity', true), '') AS v) p
    JOIN tokens t ON encode(sha256(decode(t.token_hash, 'hex')), 'hex') = p.locator
    WHERE t.revoked_at IS NULL
      AND encode(tix_hmac(decode(t.token_hash, 'hex'), convert_to(tix_identity_challenge(), 'UTF8')),
                 'hex') = p.proof
$$;

-- 0009's functions, now resolving the proven token (tix.token_hash means nothing any more).
CREATE OR REPLACE FUNCTION tix_session_token_hash() RETURNS text LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT token_hash FROM tokens WHERE id = tix_session_token()
$$;

CREATE OR REPLACE FUNCTION tix_session_agent() RETURNS bigint LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT a.id FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.id = tix_session_token() AND a.active
$$;

CREATE OR REPLACE FUNCTION tix_session_is_admin() RETURNS boolean LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT COALESCE(bool_or(a.is_admin), false) FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.id = tix_session_token() AND a.active
$$;

CREATE OR REPLACE FUNCTION tix_session_contact() RETURNS bigint LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT c.id FROM tokens t JOIN contacts c ON c.id = t.contact_id
    WHERE t.id = tix_session_token() AND c.can_login
$$;

CREATE OR REPLACE FUNCTION tix_session_accounts() RETURNS bigint[] LANGUAGE sql STABLE
SECURITY DEFINER AS $$
    SELECT COALESCE(array_agg(acc.id), ARRAY[]::bigint[])
    FROM tokens t
    JOIN contacts c ON c.id = t.contact_id
    JOIN accounts own ON own.id = c.account_id
    JOIN accounts acc ON acc.id = own.id OR (own.is_reseller AND acc.reseller_id = own.id)
    WHERE t.id = tix_session_token() AND c.can_login
$$;

-- How the event log names the session's person (tix.auth.Principal.actor).
CREATE FUNCTION tix_session_actor() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT COALESCE(
        (SELECT 'agent:' || a.email FROM agents a WHERE a.id = tix_session_agent()),
        (SELECT 'contact:' || c.email FROM contacts c WHERE c.id = tix_session_contact()))
$$;

-- A contact signed in through the application role: the sessions the rules below bind.
CREATE FUNCTION tix_session_is_customer() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT tix_session_contact() IS NOT NULL AND tix_session_agent() IS NULL
        AND NOT tix_session_is_system()
$$;

DROP POLICY tix_own_token ON tokens;
CREATE POLICY tix_own_token ON tokens FOR SELECT TO tix_app USING (id = (SELECT tix_session_token()));

-- Whether a row version (its xmin) was written by this transaction or one of its
-- subtransactions: a visible version whose writer is still in progress can only be ours.
CREATE FUNCTION tix_written_here(x xid) RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN d < 2147483648
                THEN pg_xact_status((top + d)::text::xid8) = 'in progress' ELSE false END
    FROM (SELECT pg_current_xact_id()::text::bigint AS top) c,
         LATERAL (SELECT mod(x::text::bigint - mod(c.top, 4294967296) + 4294967296,
                             4294967296) AS d) dd
$$;

-- Issuing a token: made here, so its hash never travels in a statement another session can read.
CREATE FUNCTION tix_issue_token(agent bigint, contact bigint) RETURNS text LANGUAGE plpgsql
VOLATILE SECURITY DEFINER AS $$
DECLARE
    token text;
BEGIN
    IF NOT (tix_session_is_admin() OR (tix_session_is_system() AND tix_session_token() IS NULL)) THEN
        RAISE EXCEPTION 'only admins issue tokens' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- 256 bits drawn from three v4 UUIDs (366 random bits), as 43 base64url characters.
    token := 'tix_' || translate(rtrim(encode(sha256(
        uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())),
        'base64'), '='), '+/', '-_');
    INSERT INTO tokens (token_hash, agent_id, contact_id, created_at)
    VALUES (encode(sha256(convert_to(token, 'UTF8')), 'hex'), agent, contact,
            now() AT TIME ZONE 'utc');
    RETURN token;
END
$$;

-- The assistant's note: 0009's signature, for the callers, but the actor is always the assistant
-- and the time the database's (never before what the same transaction wrote of the ticket, so
-- the history reads in order whatever the client's clock); only on a ticket opened in this
-- very transaction.
CREATE OR REPLACE FUNCTION tix_add_assistant_note(ticket bigint, note text, at timestamp, actor text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    stamp timestamp := greatest(now() AT TIME ZONE 'utc',
        (SELECT max(e.at) FROM events e WHERE e.ticket_id = ticket),
        (SELECT max(m.created_at) FROM messages m WHERE m.ticket_id = ticket));
BEGIN
    IF NOT tix_ticket_visible_to_caller(ticket) THEN
        RAISE EXCEPTION USING MESSAGE = 'no ticket with id ' || ticket, ERRCODE = 'insufficient_privilege';
    END IF;
    IF (SELECT count(*) FROM messages WHERE ticket_id = ticket) <> 1
       OR NOT (SELECT tix_written_here(m.xmin) FROM messages m WHERE m.ticket_id = ticket) THEN
        RAISE EXCEPTION 'the assistant files its note only on a ticket opened in this transaction'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO messages (ticket_id, body, internal, created_at) VALUES (ticket, note, true, stamp);
    INSERT INTO events (ticket_id, at, actor, kind) VALUES (ticket, stamp, 'system:assistant', 'note');
END
$$;

-- A contact's ticket changes: the lifecycle's, nothing else ------------------------------------

CREATE FUNCTION tix_refuse(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'not allowed for a customer: ' || what,
        ERRCODE = 'insufficient_privilege';
END
$$;

-- Whether this contact wrote a message on the ticket in this transaction (a reply).
CREATE FUNCTION tix_replied_here(ticket bigint) RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = ticket AND NOT m.internal
                   AND m.author_contact_id = tix_session_contact() AND tix_written_here(m.xmin))
$$;

CREATE FUNCTION tix_tickets_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    free text[] := ARRAY['status', 'waiting_since', 'reminded_at', 'reminder_delivered_at',
                         'closed_at', 'closed_by', 'close_reason', 'last_customer_activity_at',
                         'updated_at', 'subject', 'priority'];
    changed boolean;
BEGIN
    IF NOT tix_session_is_customer() THEN
        RETURN NEW;
    END IF;
    -- Lookups run with the caller's policies: another account's row reads as a missing one.
    IF NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = NEW.contact_id
                   AND c.account_id = NEW.account_id) THEN
        PERFORM tix_refuse('the ticket''s contact must be one of its account');
    END IF;
    IF NEW.service_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM services s
            WHERE s.id = NEW.service_id AND s.account_id = NEW.account_id) THEN
        PERFORM tix_refuse('the ticket''s service must be one of its account');
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' OR num_nonnulls(NEW.assignee_id, NEW.merged_into_id,
                NEW.waiting_since, NEW.reminded_at, NEW.reminder_delivered_at, NEW.closed_at,
                NEW.closed_by, NEW.close_reason, NEW.last_agent_reply_at) > 0 THEN
            PERFORM tix_refuse('a new ticket is open, unassigned, with no clock');
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - free <> to_jsonb(OLD) - free THEN
        PERFORM tix_refuse('only the lifecycle''s columns change');
    END IF;
    changed := NEW.status <> OLD.status;
    IF changed THEN
        IF NEW.status = 'customer-reply' AND OLD.status <> 'closed' THEN
            IF NOT tix_replied_here(NEW.id) THEN
                PERFORM tix_refuse('a reply comes with its message');
            END IF;
        ELSIF NEW.status = 'open' AND OLD.status = 'closed' THEN
            IF num_nonnulls(NEW.closed_at, NEW.closed_by, NEW.close_reason) > 0 THEN
                PERFORM tix_refuse('a reopened ticket is no longer closed');
            END IF;
        ELSIF NEW.status = 'closed' THEN
            IF NEW.close_reason IS DISTINCT FROM 'customer' OR NEW.closed_at IS NULL
               OR NEW.closed_by IS DISTINCT FROM
                  (SELECT c.email FROM contacts c WHERE c.id = tix_session_contact()) THEN
                PERFORM tix_refuse('a customer closes as themselves');
            END IF;
        ELSE
            PERFORM tix_refuse('status ' || NEW.status || ' is not a customer''s to set');
        END IF;
    ELSIF (NEW.closed_at, NEW.closed_by, NEW.close_reason)
          IS DISTINCT FROM (OLD.closed_at, OLD.closed_by, OLD.close_reason) THEN
        PERFORM tix_refuse('closing fields change only with the status');
    END IF;
    -- The waiting clock ends (never starts) with a status change; activity with one or a reply.
    IF (NEW.waiting_since, NEW.reminded_at, NEW.reminder_delivered_at)
       IS DISTINCT FROM (OLD.waiting_since, OLD.reminded_at, OLD.reminder_delivered_at)
       AND (NOT changed OR num_nonnulls(NEW.waiting_since, NEW.reminded_at,
                                        NEW.reminder_delivered_at) > 0) THEN
        PERFORM tix_refuse('the reminder clock');
    END IF;
    IF NEW.last_customer_activity_at IS DISTINCT FROM OLD.last_customer_activity_at
       AND NOT changed AND NOT tix_replied_here(NEW.id) THEN
        PERFORM tix_refuse('activity comes with a reply');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tix_tickets_guard BEFORE INSERT OR UPDATE ON tickets
FOR EACH ROW EXECUTE FUNCTION tix_tickets_guard();

-- A contact's only change to the outbox: cancelling a queued reminder (nothing else about it).
CREATE FUNCTION tix_outbox_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    free text[] := ARRAY['status', 'claimed_by', 'lease_until', 'last_error'];
BEGIN
    IF tix_session_is_customer() AND (to_jsonb(NEW) - free <> to_jsonb(OLD) - free
            OR NEW.claimed_by IS NOT NULL OR NEW.lease_until IS NOT NULL
            OR NOT (OLD.status IN ('pending', 'failed')
                    OR (OLD.status = 'sending' AND OLD.attempt_started_at IS NULL))) THEN
        PERFORM tix_refuse('an email is only cancelled before it is sent');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tix_outbox_guard BEFORE UPDATE ON outbox
FOR EACH ROW EXECUTE FUNCTION tix_outbox_guard();

-- Contacts: no email rows of their own; events only as themselves, of the kinds their commands
-- write; a file only on a message of the same ticket they may see; nothing in the tables of
-- mail-in, watchers and escalations (0009 gave them the rule of their shape).
DROP POLICY tix_contact_insert ON outbox;
DROP POLICY tix_contact_insert ON events;
CREATE POLICY tix_contact_insert ON events FOR INSERT TO tix_app
    WITH CHECK (kind IN ('created', 'customer-reply', 'closed', 'reopened')
                AND actor = (SELECT tix_session_actor()) AND tix_ticket_visible(ticket_id));
DROP POLICY tix_contact_insert ON attachments;
CREATE POLICY tix_contact_insert ON attachments FOR INSERT TO tix_app
    WITH CHECK (tix_ticket_visible(ticket_id)
                AND (message_id IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.id = message_id
                                                   AND m.ticket_id = attachments.ticket_id)));
DROP POLICY tix_contact_insert ON watchers;
DROP POLICY tix_contact_insert ON inbound_mail;
DROP POLICY tix_contact_insert ON escalation_firings;

-- Emails a customer's change causes --------------------------------------------------------------
-- Rendered by tix-jobs (tix/jobs/mail_requests.py) with tix's own recipients and templates.

CREATE TABLE mail_requests (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL CHECK (kind IN
        ('ticket-created', 'agent-new-ticket', 'agent-customer-reply', 'closed', 'reopened')),
    message_id BIGINT REFERENCES messages (id),  -- the message the email quotes
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    xact xid8 NOT NULL,
    rendered_at TIMESTAMP,
    UNIQUE (ticket_id, kind, xact)
);
CREATE INDEX mail_requests_pending ON mail_requests (id) WHERE rendered_at IS NULL;
CREATE UNIQUE INDEX mail_requests_once ON mail_requests (ticket_id, kind)
    WHERE kind IN ('ticket-created', 'agent-new-ticket');

-- false: not a customer's session through the application role (the caller writes the outbox
-- as before). true: requested. Refused unless this transaction made the change that sends it.
CREATE FUNCTION tix_request_mail(kind text, ticket bigint) RETURNS boolean LANGUAGE plpgsql
VOLATILE SECURITY DEFINER AS $$
DECLARE
    contact bigint := tix_session_contact();
    who text := tix_session_actor();
    change text;
    t tickets;
    quoted bigint;
BEGIN
    IF NOT tix_session_is_customer() THEN
        RETURN false;
    END IF;
    SELECT * INTO t FROM tickets WHERE id = ticket;
    IF NOT FOUND OR NOT tix_ticket_visible_to_caller(ticket) THEN
        RAISE EXCEPTION USING MESSAGE = 'no ticket with id ' || ticket, ERRCODE = 'insufficient_privilege';
    END IF;
    change := CASE kind WHEN 'ticket-created' THEN 'created' WHEN 'agent-new-ticket' THEN 'created'
                        WHEN 'agent-customer-reply' THEN 'customer-reply'
                        WHEN 'closed' THEN 'closed' WHEN 'reopened' THEN 'reopened' END;
    IF change IS NULL OR NOT tix_written_here(t.xmin) OR NOT EXISTS (
            SELECT 1 FROM events e WHERE e.ticket_id = ticket AND e.kind = change
            AND e.actor = who AND tix_written_here(e.xmin)) THEN
        RAISE EXCEPTION USING MESSAGE = 'no change of this transaction sends ' || kind,
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF change = 'created' THEN
        SELECT m.id INTO quoted FROM messages m WHERE m.ticket_id = ticket AND NOT m.internal
            AND tix_written_here(m.xmin) ORDER BY m.id LIMIT 1;
        IF quoted IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = ticket
                                     AND m.id < quoted) THEN
            RAISE EXCEPTION 'this transaction did not open the ticket' USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF change IN ('customer-reply', 'reopened') THEN
        SELECT m.id INTO quoted FROM messages m WHERE m.ticket_id = ticket AND NOT m.internal
            AND m.author_contact_id = contact AND tix_written_here(m.xmin) ORDER BY m.id DESC LIMIT 1;
        IF change = 'customer-reply' AND quoted IS NULL THEN
            RAISE EXCEPTION 'a reply comes with its message' USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF t.status <> 'closed' THEN
        RAISE EXCEPTION 'the ticket is not closed' USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO mail_requests (ticket_id, kind, message_id, requested_by, requested_at, xact)
    VALUES (ticket, kind, quoted, who, now() AT TIME ZONE 'utc', pg_current_xact_id());
    RETURN true;
END
$$;

-- Locks tix-jobs and mail-in take: rows tix_app can neither read nor lock --------------------------

CREATE TABLE job_locks (name TEXT PRIMARY KEY);
INSERT INTO job_locks (name) VALUES ('run');

-- Ids, privileges, policies of the new tables, search paths ------------------------------------------

CREATE FUNCTION tix_assign_id() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NEW.id IS NULL THEN
        NEW.id := nextval(TG_ARGV[0]::regclass);
    ELSIF NOT tix_session_is_system() THEN
        -- Not even a duplicate-key error: it would tell that an id exists.
        RAISE EXCEPTION 'ids are assigned by the database' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

DO $hardening$
DECLARE
    tbl record;
    fn record;
    name text;
    schema_name text := quote_ident(current_schema());
BEGIN
    FOR tbl IN
        SELECT c.relname, pg_get_serial_sequence(quote_ident(c.relname), 'id') AS seq
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id'
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
    LOOP
        IF tbl.seq IS NOT NULL THEN
            EXECUTE 'ALTER TABLE ' || quote_ident(tbl.relname) || ' ALTER COLUMN id DROP DEFAULT';
            EXECUTE 'CREATE TRIGGER tix_assign_id BEFORE INSERT ON ' || quote_ident(tbl.relname)
                || ' FOR EACH ROW EXECUTE FUNCTION tix_assign_id(' || quote_literal(tbl.seq) || ')';
        END IF;
    END LOOP;
    FOREACH name IN ARRAY ARRAY['mail_requests', 'job_locks'] LOOP
        EXECUTE 'CREATE POLICY tix_system_all ON ' || name
            || ' FOR ALL TO tix_system USING (true) WITH CHECK (true)';
        EXECUTE 'ALTER TABLE ' || name || ' ENABLE ROW LEVEL SECURITY';
        EXECUTE 'ALTER TABLE ' || name || ' FORCE ROW LEVEL SECURITY';
        EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ' || name || ' TO tix_system';
    END LOOP;
    -- tix-jobs run by the application role finds no requests (no policy), rather than failing.
    GRANT SELECT, UPDATE ON mail_requests TO tix_app;
    EXECUTE 'REVOKE DELETE ON ALL TABLES IN SCHEMA ' || schema_name || ' FROM tix_app';
    GRANT DELETE ON watchers TO tix_app;  -- `tix unwatch` and `tix merge`
    EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || schema_name || ' FROM tix_app';
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || schema_name || ' TO tix_system';
    EXECUTE 'REVOKE CREATE ON SCHEMA ' || schema_name || ' FROM PUBLIC, tix_app';
    FOR fn IN
        SELECT p.oid::regprocedure AS sig FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
    LOOP
        EXECUTE 'ALTER FUNCTION ' || fn.sig || ' SET search_path = ' || schema_name || ', pg_temp';
        EXECUTE 'REVOKE ALL ON FUNCTION ' || fn.sig || ' FROM PUBLIC';
        EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn.sig || ' TO tix_app, tix_system';
    END LOOP;
END
$hardening$;
