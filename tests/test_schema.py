"""The peewee models and the schema the migrations build agree, on SQLite and PostgreSQL; each
migration is applied and recorded once, however many upgrades run, even at the same time."""

import threading

import deskdb
import peewee as pw
import pytest

from tix import migrations, store
from tix.models import BaseModel, SchemaMigration


def all_models() -> list[type[pw.Model]]:
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        found.append(model)
        todo.extend(model.__subclasses__())
    return sorted(found, key=lambda m: m._meta.table_name)


def kind_of_column(data_type: str) -> str:
    text = data_type.lower()
    for needle, kind in (
        ("timestamp", "datetime"),
        ("datetime", "datetime"),
        ("int", "integer"),
        ("serial", "integer"),
        ("bool", "boolean"),
        ("blob", "blob"),
        ("bytea", "blob"),
        ("text", "text"),
        ("char", "text"),
        ("real", "float"),
        ("double", "float"),
        ("numeric", "float"),
        ("date", "date"),
        ("json", "json"),
    ):
        if needle in text:
            return kind
    return text


FIELD_KINDS = {
    "AUTO": "integer",
    "BIGAUTO": "integer",
    "INT": "integer",
    "BIGINT": "integer",
    "SMALLINT": "integer",
    "TEXT": "text",
    "VARCHAR": "text",
    "CHAR": "text",
    "DATETIME": "datetime",
    "TIMESTAMP": "datetime",
    "BOOL": "boolean",
    "BLOB": "blob",
    "FLOAT": "float",
    "DOUBLE": "float",
    "DECIMAL": "float",
    "DATE": "date",
    "JSON": "json",
}


def kind_of_field(field: pw.Field) -> str:
    if isinstance(field, pw.ForeignKeyField):
        return "integer"
    return FIELD_KINDS.get(field.field_type, field.field_type.lower())


def test_models_and_migrated_schema_agree(store_url):
    problems = []
    with deskdb.opened(store_url) as db:
        sqlite = store.dialect(db) == "sqlite"
        tables = set(db.get_tables())
        for model in all_models():
            table = model._meta.table_name
            if table not in tables:
                problems.append(f"{model.__name__}: no table {table}")
                continue
            columns = {c.name: c for c in db.get_columns(table)}
            fields = {f.column_name: f for f in model._meta.sorted_fields}
            for name in sorted(set(columns) ^ set(fields)):
                where = "the table" if name in columns else "the model"
                problems.append(f"{table}.{name}: only in {where}")
            for name in sorted(set(columns) & set(fields)):
                column, field = columns[name], fields[name]
                expected = kind_of_field(field)
                actual = kind_of_column(column.data_type)
                if sqlite and expected == "boolean":
                    expected = "integer"  # SQLite keeps booleans as 0/1
                if actual != expected:
                    problems.append(
                        f"{table}.{name}: {column.data_type} in the table, "
                        f"{field.field_type} in the model"
                    )
                if bool(column.null) != bool(field.null) and not field.primary_key:
                    problems.append(
                        f"{table}.{name}: null={column.null} in the table, "
                        f"null={field.null} in the model"
                    )
            model_pk = sorted(
                f.column_name
                for f in (model._meta.get_primary_keys() if model._meta.primary_key else [])
            )
            if sorted(db.get_primary_keys(table)) != model_pk:
                problems.append(f"{table}: primary key {db.get_primary_keys(table)} vs {model_pk}")
            unique_columns = {tuple(i.columns) for i in db.get_indexes(table) if i.unique}
            unique_columns |= {tuple(db.get_primary_keys(table))}
            for field in model._meta.sorted_fields:
                if field.unique and (field.column_name,) not in unique_columns:
                    problems.append(f"{table}.{field.column_name}: unique in the model only")
    assert problems == []


def test_migrations_are_recorded_once_and_upgrade_is_idempotent(store_url):
    with deskdb.opened(store_url) as db:
        kind = store.dialect(db)
        expected = [(v, n) for v, n, _ in migrations.available_migrations(kind)]
        recorded = [
            (r.version, r.name) for r in SchemaMigration.select().order_by(SchemaMigration.version)
        ]
        assert recorded == expected
    before = deskdb.dump(store_url)
    with deskdb.opened(store_url) as db:
        assert migrations.upgrade(db) == []
        assert migrations.is_current(db)
    assert deskdb.dump(store_url) == before


def test_reading_the_status_of_an_empty_store_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with deskdb.opened(url) as db:
        assert not migrations.is_current(db)
        assert all(r["applied_at"] is None for r in migrations.migration_status(db))
        assert db.get_tables() == []


@pytest.fixture
def empty_url(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    from conftest import pg_url

    return pg_url(request.getfixturevalue("empty_pg_database"))


def upgrade_concurrently(url: str, upgraders: int) -> list:
    """Start `upgraders` upgrades of one store at the same instant, each on its own connection;
    what each reported, or the exception it raised."""
    db = store.open_database(url)
    start = threading.Barrier(upgraders)
    results = [None] * upgraders

    def upgrade(slot):
        try:
            start.wait()
            db.connect(reuse_if_open=True)
            results[slot] = migrations.upgrade(db)
        except Exception as exc:
            results[slot] = exc
        finally:
            db.close()

    threads = [threading.Thread(target=upgrade, args=(i,)) for i in range(upgraders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_upgrades_apply_each_migration_once(empty_url):
    results = upgrade_concurrently(empty_url, 4)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    with deskdb.opened(empty_url) as db:
        names = [f"{v:04d}_{n}" for v, n, _ in migrations.available_migrations(store.dialect(db))]
        assert [r.version for r in SchemaMigration.select().order_by(SchemaMigration.version)] == [
            int(n[:4]) for n in names
        ]
        assert db.execute_sql("SELECT count(*) FROM departments").fetchone()[0] == 6
    # Each migration is reported applied by exactly one of the upgraders.
    assert sorted(name for applied in results for name in applied) == sorted(names)
