-- The row-level security functions of 0009, 0010 and 0012, in PL/pgSQL: same names, arguments,
-- results, volatility, SECURITY DEFINER (or not), pinned search_path and grants, and the same
-- answers: each runs its predecessor's query (a few in steps, each said where).
-- As LANGUAGE sql with SET search_path (and most SECURITY DEFINER) they can never be inlined, so
-- PostgreSQL parsed and planned each body again at every call, nested ones included: resolving
-- the session's identity cost milliseconds, and every policy paid it. PL/pgSQL keeps the plans
-- of its statements for the life of the backend. Nothing is cached but plans: each call still
-- resolves the proven token from this transaction's tix.identity (0010), so nothing a session
-- can write stands in for its identity.
-- CREATE OR REPLACE keeps each function's owner and grants; without a SET clause it clears the
-- pinned search_path, which the block at the end sets again (as 0010 did), with the grants.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)

-- Who the current session is (0010) ----------------------------------------------------------

CREATE OR REPLACE FUNCTION tix_session_is_system() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN pg_has_role(session_user, 'tix_system', 'USAGE')
        OR COALESCE((SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r
                     WHERE r.rolname = session_user), false);
END
$$;

CREATE OR REPLACE FUNCTION tix_identity_challenge() RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    challenge text;
BEGIN
    SELECT pg_backend_pid()::text || ':'
        || (extract(epoch FROM a.backend_start) * 1000000)::bigint::text
    INTO challenge
    FROM pg_stat_get_activity(pg_backend_pid()) a;
    RETURN challenge;
END
$$;

-- 0010's query without its join to the setting: joined, PostgreSQL could (and on a small tokens
-- table did) hash every token on both the locator and the proof, an HMAC per token per call.
-- On tokens alone the cheap locator test filters first (or the index finds it).
CREATE OR REPLACE FUNCTION tix_session_token() RETURNS bigint LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    v text := NULLIF(current_setting('tix.identity', true), '');
    locator text := split_part(v, ':', 1);
    proof text := split_part(v, ':', 2);
    token bigint;
BEGIN
    IF v IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT t.id INTO token FROM tokens t
    WHERE encode(sha256(decode(t.token_hash, 'hex')), 'hex') = locator AND t.revoked_at IS NULL
      AND encode(tix_hmac(decode(t.token_hash, 'hex'), convert_to(tix_identity_challenge(), 'UTF8')),
                 'hex') = proof;
    RETURN token;
END
$$;

-- Each function below resolves the token once, into a variable: called inside their queries, it
-- was a filter that a sequential scan of tokens evaluated again for every row. (These functions
-- are STABLE: every statement of one call sees the same snapshot, so the answer is the same.)
CREATE OR REPLACE FUNCTION tix_session_token_hash() RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    token bigint := tix_session_token();
    hash text;
BEGIN
    SELECT t.token_hash INTO hash FROM tokens t WHERE t.id = token;
    RETURN hash;
END
$$;

CREATE OR REPLACE FUNCTION tix_session_agent() RETURNS bigint LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    token bigint := tix_session_token();
    agent bigint;
BEGIN
    SELECT a.id INTO agent FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.id = token AND a.active;
    RETURN agent;
END
$$;

CREATE OR REPLACE FUNCTION tix_session_is_admin() RETURNS boolean LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    token bigint := tix_session_token();
    admin boolean;
BEGIN
    SELECT COALESCE(bool_or(a.is_admin), false) INTO admin
    FROM tokens t JOIN agents a ON a.id = t.agent_id
    WHERE t.id = token AND a.active;
    RETURN admin;
END
$$;

-- 0012's: the contact must be active too.
CREATE OR REPLACE FUNCTION tix_session_contact() RETURNS bigint LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    token bigint := tix_session_token();
    contact bigint;
BEGIN
    SELECT c.id INTO contact FROM tokens t JOIN contacts c ON c.id = t.contact_id
    WHERE t.id = token AND c.can_login AND c.active;
    RETURN contact;
END
$$;

CREATE OR REPLACE FUNCTION tix_session_accounts() RETURNS bigint[] LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    token bigint := tix_session_token();
    account_ids bigint[];
BEGIN
    SELECT COALESCE(array_agg(acc.id), ARRAY[]::bigint[]) INTO account_ids
    FROM tokens t
    JOIN contacts c ON c.id = t.contact_id
    JOIN accounts own ON own.id = c.account_id
    JOIN accounts acc ON acc.id = own.id OR (own.is_reseller AND acc.reseller_id = own.id)
    WHERE t.id = token AND c.can_login AND c.active;
    RETURN account_ids;
