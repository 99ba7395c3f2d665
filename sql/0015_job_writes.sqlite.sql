-- The hourly job at a million tickets: what each reminder and auto-close writes. A batch's
-- tickets are spread over the whole store, so every index entry a transition moves lands on
-- a page of its own, to be read, written to the WAL and checkpointed into a large file: at 1M
-- a close touched ~4 such pages beyond the ticket's own row and its event. So:
-- * tickets_queue (department, status, ...) goes: a close moved its entry from one end of
--   the index to the other, and the queue it was made for reads tickets_live_queue (0003);
--   `--all` by department walks tickets_all_order (0008). The assignee's index holds live
--   tickets only, in queue order (what `--assignee me` lists): a close just drops an entry
--   from a small index;
-- * the outbox's index by ticket holds only mail waiting to be sent (what cancelling a stale
--   reminder looks for; claimed rows it finds through outbox_leases): a new email's entry
--   joins a few hundred, not a million. ('sending' stays out of it: every start mark would
--   match it, and PostgreSQL, with no statistics of its changing contents, read the whole
--   index for each mark instead of two primary-key lookups);
-- * the event log's index by ticket is the ticket alone (a ticket's few events are sorted
--   when read): narrower, so one page holds four times as many tickets;
-- * tickets_waiting and tickets_reminded (0001) duplicated the job's walk indexes (0003).
DROP INDEX tickets_queue;
DROP INDEX tickets_assignee;
CREATE INDEX tickets_assignee_live ON tickets (assignee_id, priority DESC, created_at, id)
    WHERE status <> 'closed';
DROP INDEX outbox_ticket;
CREATE INDEX outbox_ticket_unsent ON outbox (ticket_id) WHERE status IN ('pending', 'failed');
DROP INDEX events_ticket;
CREATE INDEX events_ticket ON events (ticket_id);
DROP INDEX tickets_waiting;
DROP INDEX tickets_reminded;
