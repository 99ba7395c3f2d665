"""The run-level lock: one `tix-jobs` run at a time per store, as an optimisation only.

Correctness never rests on it: every ticket transition is a compare-and-set and every outbox
row is claimed by one run at a time, so two runs that both get past this lock still do each
thing once. The lock only spares the second run the work. It dies with its process, kill -9
included: an flock on a file beside the SQLite store (the kernel drops it with the file
descriptor), a session advisory lock on PostgreSQL (the server drops it with the connection).
"""

import os
from contextlib import contextmanager

import peewee as pw

from tix.store import dialect, sqlite_path

# Any constant works as long as nothing else in tix uses it (migrations use 7410, per transaction).
PG_LOCK_KEY = 7411


class RunLock:
    def __init__(self, db: pw.Database, url: str):
        self.db = db
        self.url = url
        self._fd = None
        self._pg_held = False

    def lock_file(self) -> str | None:
        path = sqlite_path(self.url)
        return None if path == ":memory:" else f"{path}.jobs-lock"

    def acquire(self) -> bool:
        """True if this process now holds the lock; False if another run holds it."""
        if dialect(self.db) == "postgresql":
            self._pg_held = bool(
                self.db.execute_sql("SELECT pg_try_advisory_lock(%s)", (PG_LOCK_KEY,)).fetchone()[0]
            )
            return self._pg_held
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

    def release(self) -> None:
        if self._pg_held:
            self._pg_held = False
            if not self.db.is_closed():
                self.db.execute_sql("SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))
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