END
$$;

-- 0010's COALESCE of the two look-ups, the contact's only when the agent's finds nothing.
CREATE OR REPLACE FUNCTION tix_session_actor() RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER AS $$
DECLARE
    agent bigint := tix_session_agent();
    contact bigint;
    actor text;
BEGIN
    SELECT 'agent:' || a.email INTO actor FROM agents a WHERE a.id = agent;
    IF actor IS NULL THEN
        contact := tix_session_contact();
        SELECT 'contact:' || c.email INTO actor FROM contacts c WHERE c.id = contact;
    END IF;
    RETURN actor;
END
$$;

-- 0010's three conditions, the one that resolves no token first: none is ever NULL, so their
-- order changes nothing but the work a tix-jobs or owner session (every trigger asks) does.
-- A session that presents no identity has no token, hence no contact: it is answered without
-- a query (tix-jobs' sessions, whose every outbox and ticket update fires a trigger that asks).
CREATE OR REPLACE FUNCTION tix_session_is_customer() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NULLIF(current_setting('tix.identity', true), '') IS NULL THEN
        RETURN false;
    END IF;
    RETURN NOT tix_session_is_system() AND tix_session_contact() IS NOT NULL
        AND tix_session_agent() IS NULL;
END
$$;

-- Tickets the session sees (0009) ------------------------------------------------------------

-- Not SECURITY DEFINER: it reads tickets through the caller's own policies. (Its pinned
-- search_path already kept it from being inlined into the policies that call it.)
CREATE OR REPLACE FUNCTION tix_ticket_visible(ticket bigint) RETURNS boolean LANGUAGE plpgsql
STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM tickets WHERE id = tix_ticket_visible.ticket);
END
$$;

-- SECURITY DEFINER, and so it sees every ticket: the tickets policies' rule is applied here.
CREATE OR REPLACE FUNCTION tix_ticket_visible_to_caller(ticket bigint) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM tickets t WHERE t.id = tix_ticket_visible_to_caller.ticket
                   AND (tix_session_agent() IS NOT NULL OR t.account_id = ANY (tix_session_accounts())
                        OR pg_has_role(session_user, 'tix_system', 'USAGE')
                        OR (SELECT r.rolsuper OR r.rolbypassrls FROM pg_roles r
                            WHERE r.rolname = session_user)));
END
$$;

-- What this transaction wrote (0010) ---------------------------------------------------------

CREATE OR REPLACE FUNCTION tix_written_here(x xid) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    top bigint := pg_current_xact_id()::text::bigint;
    d bigint := mod(x::text::bigint - mod(top, 4294967296) + 4294967296, 4294967296);
BEGIN
    RETURN CASE WHEN d < 2147483648
                THEN pg_xact_status((top + d)::text::xid8) = 'in progress' ELSE false END;
END
$$;

-- Not SECURITY DEFINER: the messages it looks at are those the caller sees.
CREATE OR REPLACE FUNCTION tix_replied_here(ticket bigint) RETURNS boolean LANGUAGE plpgsql
VOLATILE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = tix_replied_here.ticket
                   AND NOT m.internal AND m.author_contact_id = tix_session_contact()
                   AND tix_written_here(m.xmin));
END
$$;

-- Search paths and grants, as 0010 left them ---------------------------------------------------

DO $pin$
DECLARE
    schema_name text := quote_ident(current_schema());
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['tix_session_is_system()', 'tix_identity_challenge()',
                              'tix_session_token()', 'tix_session_token_hash()',
                              'tix_session_agent()', 'tix_session_is_admin()',
                              'tix_session_contact()', 'tix_session_accounts()',
                              'tix_session_actor()', 'tix_session_is_customer()',
                              'tix_ticket_visible(bigint)', 'tix_ticket_visible_to_caller(bigint)',
                              'tix_written_here(xid)', 'tix_replied_here(bigint)'] LOOP
        EXECUTE 'ALTER FUNCTION ' || fn || ' SET search_path = ' || schema_name || ', pg_temp';
        EXECUTE 'REVOKE ALL ON FUNCTION ' || fn || ' FROM PUBLIC';
        EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO tix_app, tix_system';
    END LOOP;
END
$pin$;
