"""The run-level lock: one `tix-jobs` run at a time per store, as an optimisation only.

Correctness never rests on it: every ticket transition is a compare-and-set and every outbox
row is claimed by one run at a time, so two runs that both get past this lock still do each
thing once. The lock only spares the second run the work. It dies with its process, kill -9
included: an flock on a file beside the SQLite store (the kernel drops it with the file
descriptor); on PostgreSQL the row `run` of job_locks, locked by a transaction on a connection
of the lock's own (the server drops it with the connection). Not an advisory lock: any session
of the application role could take that one first and stall every run; job_locks it cannot
even read (migration 0010).
"""

import os
from contextlib import contextmanager

import peewee as pw

from tix.store import dialect, sqlite_path


class RunLock:
    def __init__(self, db: pw.Database, url: str):
        self.db = db
        self.url = url
        self._fd = None
        self._pg_conn = None

    def lock_file(self) -> str | None:
        path = sqlite_path(self.url)
        return None if path == ":memory:" else f"{path}.jobs-lock"

    def acquire(self) -> bool:
        """True if this process now holds the lock; False if another run holds it."""
        if dialect(self.db) == "postgresql":
            return self._acquire_pg()
        path = self.lock_file()
        if path is None:
            return True
        import fcntl

        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _acquire_pg(self) -> bool:
        import psycopg2.errors

        # Its own connection: the run's work commits many transactions on the main one.
        conn = self.db._connect()
        conn.autocommit = False  # the lock lasts as long as this transaction
        try:
            conn.cursor().execute("SELECT name FROM job_locks WHERE name = 'run' FOR UPDATE NOWAIT")
        except psycopg2.errors.LockNotAvailable:
            conn.close()
            return False
        except psycopg2.errors.InsufficientPrivilege:
            # The application role: it sees no work, so there is nothing to spare anyone.
            conn.close()
            return True
        self._pg_conn = conn
        return True

    def release(self) -> None:
        if self._pg_conn is not None:
            conn, self._pg_conn = self._pg_conn, None
            conn.close()  # ends its transaction, and the row lock with it
        if self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@contextmanager
def run_lock(db: pw.Database, url: str):
    """Yields True while holding the lock, False if another run has it."""
    lock = RunLock(db, url)
    held = lock.acquire()
    try:
        yield held
    finally:
        if held:
            lock.release()
