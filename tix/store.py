"""Opening the store named by one URL; its transactions, the identity they carry on PostgreSQL,
and the one seam where the two dialects differ (`is_postgres`, `for_update`)."""

import hashlib
import hmac
import os
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee as pw

from tix.errors import StoreError
from tix.models import database_proxy
from tix.urls import hide_secrets, mask_url, url_password, url_user, without_userinfo

BUSY_TIMEOUT_MS = 10_000  # default; TIX_BUSY_TIMEOUT (a duration like 10s) overrides it


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :]


def dialect(db: pw.Database) -> str:
    return "postgresql" if isinstance(db, pw.PostgresqlDatabase) else "sqlite"


def is_postgres(db: pw.Database | None = None) -> bool:
    """The one question the code asks about the dialect (the store bound to the models by
    default); everything else is the same on both."""
    return dialect(db or database_proxy.obj) == "postgresql"


def for_update(query, *, skip_locked: bool = False):
    """Row locks for a select inside a transaction, on PostgreSQL. On SQLite the transaction
    already holds the write lock (BEGIN IMMEDIATE), which serializes writers on its own."""
    return query.for_update(skip_locked=skip_locked) if is_postgres() else query


def busy_timeout_ms() -> int:
    """How long a SQLite writer waits for another's lock before `database is locked`."""
    raw = os.environ.get("TIX_BUSY_TIMEOUT")
    if not raw:
        return BUSY_TIMEOUT_MS
    from tix.settings import parse_duration

    return int(parse_duration(raw, "TIX_BUSY_TIMEOUT").total_seconds() * 1000)


def _sqlite_file(url: str, path: Path, create: bool) -> None:
    """A new SQLite store is created readable only by its owner (0600: SQLite gives its WAL
    and shared-memory files the same mode), in an existing folder; only the default data
    directory is created when missing (0700), never folders named by a URL someone typed."""
    from tix import paths

    if path.exists():
        return
    if not create:
        raise StoreError(
            f"no store at {mask_url(url)}: run `tix init` (new store), or check --db / "
            "TIX_DATABASE_URL"
        )
    if not path.parent.is_dir():
        if path.parent != paths.data_dir():
            raise StoreError(
                f"cannot create store {mask_url(url)}: folder {path.parent} does not exist"
            )
        paths.private_dir(path.parent)
    try:
        paths.private_file(path)
    except OSError as exc:
        raise StoreError(f"cannot create store {mask_url(url)}: {exc.strerror}") from None


