"""Sending the outbox, exactly once, over several SMTP connections at once (TIX_SMTP_CONNECTIONS;
the mail folder uses one). How each message leaves is in transports.py; this module decides who
sends what and writes down what happened.

One thread per connection does the SMTP talking; this process's main thread is the only one
that touches the store: it claims rows, and commits every connection's marks and outcomes
together, as they come (a commit, hence on PostgreSQL a flush, serves several messages). A
connection never has more than one message between its durable start mark and its recorded
outcome (see tix.outbox.delivery.start), so a run killed at any moment leaves at most one
message `uncertain` per connection, and none that was already recorded sent is sent again.
"""

import collections
import logging
import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field

from tix.jobs.transports import (  # noqa: F401  (what callers and tests import from here)
    NOT_OURS,
    FolderTransport,
    SmtpConfigError,
    SmtpTransport,
    mail_folder,
    make_transport,
    wire_bytes,
)

from tix import clock, mailsettings, outbox, settings, tickets
from tix.outbox import SENT, Outcome
from tix.store import transaction

log = logging.getLogger("tix.jobs")


class _StoreFailed(Exception):
    """What a connection's thread sees when the main thread's write failed: the run stops
    (the main thread raises the store's own error)."""


# Rows claimed at once: small enough that concurrent runs share the work.
DISPATCH_BATCH_MAX = 100


@dataclass
class NotifyResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    uncertain: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.retrying + self.dead + self.uncertain


def notify(
    conf: settings.Settings, transport=None, *, connections: int | None = None, progress=None
) -> NotifyResult:
    """Send every due outbox row until none is left for this run. `transport`: one given
    transport (one connection); else TIX_SMTP_CONNECTIONS SMTP connections, or the mail
    folder. `progress(result)` is called after each commit."""
    if transport is not None:
        transports = [transport]
    else:
        first = make_transport(conf)
        count = 1 if isinstance(first, FolderTransport) else mailsettings.smtp_connections()
        count = connections or count
        transports = [first] + [make_transport(conf) for _ in range(count - 1)]
    return _Dispatch(conf, transports, progress).run()


def due_count() -> int:
    """How many rows a run would send now (for a progress display)."""
    return outbox.count_due(clock.now())


