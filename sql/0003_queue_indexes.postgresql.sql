-- The agents' queue: `tix list` reads live tickets by priority, then age. The queue
-- index of 0001 leads with status, and `status <> 'closed'` is no range an index can walk, so at
-- 1M tickets a department's queue read every ticket the department ever had and sorted them.
-- These partial indexes hold only live tickets, already in queue order: a page of the queue
-- reads that page, however long the closed history grows.
CREATE INDEX tickets_live_queue ON tickets (department_id, priority DESC, created_at, id)
    WHERE status <> 'closed';
-- The same queue across every department (`tix list` with no --department).
CREATE INDEX tickets_live ON tickets (priority DESC, created_at, id) WHERE status <> 'closed';

-- The hourly job walks the tickets it may remind or close in id order (bounded batches). These
-- partial indexes hold only tickets waiting on the customer, so a walk reads the candidates
-- alone, not the whole table in id order: a run costs what is due, not the store's size.
CREATE INDEX tickets_remind_walk ON tickets (id, waiting_since)
    WHERE status = 'answered' AND reminded_at IS NULL;
CREATE INDEX tickets_close_walk ON tickets (id, reminder_delivered_at)
    WHERE status = 'answered' AND reminder_delivered_at IS NOT NULL;
