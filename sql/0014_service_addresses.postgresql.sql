-- The account check needs to know where a customer's services live: the address of the
-- account's server (ours) and the host that answers its mail (IMAP, POP3, submission).
ALTER TABLE services ADD COLUMN server_ip TEXT;
ALTER TABLE services ADD COLUMN mail_host TEXT;

-- diagnosis_results (0011) under the rules of 0010: ids from the database, no sequence and no
-- UPDATE or DELETE for the application role, and a contact adds results only to a ticket
-- opened in the same transaction (the one `tix create` files it in), never to an older one.
ALTER TABLE diagnosis_results ALTER COLUMN id DROP DEFAULT;
CREATE TRIGGER tix_assign_id BEFORE INSERT ON diagnosis_results
    FOR EACH ROW EXECUTE FUNCTION tix_assign_id('diagnosis_results_id_seq');
REVOKE UPDATE, DELETE ON diagnosis_results FROM tix_app;
REVOKE ALL ON SEQUENCE diagnosis_results_id_seq FROM tix_app;
GRANT USAGE, SELECT ON SEQUENCE diagnosis_results_id_seq TO tix_system;

CREATE FUNCTION tix_diagnosis_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF tix_session_contact() IS NOT NULL AND NOT COALESCE(
        (SELECT tix_written_here(t.xmin) FROM tickets t WHERE t.id = NEW.ticket_id), false)
    THEN
        PERFORM tix_refuse('account check results on a ticket not opened in this transaction');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tix_diagnosis_guard BEFORE INSERT ON diagnosis_results
    FOR EACH ROW EXECUTE FUNCTION tix_diagnosis_guard();

-- A fix the account check applied at a customer's request, logged on the ticket. A customer
-- writes no internal note under row-level security: this function writes it, names no one but
-- the assistant, dates it now, and only for a fix the ticket's latest diagnosis offered.
CREATE FUNCTION tix_log_fix(ticket bigint, fix_kind text, fix_target text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    stamp timestamp := now() AT TIME ZONE 'utc';
    latest text := (SELECT d.run_id FROM diagnosis_results d WHERE d.ticket_id = ticket
                    ORDER BY d.at DESC, d.id DESC LIMIT 1);
BEGIN
    IF NOT tix_ticket_visible_to_caller(ticket) OR NOT EXISTS (
        SELECT 1 FROM diagnosis_results d WHERE d.ticket_id = ticket AND d.run_id = latest
        AND d.fix IS NOT NULL AND d.fix::json ->> 'kind' = fix_kind AND d.target = fix_target)
    THEN
        RAISE EXCEPTION USING MESSAGE = 'no such fix on ticket ' || ticket,
            ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO messages (ticket_id, body, internal, created_at) VALUES (ticket,
        'Account check: fix ' || fix_kind || ' applied on ' || fix_target
        || ' at the customer''s request.', true, stamp);
    INSERT INTO events (ticket_id, at, actor, kind, after) VALUES (ticket, stamp,
        'system:assistant', 'fix-applied',
        json_build_object('fix', fix_kind, 'target', fix_target)::text);
END
$$;

DO $pin$
DECLARE
    schema_name text := quote_ident(current_schema());
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY['tix_diagnosis_guard()', 'tix_log_fix(bigint, text, text)'] LOOP
        EXECUTE 'ALTER FUNCTION ' || fn || ' SET search_path = ' || schema_name || ', pg_temp';
        EXECUTE 'REVOKE ALL ON FUNCTION ' || fn || ' FROM PUBLIC';
        EXECUTE 'GRANT EXECUTE ON FUNCTION ' || fn || ' TO tix_app, tix_system';
    END LOOP;
END
$pin$;