class _Dispatch:
    def __init__(self, conf: settings.Settings, transports: list, progress):
        self.conf = conf
        self.lease = settings.outbox_lease()
        self.batch = min(conf.batch_size, DISPATCH_BATCH_MAX)
        self.result = NotifyResult()
        self.progress = progress
        self.requests: queue.SimpleQueue = queue.SimpleQueue()
        self.connections = [_Connection(self, t) for t in transports]
        self.rows: collections.deque = collections.deque()
        # The claimed rows no connection has taken yet; refilled by the main thread before they
        # run out (a claim in flight never stops the connections that still have work).
        self.rows_ready = threading.Condition()
        self.claiming = False
        self.exhausted = False
        # Why no new message is begun (the server is unreachable, an error); None: go on.
        self.stopping: str | None = None
        self.error: BaseException | None = None
        self.renewed_at = None
        self.lock = threading.Lock()  # the first error

    def run(self) -> NotifyResult:
        _, self.result.uncertain = outbox.expire_leases(clock.now())
        if self.result.uncertain:
            log.warning(
                "%d message(s) left half-sent by a stopped run are now uncertain "
                "(see `tix-jobs outbox --status uncertain`)",
                self.result.uncertain,
            )
        threads = [
            threading.Thread(target=c.run, name=f"tix-smtp-{n}", daemon=True)
            for n, c in enumerate(self.connections)
        ]
        for thread in threads:
            thread.start()
        try:
            self.serve(len(threads))
        except BaseException:
            # Interrupted: the connections' threads die with the process; what they started
            # is covered by the leases, like a kill.
            self.stop("interrupted")
            outbox.release_unstarted()
            raise
        for thread in threads:
            thread.join()
        outbox.release_unstarted()  # claimed, never begun: queued again, no attempt charged
        if self.error is not None:
            raise self.error
        return self.result

    # -- the store's side ------------------------------------------------------------------------

    def submit(self, request: tuple) -> None:
        """A claim, a mark or an outcome, for the main thread to write."""
        self.requests.put(request)

    def serve(self, active: int) -> None:
        """The one writer (this process's main thread): everything that came in since its last
        commit, together, until every connection is done. (Measured against each connection
        writing its own marks on its own database connection: on PostgreSQL, at 8 and 16
        connections, one writer sent 1.5-3x as many messages a second; on SQLite the writers
        would queue on its one write lock.)"""
        while active:
            requests = [self.requests.get()]
            while True:
                try:
                    requests.append(self.requests.get_nowait())
                except queue.Empty:
                    break
            active -= sum(1 for r in requests if r[0] == "done")
            self.handle(requests)

    def handle(self, requests: list) -> None:
        writes = []
        for request in requests:
            if request[0] == "claim":
                self.claim()
            else:
                writes.append(request)
                if request[0] == "done" and request[3] is not None:
                    self.fail(request[3])
        if writes:
            self.write(writes)

    def claim(self) -> None:
        rows = []
        try:
            if not self.stopping:
                now = clock.now()
                rows = outbox.claim(now, self.batch, self.lease)
                self.renewed_at = now
        except Exception as exc:
            self.fail(exc)
        with self.rows_ready:
            self.rows.extend(rows)
            self.exhausted = self.exhausted or not rows
            self.claiming = False
            self.rows_ready.notify_all()

    def write(self, requests: list) -> None:
        """Every mark and outcome that came in, together: the plain start marks (with the
        previous message's `sent`) as one statement, anything else (outcomes, a reminder whose
        delivery arms a close, the lease renewal) in the same transaction. Then each connection
        that waits for its mark is told whether the row is still its own."""
        now = clock.now()
        arm = tickets.reminder_delivered
        plain, others = [], []
        for request in requests:
            previous = request[3] if request[0] == "start" else None
            if request[0] == "start" and not (previous and outbox.arms_a_close(previous.row)):
                plain.append(request)
            else:
                others.append(request)
        renew = self.renewed_at is None or now - self.renewed_at >= self.lease / 4
        answers, tallies = [], []
        try:
            # One statement alone is a transaction of its own, without BEGIN and COMMIT.
            with transaction() if (others or renew) else nullcontext():
                if plain:
                    changed = outbox.start_many([(r[2], r[3]) for r in plain], now)
                    for _, connection, row, previous in plain:
                        answers.append((connection, row.id in changed))
                        if previous is not None:
                            status = "sent" if previous.row.id in changed else None
                            tallies.append((previous.row, status, SENT))
                for request in others:
                    tallies += self._write_one(request, now, arm, answers)
                if renew:
                    # The rows still claimed stay this run's: renewed every quarter lease.
                    outbox.renew_lease(now, self.lease)
                    self.renewed_at = now
        except Exception as exc:
            self.fail(exc)
            for connection, _ in answers:
                connection.replies.put(exc)
            for request in requests:  # the ones that had no answer yet
                if request[0] == "start" and all(c is not request[1] for c, _ in answers):
                    request[1].replies.put(exc)
            return
        for connection, mine in answers:
            connection.replies.put(mine)
        for row, status, outcome in tallies:
            _tally(self.result, row, status, outcome)
        if self.progress is not None:
            self.progress(self.result)

    def _write_one(self, request, now, arm, answers) -> list:
        kind, connection, row = request[0], request[1], request[2]
        if kind == "start":  # its previous message was a reminder: its delivery arms a close
            mine, status = outbox.start(row, now, request[3], arm_close=arm)
            answers.append((connection, mine))
            return [(request[3].row, status, SENT)]
        if kind == "record":
            outcome, previous = request[3], request[4]
            status, previous_status = outbox.record(
                row, outcome, now, self.conf.outbox_lifetime, previous, arm_close=arm
            )
            done = [(row, status, outcome)]
            return ([(previous.row, previous_status, SENT)] if previous else []) + done
        if kind == "done" and row is not None:  # its connection's last `sent`
            return [(row.row, outbox.record_delivered(row, arm_close=arm), SENT)]
        return []

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None and not isinstance(exc, _StoreFailed):
                self.error = exc
        self.stop("stopping on an error")

    def stop(self, why: str) -> None:
        """No connection begins another message (what is under way is finished)."""
        with self.rows_ready:
            self.stopping = self.stopping or why
            self.rows_ready.notify_all()

    # -- the connections' side ------------------------------------------------------------------

    def next_row(self, connection: "_Connection"):
        """The next claimed row for this connection, or None when there is none (or the run
        is stopping). Rows come from one shared batch; when fewer are left than there are
        connections, the main thread is asked to claim the next batch."""
        with self.rows_ready:
            while True:
                if self.stopping:
                    return None
                low = len(self.rows) <= len(self.connections)
                if low and not self.exhausted and not self.claiming:
                    self.claiming = True
                    self.submit(("claim", connection))
                if self.rows:
                    return self.rows.popleft()
                if self.exhausted and not self.claiming:
                    return None
                self.rows_ready.wait()


