-- The account check (tix/diagnosis): what each check found about a ticket's services, kept
-- with the ticket. One row per result; the rows of one diagnosis share run_id and at. `facts`
-- and `fix` are JSON text; `private` rows (our server addresses and the like) are for agents
-- only, and tix never shows them, nor any row's facts, to a customer.
CREATE TABLE diagnosis_results (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    run_id TEXT NOT NULL,
    at DATETIME NOT NULL,
    check_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'warn', 'fail', 'could-not-check')),
    facts TEXT NOT NULL DEFAULT '{}',
    text_en TEXT NOT NULL,
    text_es TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 0,
    fix TEXT
);
CREATE INDEX diagnosis_results_ticket ON diagnosis_results (ticket_id, at);
