-- `tix search --all`: every ticket, closed ones included, in the agents' order, so a
-- search for common words walks tickets in the order it prints them and stops at --limit,
-- testing each against the words' matches, instead of reading and sorting every ticket that
-- ever matched (`--all --limit 50` at 1M tickets: 0.1-1.5 s on SQLite, 0.7 s on PostgreSQL;
-- 6 ms with this index). The live queue has its own partial index (tickets_live, 0003).
CREATE INDEX tickets_all_order ON tickets (priority DESC, created_at, id);
