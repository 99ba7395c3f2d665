"""Opening the store named by one URL, and applying the numbered SQL migrations in sql/."""

import hashlib
import hmac
import os
import re
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

import peewee as pw

from tix import clock
from tix.errors import StoreError
from tix.models import SchemaMigration, database_proxy

BUSY_TIMEOUT_MS = 10_000  # default; TIX_BUSY_TIMEOUT (a duration like 10s) overrides it
MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgresql))?\.sql$")


def data_dir() -> Path:
    """Where tix keeps its default store and mail folder (XDG data directory)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "tix"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tix"


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'tix.db'}"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("TIX_DATABASE_URL") or default_url()


def mask_url(url: str) -> str:
    """The URL with any password replaced, for every message a user or a log sees."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


def hide_secrets(text: str, url: str) -> str:
    password = urlsplit(url).password
    if not password:
        return text
    # Both spellings: as written in the URL, and decoded as the driver was given it.
    return text.replace(password, "***").replace(unquote(password), "***")


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///") :]


def dialect(db: pw.Database) -> str:
    return "postgresql" if isinstance(db, pw.PostgresqlDatabase) else "sqlite"


def busy_timeout_ms() -> int:
    """How long a SQLite writer waits for another's lock before `database is locked`."""
    raw = os.environ.get("TIX_BUSY_TIMEOUT")
    if not raw:
        return BUSY_TIMEOUT_MS
    from tix.settings import parse_duration

    return int(parse_duration(raw, "TIX_BUSY_TIMEOUT").total_seconds() * 1000)


def open_database(url: str) -> pw.Database:
    """Build (not yet connect) the database for a URL and bind the models to it."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
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
        parts = urlsplit(url)
        # %-escapes ('@' as %40...) are how a URL carries these; the server wants them decoded.
        password = unquote(parts.password or "") or os.environ.get("TIX_DATABASE_PASSWORD")
        params = {
            "host": parts.hostname or None,
            "port": parts.port or 5432,
            "user": unquote(parts.username or "") or None,
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


def connect(url: str) -> pw.Database:
    db = open_database(url)
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise StoreError(
            f"cannot open store {mask_url(url)}: {hide_secrets(first_line, url)}"
        ) from exc
    return db


# -- who a transaction acts for (PostgreSQL row-level security, migrations 0009 and 0010) ---------

_identity: str | None = None


def set_identity(token_hash: str | None) -> None:
    """From now on, open every PostgreSQL transaction for this verified token (its sha256, as
    stored). The policies resolve it to the principal; None (tix-jobs, migrations) sets nothing."""
    global _identity
    _identity = token_hash
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
    return _identity is not None


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
            if outermost and _identity is not None:
                _present_identity(db, _identity)
            yield txn


def command_transaction(db: pw.Database | None = None):
    """What the CLI runs a signed-in command in, reads included: one transaction on PostgreSQL
    (row-level security sees the identity only inside one); nothing on SQLite, where each write
    keeps its own BEGIN IMMEDIATE and reads take no lock."""
    db = db or database_proxy.obj
    if dialect(db) == "sqlite":
        return nullcontext()
    return transaction(db)


# -- migrations -------------------------------------------------------------------------------


def _migrations_dir() -> Path:
    """The installed tix.sql folder. A plain path rather than importlib.resources, whose import
    alone added ~5 ms to every command's start-up (tix is never installed zipped)."""
    import tix.sql

    return Path(tix.sql.__file__).parent


def available_migrations(kind: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for this dialect: a file `NNNN_name.sql` serves both, and
    `NNNN_name.sqlite.sql` / `NNNN_name.postgresql.sql` serve one."""
    found = {}
    for entry in _migrations_dir().iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if not match:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if only and only != kind:
            continue
        found[version] = (version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


MIGRATION_LOCK = 7410  # the PostgreSQL advisory lock every upgrade takes


def _ensure_migrations_table(db: pw.Database) -> None:
    # Checked first: the application role may read the table but not create in the schema.
    if db.table_exists("schema_migrations"):
        return
    with transaction(db):
        if dialect(db) == "postgresql":
            # Two upgrades of an empty database would otherwise both CREATE, and the second
            # fail on PostgreSQL's catalog (IF NOT EXISTS does not cover a concurrent create).
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        db.execute_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )


def applied_versions(db: pw.Database) -> dict[int, object]:
    # Reading never creates the table: `tix db status` on an empty store writes nothing.
    if not db.table_exists("schema_migrations"):
        return {}
    return {row.version: row.applied_at for row in SchemaMigration.select()}


def migration_status(db: pw.Database) -> list[dict]:
    applied = applied_versions(db)
    return [
        {"version": version, "name": name, "applied_at": applied.get(version)}
        for version, name, _ in available_migrations(dialect(db))
    ]


def upgrade(db: pw.Database) -> list[str]:
    """Apply every pending migration, each in its own transaction with its record."""
    kind = dialect(db)
    _ensure_migrations_table(db)
    done = []
    for version, name, sql in available_migrations(kind):
        if version in applied_versions(db):
            continue
        apply = _apply_sqlite if kind == "sqlite" else _apply_postgresql
        # Reported only if this upgrade applied it, not a concurrent one.
        if apply(db, version, name, sql):
            done.append(f"{version:04d}_{name}")
    return done


def _sqlite_statements(sql: str) -> list[str]:
    """Split a script into statements (trigger bodies included), since executescript would
    commit on its own and break the one-transaction-per-migration rule."""
    import sqlite3

    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in buffer.splitlines()
    ):
        statements.append(buffer.strip())
    return statements


def _apply_sqlite(db, version, name, sql):
    with transaction(db):
        # Re-checked under the write lock: a concurrent upgrade may have just applied it.
        if db.execute_sql(
            "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
        ).fetchone():
            return False
        for statement in _sqlite_statements(sql):
            db.execute_sql(statement)
        db.execute_sql(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, clock.now()),
        )
    return True


def _apply_postgresql(db, version, name, sql):
    with db.atomic():
        # Two hosts upgrading at once: the second waits here, then finds the version applied.
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        if db.execute_sql(
            "SELECT 1 FROM schema_migrations WHERE version = %s", (version,)
        ).fetchone():
            return False
        db.execute_sql(sql)
        db.execute_sql(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (version, name, clock.now()),
        )
    return True


def is_current(db: pw.Database) -> bool:
    applied = applied_versions(db)
    return all(v in applied for v, _, _ in available_migrations(dialect(db)))


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
