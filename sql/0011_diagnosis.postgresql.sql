-- The account check (tix/diagnosis): what each check found about a ticket's services, kept
-- with the ticket. One row per result; the rows of one diagnosis share run_id and at. `facts`
-- and `fix` are JSON text; `private` rows (our server addresses and the like) are for agents
-- only, and tix never shows them, nor any row's facts, to a customer.
CREATE TABLE diagnosis_results (
    id BIGSERIAL PRIMARY KEY,
    ticket_id BIGINT NOT NULL REFERENCES tickets (id),
    run_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    check_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'fail', 'could-not-check')),
    facts TEXT NOT NULL DEFAULT '{}',
    text_en TEXT NOT NULL,
    text_es TEXT NOT NULL,
    private BOOLEAN NOT NULL DEFAULT FALSE,
    fix TEXT
);
CREATE INDEX diagnosis_results_ticket ON diagnosis_results (ticket_id, at);

-- Row-level security as for every table hanging off tickets (0009): agents every row; a contact
-- reads the rows of tickets they see, except private ones (tix filters them too), and adds rows
-- to them (the diagnosis is saved in the transaction that files the customer's ticket; saving
-- uses no RETURNING, so a private row need not be readable by the contact who files it).
ALTER TABLE diagnosis_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE diagnosis_results FORCE ROW LEVEL SECURITY;
CREATE POLICY tix_agent_all ON diagnosis_results FOR ALL TO tix_app
    USING ((SELECT tix_session_agent()) IS NOT NULL) WITH CHECK ((SELECT tix_session_agent()) IS NOT NULL);
CREATE POLICY tix_contact_read ON diagnosis_results FOR SELECT TO tix_app
    USING (NOT private AND tix_ticket_visible(ticket_id));
CREATE POLICY tix_contact_insert ON diagnosis_results FOR INSERT TO tix_app
    WITH CHECK (tix_ticket_visible(ticket_id));
CREATE POLICY tix_system_all ON diagnosis_results FOR ALL TO tix_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON diagnosis_results TO tix_app, tix_system;
GRANT USAGE, SELECT ON SEQUENCE diagnosis_results_id_seq TO tix_app, tix_system;
