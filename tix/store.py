"""Opening the store named by one URL, and applying the numbered SQL migrations in sql/."""

import os
import re
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee as pw

from tix import clock
from tix.errors import StoreError
from tix.models import SchemaMigration, database_proxy

BUSY_TIMEOUT_MS = 10_000
MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgresql))?\.sql$")


def data_dir() -> Path:
    """Where tix keeps its default store and mail folder (XDG data directory)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
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
    return text.replace(password, "***") if password else text


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def dialect(db: pw.Database) -> str:
    return "postgresql" if isinstance(db, pw.PostgresqlDatabase) else "sqlite"


def open_database(url: str) -> pw.Database:
    """Build (not yet connect) the database for a URL and bind the models to it."""
    if url.startswith("sqlite:///"):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = pw.SqliteDatabase(
            path,
            pragmas={
                "journal_mode": "wal",
                "busy_timeout": BUSY_TIMEOUT_MS,
                "foreign_keys": 1,
                "synchronous": "normal",
            },
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    elif url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        password = parts.password or os.environ.get("TIX_DATABASE_PASSWORD")
        params = {
            "host": parts.hostname or None,
            "port": parts.port or 5432,
            "user": parts.username or None,
            "connect_timeout": 10,
            "application_name": "tix",
        }
        if password:
            params["password"] = password
        db = pw.PostgresqlDatabase(parts.path.lstrip("/") or None, **params)
    else:
        raise StoreError(f"unsupported database URL {mask_url(url)!r}: use sqlite:/// or postgresql://")
    database_proxy.initialize(db)
    return db


def connect(url: str) -> pw.Database:
    db = open_database(url)
    try:
        db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise StoreError(f"cannot open store {mask_url(url)}: {hide_secrets(first_line, url)}") from exc
    return db


@contextmanager
def transaction(db: pw.Database | None = None):
    """A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE) so two
    writers queue on the busy timeout instead of failing on a lock upgrade."""
    db = db or database_proxy.obj
    if dialect(db) == "sqlite":
        with db.atomic("IMMEDIATE") as txn:
            yield txn
    else:
        with db.atomic() as txn:
            yield txn


# -- migrations -------------------------------------------------------------------------------

def available_migrations(kind: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) for this dialect: a file `NNNN_name.sql` serves both, and
    `NNNN_name.sqlite.sql` / `NNNN_name.postgresql.sql` serve one."""
    found = {}
    for entry in resources.files("tix.sql").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if not match:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if only and only != kind:
            continue
        found[version] = (version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _ensure_migrations_table(db: pw.Database) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )


def applied_versions(db: pw.Database) -> dict[int, object]:
    _ensure_migrations_table(db)
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
    done = []
    for version, name, sql in available_migrations(kind):
        if version in applied_versions(db):
            continue
        if kind == "sqlite":
            _apply_sqlite(db, version, name, sql)
        else:
            _apply_postgresql(db, version, name, sql)
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
    if buffer.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buffer.splitlines()):
        statements.append(buffer.strip())
    return statements


def _apply_sqlite(db, version, name, sql):
    with transaction(db):
        # Re-checked under the write lock: a concurrent upgrade may have just applied it.
        if db.execute_sql("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)).fetchone():
            return
        for statement in _sqlite_statements(sql):
            db.execute_sql(statement)
        db.execute_sql(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (version, name, clock.now()),
        )


def _apply_postgresql(db, version, name, sql):
    with db.atomic():
        # Two hosts upgrading at once: the second waits here, then finds the version applied.
        db.execute_sql("SELECT pg_advisory_xact_lock(7410)")
        if db.execute_sql("SELECT 1 FROM schema_migrations WHERE version = %s", (version,)).fetchone():
            return
        db.execute_sql(sql)
        db.execute_sql(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (version, name, clock.now()),
        )


def is_current(db: pw.Database) -> bool:
    applied = applied_versions(db)
    return all(v in applied for v, _, _ in available_migrations(dialect(db)))
