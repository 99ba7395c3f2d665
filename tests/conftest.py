"""Test plumbing: every test runs against a real SQLite file and against the real PostgreSQL
server (TIX_TEST_BACKENDS=sqlite,postgresql by default), with a real keyring backend, in a
private data/config directory, at a frozen UTC clock where the test asks for one."""

import os
import uuid
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner

from tix import clock
from tix.cli import cli

# In CI, property-based tests draw the same examples every run: a red build is reproducible and
# never the luck of one draw (TIX_FUZZ_EXAMPLES / a local run explore further).
if os.environ.get("CI"):
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    _hypothesis_settings.load_profile("ci")

PG_ADMIN_URL = os.environ.get("TIX_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [
    b.strip()
    for b in os.environ.get("TIX_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
TEMPLATE_DB = f"tix_test_template_{os.getpid()}"


def _pg_admin_connection():
    from urllib.parse import urlsplit

    import psycopg2

    parts = urlsplit(PG_ADMIN_URL)
    conn = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username,
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
        connect_timeout=5,
    )
    conn.autocommit = True
    return conn


def pg_url(dbname: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def pg_template():
    """A migrated PostgreSQL database that each test copies (CREATE DATABASE ... TEMPLATE)."""
    try:
        admin = _pg_admin_connection()
    except Exception as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required in CI and is unreachable: {exc}") from exc
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN_URL}: {exc}")
    cur = admin.cursor()
    cur.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
    cur.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    from tix import migrations, store

    db = store.connect(pg_url(TEMPLATE_DB))
    migrations.upgrade(db)
    db.close()
    yield TEMPLATE_DB
    cur.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def fresh_pg_database(pg_template):
    """Name of a new, migrated PostgreSQL database, dropped after the test."""
    name = f"tix_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_connection()
    admin.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield name
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def empty_pg_database():
    """Name of a new PostgreSQL database with no schema (for migration tests)."""
    try:
        admin = _pg_admin_connection()
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"tix_empty_{uuid.uuid4().hex[:12]}"
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield name
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every path and setting points into the test's own folder; a real file keyring backend."""
    for key in list(os.environ):
        if key.startswith("TIX_") and not key.startswith("TIX_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("TZ", "UTC")
    # The CLI speaks each person's language (alpha's people read Spanish); tests read English
    # unless they unset this to check the other language, as TZ pins the time zone.
    monkeypatch.setenv("TIX_LANG", "en")
    monkeypatch.setenv("TIX_MAIL_FROM", "Hosting Support <support@tix.test>")
    # No test reaches the Internet: the account check runs only where a test sets up the
    # loopback servers it checks (tests/test_diagnosis_*.py).
    monkeypatch.setenv("TIX_DIAGNOSIS", "off")
    clock.reset()
    yield
    clock.reset()
    from tix.models import database_proxy

    if database_proxy.obj is not None and not database_proxy.obj.is_closed():
        database_proxy.obj.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


def pytest_collection_modifyitems(config, items):
    """`sqlite_only` / `postgres_only` (pyproject markers): such a test runs on that backend
    alone; its other-backend copy is deselected (for checks the database plays no part in)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        only = (
            "sqlite"
            if item.get_closest_marker("sqlite_only")
            else "postgresql"
            if item.get_closest_marker("postgres_only")
            else None
        )
        (drop if backend and only and backend != only else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def store_url(backend, tmp_path, request):
    """A migrated, empty store on the backend under test."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tix.db'}"
        from tix import migrations, store

        db = store.connect(url)
        migrations.upgrade(db)
        db.close()
        return url
    return pg_url(request.getfixturevalue("fresh_pg_database"))


@pytest.fixture
def runner():
    return CliRunner()


@dataclass
class Desk:
    """A store set up like a small hosting company, and a way to run `tix` as anyone in it.

    People: admin, agents `hosting_agent` (hosting) and `billing_agent` (billing), customer
    accounts `alpha` (owner + a sub-contact with ticket emails + one without) and `beta`,
    reseller `resel` with client `client`, and an unrelated reseller `other-resel` with client
    `other-client`.
    """

    url: str
    runner: CliRunner
    tokens: dict = field(default_factory=dict)

    def tix(self, *args, as_: str | None = "admin", input=None, expect: int | None = 0):
        env = {"TIX_DATABASE_URL": self.url}
        if as_ is not None:
            env["TIX_TOKEN"] = self.tokens[as_]
        result = self.runner.invoke(cli, list(args), env=env, input=input, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (
                f"tix {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def create(
        self,
        as_: str,
        subject: str = "Site down",
        department: str = "hosting",
        priority: str = "medium",
        body: str = "It is down.",
        *extra,
    ) -> str:
        result = self.tix(
            "create",
            "--department",
            department,
            "--priority",
            priority,
            "--subject",
            subject,
            "-m",
            body,
            "--quiet",
            *extra,
            as_=as_,
        )
        return result.stdout.strip()


def build_desk(url: str, runner: CliRunner) -> Desk:
    desk = Desk(url=url, runner=runner)
    result = runner.invoke(
        cli,
        ["init", "--admin-email", "admin@host.test", "--admin-name", "Admin", "--quiet"],
        env={"TIX_DATABASE_URL": url},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    desk.tokens["admin"] = result.stdout.strip()
    t = desk.tix
    t(
        "admin",
        "agent",
        "add",
        "hosting@host.test",
        "--name",
        "Hana Hosting",
        "--department",
        "hosting",
    )
    t(
        "admin",
        "agent",
        "add",
        "billing@host.test",
        "--name",
        "Bill Billing",
        "--department",
        "billing",
        "--lang",
        "es",
    )
    t(
        "admin",
        "account",
        "add",
        "alpha",
        "--name",
        "Alpha SL",
        "--owner-email",
        "owner@alpha.test",
        "--owner-name",
        "Olga Alpha",
        "--lang",
        "es",
    )
    t(
        "admin",
        "contact",
        "add",
        "alpha",
        "dev@alpha.test",
        "--name",
        "Dev Alpha",
        "--ticket-emails",
        "--login",
    )
    t(
        "admin",
        "contact",
        "add",
        "alpha",
        "quiet@alpha.test",
        "--name",
        "Quiet Alpha",
        "--no-ticket-emails",
        "--login",
        "--lang",
        "en",
    )
    t("admin", "service", "add", "alpha", "alpha.test", "--kind", "domain")
    t("admin", "account", "add", "beta", "--name", "Beta Inc", "--owner-email", "owner@beta.test")
    t(
        "admin",
        "account",
        "add",
        "resel",
        "--name",
        "Resel Hosting",
        "--owner-email",
        "owner@resel.test",
        "--is-reseller",
    )
    t(
        "admin",
        "account",
        "add",
        "client",
        "--name",
        "Client Co",
        "--owner-email",
        "owner@client.test",
        "--reseller",
        "resel",
    )
    t(
        "admin",
        "account",
        "add",
        "other-resel",
        "--name",
        "Other Resel",
        "--owner-email",
        "owner@other-resel.test",
        "--is-reseller",
    )
    t(
        "admin",
        "account",
        "add",
        "other-client",
        "--name",
        "Other Client",
        "--owner-email",
        "owner@other-client.test",
        "--reseller",
        "other-resel",
    )
    people = {
        "hosting_agent": "hosting@host.test",
        "billing_agent": "billing@host.test",
        "alpha": "owner@alpha.test",
        "alpha_dev": "dev@alpha.test",
        "alpha_quiet": "quiet@alpha.test",
        "beta": "owner@beta.test",
        "resel": "owner@resel.test",
        "client": "owner@client.test",
        "other_resel": "owner@other-resel.test",
        "other_client": "owner@other-client.test",
    }
    for name, email in people.items():
        desk.tokens[name] = t("admin", "token", "issue", email, "--quiet").stdout.strip()
    return desk


@pytest.fixture(scope="session")
def desk_templates():
    """backend -> (template, tokens): the desk built once per session and backend."""
    templates = {}
    yield templates
    if "postgresql" in templates:
        admin = _pg_admin_connection()
        name = templates["postgresql"][0]
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _desk_template(backend, runner, request, templates):
    if backend in templates:
        return templates[backend]
    from tix import migrations, store

    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path_factory").mktemp("desk-template") / "tix.db"
        url = f"sqlite:///{path}"
        db = store.connect(url)
        migrations.upgrade(db)
        db.close()
        tokens = build_desk(url, runner).tokens
        db = store.connect(url)
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the one file we copy
        db.close()
        templates[backend] = (str(path), tokens)
    else:
        name = f"tix_test_desk_{os.getpid()}"
        admin = _pg_admin_connection()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        migrated = request.getfixturevalue("pg_template")
        admin.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"')
        admin.close()
        templates[backend] = (name, build_desk(pg_url(name), runner).tokens)
    return templates[backend]


@pytest.fixture
def desk(backend, tmp_path, runner, request, desk_templates):
    """A copy of the desk build_desk makes (a file copy on SQLite, CREATE DATABASE ... TEMPLATE
    on PostgreSQL): the same store as building it in each test, a second or two faster."""
    import shutil

    from tix import credentials

    template, tokens = _desk_template(backend, runner, request, desk_templates)
    admin = None
    if backend == "sqlite":
        shutil.copyfile(template, tmp_path / "tix.db")
        url = f"sqlite:///{tmp_path / 'tix.db'}"
    else:
        name = f"tix_test_{uuid.uuid4().hex[:12]}"
        admin = _pg_admin_connection()
        admin.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = pg_url(name)
    credentials.save_token(url, tokens["admin"])  # as `tix init` did for a store of its own
    yield Desk(url=url, runner=runner, tokens=dict(tokens))
    if admin is not None:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
