"""The flood limit of `tix-jobs mail-in` (tix/inbound.py): one sender's messages handled one at
a time, and the window its notice names."""

from tix.models import InboundMail
from tix.store import dialect


def lock_sender(sender: str) -> None:
    """Serialise messages from one sender so two deliveries at once cannot both pass the flood
    limit (SQLite's BEGIN IMMEDIATE already serialises every writer). On PostgreSQL a row of
    job_locks, which the application role cannot lock (an advisory lock it could), for one of
    65536 buckets of senders; waited for at most TIX_BUSY_TIMEOUT, after which mail-in defers the
    message (exit 75) rather than hang."""
    db = InboundMail._meta.database.obj
    if dialect(db) == "postgresql":
        import hashlib

        from tix.store import busy_timeout_ms

        bucket = hashlib.sha256(sender.encode("utf-8", "surrogatepass")).hexdigest()[:4]
        db.execute_sql(f"SET LOCAL lock_timeout = {busy_timeout_ms():d}")
        db.execute_sql(
            "INSERT INTO job_locks (name) VALUES (%s)"
            " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
            (f"mail-in:{bucket}",),
        )


def window_text(window, lang: str) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return (
            f"{hours} {'horas' if lang == 'es' else 'hours'}"
            if hours != 1
            else ("hora" if lang == "es" else "hour")
        )
    return f"{minutes} {'minutos' if lang == 'es' else 'minutes'}"
