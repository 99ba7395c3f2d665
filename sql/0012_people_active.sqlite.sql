-- A contact can be deactivated (`tix admin contact deactivate`) and reactivated, like an agent:
-- a deactivated contact can neither log in nor write by email, and is sent no ticket email.
ALTER TABLE contacts ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
