-- The account check needs to know where a customer's services live: the address of the
-- account's server (ours) and the host that answers its mail (IMAP, POP3, submission).
ALTER TABLE services ADD COLUMN server_ip TEXT;
ALTER TABLE services ADD COLUMN mail_host TEXT;