def open_database(url: str, *, create: bool = True) -> pw.Database:
    """Build (not yet connect) the database for a URL and bind the models to it. `create`:
    a SQLite file that does not exist yet is made (else: StoreError)."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path != ":memory:":
            _sqlite_file(url, Path(path), create)
        busy_ms = busy_timeout_ms()
        db = pw.SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "busy_timeout": busy_ms,
                "foreign_keys": 1,
                "synchronous": "normal",
            },
            timeout=busy_ms / 1000,
        )
    elif url.startswith(("postgresql://", "postgres://")):
        # Without its user part, urlsplit reads the rest right even if the password holds an
        # unescaped `#`, `/` or `?`.
        parts = urlsplit(without_userinfo(url))
        user = url_user(url)
        # %-escapes ('@' as %40...) are how a URL carries these; the server wants them decoded.
        password = unquote(url_password(url) or "") or os.environ.get("TIX_DATABASE_PASSWORD")
        params = {
            "host": parts.hostname or None,
            "port": parts.port or 5432,
            "user": unquote(user) or None,
            "connect_timeout": 10,
            "application_name": "tix",
        }
        if password:
            params["password"] = password
        db = pw.PostgresqlDatabase(unquote(parts.path.lstrip("/")) or None, **params)
    else:
        raise StoreError(
            f"unsupported database URL {mask_url(url)!r}: use sqlite:/// or postgresql://"
        )
    database_proxy.initialize(db)
    return db


def connect(url: str, *, create: bool = True) -> pw.Database:
    db = open_database(url, create=create)
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise StoreError(
            f"cannot open store {mask_url(url)}: {hide_secrets(first_line, url)}"
        ) from exc
    return db


# -- who a transaction acts for (PostgreSQL row-level security, migrations 0009 and 0010) ---------

# Per thread: `tix serve` answers each request in a worker thread, under that request's token.
_local = threading.local()


def set_identity(token_hash: str | None) -> None:
    """From now on, open every PostgreSQL transaction for this verified token (its sha256, as
    stored). The policies resolve it to the principal; None (tix-jobs, migrations) sets nothing."""
    _local.identity = token_hash
    db = database_proxy.obj
    # Named at once when a transaction is already open (the CLI opens one before it verifies).
    if (
        token_hash is not None
        and db is not None
        and dialect(db) == "postgresql"
        and not db.is_closed()
        and db.in_transaction()
    ):
        _present_identity(db, token_hash)


def has_identity() -> bool:
    return getattr(_local, "identity", None) is not None


def token_locator(token_hash: str) -> str:
    """What names a token to the database without proving anything (sha256 of its stored
    hash): safe in statement text, which other sessions of the same login can read."""
    return hashlib.sha256(bytes.fromhex(token_hash)).hexdigest()


def _present_identity(db: pw.Database, token_hash: str) -> None:
    """Prove the token for this transaction without sending its hash: an HMAC, keyed by the
    hash, of the backend's challenge (its pid and start time). Another session that reads the
    statement in pg_stat_activity cannot use it on any other backend (migration 0010)."""
    challenge = db.execute_sql("SELECT tix_identity_challenge()").fetchone()[0]
    proof = hmac.new(bytes.fromhex(token_hash), challenge.encode(), hashlib.sha256).hexdigest()
    db.execute_sql(
        "SELECT set_config('tix.identity', %s, true)", (f"{token_locator(token_hash)}:{proof}",)
    )


def bound_lock_waits(db: pw.Database) -> None:
    """On PostgreSQL, let no statement of this connection wait longer than TIX_BUSY_TIMEOUT for
    a lock (mail-in: a held lock defers the message instead of hanging the MTA's delivery)."""
    if dialect(db) == "postgresql":
        db.execute_sql(f"SET lock_timeout = {busy_timeout_ms():d}")


@contextmanager
def transaction(db: pw.Database | None = None):
    """A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE) so two
    writers queue on the busy timeout instead of failing on a lock upgrade. On PostgreSQL the
    outermost one first names its identity, transaction-locally, so a pooled connection never
    carries one person's identity into the next transaction."""
    db = db or database_proxy.obj
    if dialect(db) == "sqlite":
        try:
            with db.atomic("IMMEDIATE") as txn:
                yield txn
        except pw.OperationalError as exc:
            # SQLite ends the transaction itself on some errors (disk full, I/O error); peewee's
            # ROLLBACK then fails, and its "no transaction is active" would hide the cause.
            if "no transaction is active" not in str(exc):
                raise
            cause = exc.__context__
            while cause is not None and "no transaction is active" in str(cause):
                cause = cause.__context__  # past the driver's own error under peewee's
            if cause is None:
                raise
            raise pw.OperationalError(str(cause)) from None  # e.g. COMMIT: disk full
    else:
        outermost = not db.in_transaction()
        with db.atomic() as txn:
            identity = getattr(_local, "identity", None)
            if outermost and identity is not None:
                _present_identity(db, identity)
            yield txn


def command_transaction(db: pw.Database | None = None):
    """What the CLI runs a signed-in command in, reads included: one transaction on PostgreSQL
    (row-level security sees the identity only inside one); nothing on SQLite, where each write
    keeps its own BEGIN IMMEDIATE and reads take no lock."""
    db = db or database_proxy.obj
    if dialect(db) == "sqlite":
        return nullcontext()
    return transaction(db)


# Rows per INSERT statement: a few hundred, far below SQLite's limit on bound variables.
INSERT_CHUNK = 200


def insert_rows(
    table: str, columns: tuple[str, ...], rows: list[tuple], db: pw.Database | None = None
) -> None:
    """Insert many rows with one multi-row INSERT per chunk. For the hourly job's batches:
    peewee's insert_many spent more time converting each value than the database spent
    storing it. Values go to the driver as they are (naive UTC datetimes, str, int, None)."""
    db = db or database_proxy.obj
    names = ", ".join(columns)
    one = "(" + ", ".join([db.param] * len(columns)) + ")"
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        params = [value for row in chunk for value in row]
        values = ", ".join([one] * len(chunk))
        db.execute_sql(f"INSERT INTO {table} ({names}) VALUES {values}", params)
