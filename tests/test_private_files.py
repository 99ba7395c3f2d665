"""What tix writes on disk is readable only by its owner, whatever the umask: the store (and
SQLite's WAL and shared-memory files), the default data directory, the mail folder and its .eml
files, the saved-token file, the config file; and `tix init` never creates folders a URL names
(only the default data directory)."""

import os
import stat
from contextlib import contextmanager

import pytest
from jobs_support import jobs

from tix.cli import cli

pytestmark = pytest.mark.sqlite_only


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_a_new_store_and_its_sqlite_files_are_private(runner, tmp_path, mask, backend):
    url = f"sqlite:///{tmp_path / 'tix.db'}"
    with umask(mask):
        init = runner.invoke(cli, ["--db", url, "init", "--quiet"])
        assert init.exit_code == 0, init.output
        token = init.stdout.strip()
        env = {"TIX_DATABASE_URL": url, "TIX_TOKEN": token}
        made = runner.invoke(
            cli, ["admin", "department", "add", "legal", "--name", "Legal"], env=env
        )
        assert made.exit_code == 0, made.output
        # A reader keeps the WAL files in place while it runs: look at them from a connection.
        import sqlite3

        connection = sqlite3.connect(tmp_path / "tix.db")
        connection.execute("PRAGMA journal_mode=wal")
        connection.execute("SELECT count(*) FROM departments").fetchone()
        try:
            for suffix in ("", "-wal", "-shm"):
                path = tmp_path / f"tix.db{suffix}"
                assert mode(path) == 0o600, (suffix, oct(mode(path)))
        finally:
            connection.close()


def test_the_default_data_directory_is_created_private(runner, tmp_path, backend):
    with umask(0o000):
        result = runner.invoke(cli, ["init", "--quiet"])
    assert result.exit_code == 0, result.output
    data = tmp_path / "data" / "tix"
    assert mode(data) == 0o700 and mode(data / "tix.db") == 0o600


def test_init_does_not_create_the_folders_an_explicit_url_names(runner, tmp_path, backend):
    where = tmp_path / "typo" / "deep" / "tix.db"
    result = runner.invoke(cli, ["--db", f"sqlite:///{where}", "init"])
    assert result.exit_code == 1
    assert result.stderr.startswith("tix: error: cannot create store sqlite:///")
    assert "does not exist" in result.stderr
    assert not (tmp_path / "typo").exists()
    # Other commands do not create a store at all: a mistyped path is said so.
    listed = runner.invoke(cli, ["--db", f"sqlite:///{tmp_path / 'nostore.db'}", "list"])
    assert listed.exit_code == 1 and "no store at" in listed.stderr
    assert not (tmp_path / "nostore.db").exists()


def test_the_mail_folder_and_its_emails_are_private(desk, tmp_path, backend):
    desk.create("alpha")
    with umask(0o000):
        jobs(desk.url, "notify")
    folder = tmp_path / "data" / "tix" / "mail"
    emails = list(folder.glob("*.eml"))
    assert emails and mode(folder) == 0o700
    assert {mode(path) for path in emails} == {0o600}


def test_the_config_file_and_the_token_file_are_private(runner, tmp_path, backend, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    with umask(0o000):
        assert runner.invoke(cli, ["config", "set", "format", "json"]).exit_code == 0
        assert runner.invoke(cli, ["init", "--quiet"]).exit_code == 0
    config = tmp_path / "config" / "tix"
    assert mode(config) == 0o700
    assert mode(config / "config.toml") == 0o600
    assert mode(config / "credentials.json") == 0o600
