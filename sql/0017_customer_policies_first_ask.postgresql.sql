-- The customers' policies (tix_contact_*) first ask whether the session is a contact at all.
-- Permissive policies are OR-ed, and PostgreSQL evaluated the customer's condition on every row
-- an agent read or changed: on messages, events, attachments, the outbox and the diagnosis
-- results that is tix_ticket_visible(ticket_id), a query per row (an agent counting the messages
-- of a 10k-ticket store took 11 s). `(SELECT tix_session_contact()) IS NOT NULL` is computed
-- once per statement and is false for agents, so the rest is never evaluated for them.
-- It changes no answer: an agent's rows come from tix_agent_all, and a session that is no
-- contact (an agent, or nobody) never matched a customer's policy anyway (no accounts, no
-- visible ticket, no visible message). Customers' sessions read exactly what they read before.
-- (No percent sign may appear in this file: it is executed through a DB-API cursor.)

DO $guard$
DECLARE
    pol record;
    guard text := '(SELECT tix_session_contact()) IS NOT NULL';
BEGIN
    FOR pol IN
        SELECT p.polname, c.relname,
               pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_get_expr(p.polwithcheck, p.polrelid) AS checked
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relnamespace = current_schema()::regnamespace
          AND starts_with(p.polname, 'tix_contact_')
        ORDER BY c.relname, p.polname
    LOOP
        IF pol.qual IS NOT NULL THEN
            EXECUTE 'ALTER POLICY ' || quote_ident(pol.polname) || ' ON ' || quote_ident(pol.relname)
                || ' USING (' || guard || ' AND (' || pol.qual || '))';
        END IF;
        IF pol.checked IS NOT NULL THEN
            EXECUTE 'ALTER POLICY ' || quote_ident(pol.polname) || ' ON ' || quote_ident(pol.relname)
                || ' WITH CHECK (' || guard || ' AND (' || pol.checked || '))';
        END IF;
    END LOOP;
END
$guard$;
