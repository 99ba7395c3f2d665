"""The numbered SQL migrations in sql/: which exist, which are applied, applying them.

Each is applied once in its own transaction together with its row in schema_migrations; on
PostgreSQL under an advisory lock, so hosts upgrading at once apply each exactly once."""

import re
from pathlib import Path

import peewee as pw

from tix import clock
from tix.models import SchemaMigration
from tix.store import dialect, transaction

MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+?)(?:\.(sqlite|postgresql))?\.sql$")


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