class _Connection:
    """One SMTP connection (or the mail folder) in its own thread: takes rows, asks the main
    thread for each row's start mark, hands the message over, reports the outcome."""

    def __init__(self, dispatch: _Dispatch, transport):
        self.dispatch = dispatch
        self.transport = transport
        self.replies: queue.SimpleQueue = queue.SimpleQueue()
        # The message the server accepted whose `sent` goes with this connection's next write.
        self.delivered: outbox.Delivered | None = None
        self.waiting = None  # the start mark asked for and not yet waited for

    def run(self) -> None:
        error = None
        try:
            while (row := self.dispatch.next_row(self)) is not None:
                self.send(row)
        except BaseException as exc:  # handed to the main thread, which raises it
            error = exc
        finally:
            try:
                self.transport.close()
            except Exception:
                pass
            self.dispatch.submit(("done", self, self._take_delivered(), error))

    def _take_delivered(self):
        delivered, self.delivered = self.delivered, None
        return delivered

    def start(self, row):
        """Ask for `row`'s durable start mark (with the previous message's `sent`); returns the
        function that waits for it: True if the row is still this run's to send."""
        self.dispatch.submit(("start", self, row, self._take_delivered()))
        answer = []

        def wait() -> bool:
            if not answer:
                self.waiting = None
                value = self.replies.get()
                if isinstance(value, BaseException):
                    raise _StoreFailed() from value
                answer.append(value)
            return answer[0]

        self.waiting = wait
        return wait

    def send(self, row) -> None:
        try:
            row.raw.encode("utf-8", "surrogateescape")
        except UnicodeError as exc:
            outcome = Outcome("dead", f"cannot be sent: its text cannot be encoded ({exc})")
            self.dispatch.submit(("record", self, row, outcome, self._take_delivered()))
            return
        try:
            outcome = self.transport.prepare(row, self.start)
        except (SmtpConfigError, _StoreFailed):
            self._settle_start()
            raise
        except Exception as exc:
            # This message cannot be handed over (its text, its address): it goes dead with the
            # reason, and the connection starts afresh for the others.
            self._settle_start()
            self.transport.drop()
            outcome = Outcome("dead", f"cannot be sent: {type(exc).__name__}: {exc}")
        if outcome is NOT_OURS:
            return  # another run owns the row now, or its reminder was cancelled
        if outcome is None:
            try:
                outcome = self.transport.deliver(row)
            except Exception as exc:
                self.transport.drop()
                outcome = Outcome(
                    "uncertain",
                    f"stopped while handing it over ({type(exc).__name__}: {exc}); "
                    "the server may have accepted it",
                )
            if outcome.status == "sent":
                self.delivered = outbox.Delivered(row, clock.now())
                return
        self.dispatch.submit(("record", self, row, outcome, self._take_delivered()))
        if outcome.status == "retry" and self.transport.unreachable:
            # The rest stays queued, untouched and not charged an attempt, for the next run.
            self.dispatch.stop(self.transport.unreachable)

    def _settle_start(self) -> None:
        """A start mark asked for must be waited for, whatever happened meanwhile."""
        if self.waiting is not None:
            try:
                self.waiting()
            except Exception:
                pass


def _tally(result: NotifyResult, row, status: str | None, outcome: Outcome) -> None:
    if status == "sent":
        result.sent += 1
        result.details.append(f"sent {row.kind} to {row.recipient} {row.message_id}")
        return
    if status == "failed":
        result.retrying += 1
    elif status == "dead":
        result.dead += 1
    elif status == "uncertain":
        result.uncertain += 1
    else:
        return  # no longer ours: the run that took it over reports it
    shown = {
        "failed": "retrying",
        "dead": "dead" if outcome.status == "dead" else "dead (undelivered too long)",
    }.get(status, status)
    result.details.append(
        f"{shown} {row.kind} to {row.recipient} {row.message_id}: {outcome.error}"
    )
    log.warning(
        "outbox %d (%s to %s): %s: %s", row.id, row.kind, row.recipient, shown, outcome.error
    )


def send_pending_for_demo() -> int:
    """`tix demo`: write every queued email of the demo store into its mail folder."""
    from tix import paths, store

    db = store.connect(paths.resolve_url(None))
    try:
        return notify(settings.load(), FolderTransport(mail_folder())).sent
    finally:
        db.close()
