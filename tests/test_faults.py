"""Faults from the world outside tix: the SQLite file locked by another process for longer than
the busy timeout, the disk full while an attachment is written (into the store, and out to a
file), the SMTP server gone for a whole `tix-jobs run`, and PostgreSQL restarted while people
work. Each must give one clear line and an exit code, leave nothing half-done, lose nothing
that was committed, and work when run again."""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import deskdb
import pytest
from conftest import build_desk
from freezegun import freeze_time
from jobs_support import jobs
from smtp_server import free_port, smtp  # noqa: F401 (the fixture)

from tix import migrations, store
from tix.cli import cli

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def tix(desk, *args, as_="alpha", env=None):
    full = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens[as_], **(env or {})}
    return desk.runner.invoke(cli, list(args), env=full, catch_exceptions=False)


def one_clear_line(result, *words):
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tix: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def process_env(**extra) -> dict:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIX_") or k.startswith("TIX_TEST_")
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


# -- SQLite: locked by another process ---------------------------------------------------------

HOLD_THE_WRITE_LOCK = textwrap.dedent("""
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()          # hold it until the test closes our stdin
    db.execute("ROLLBACK")
""")


def test_a_store_locked_longer_than_the_busy_timeout(desk, backend):
    if backend != "sqlite":
        pytest.skip("SQLite's file lock")
    code = desk.create("alpha")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, store.sqlite_path(desk.url)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = deskdb.dump(desk.url)  # readers are not blocked (WAL)
        started = time.monotonic()
        result = tix(desk, "reply", code, "-m", "Anyone there?", env={"TIX_BUSY_TIMEOUT": "1s"})
        waited = time.monotonic() - started
        assert result.exit_code == 1
        one_clear_line(result, "locked by another process", "1s", "try again")
        assert deskdb.dump(desk.url) == before
        assert waited < 10  # the setting applied, not the 10 s default (not a speed target)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert tix(desk, "reply", code, "-m", "Anyone there?").exit_code == 0  # run again: works
    bodies = [
        m["body"]
        for m in json.loads(tix(desk, "show", code, "--format", "json").stdout)["messages"]
    ]
    assert bodies.count("Anyone there?") == 1


# -- disk full ---------------------------------------------------------------------------------


def _limit_file_size(limit: int):
    def apply():  # in the child: writes past `limit` bytes fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_while_an_attachment_is_stored(desk, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the store's own disk is the SQLite file's (PostgreSQL's server has its own)")
    code = desk.create("alpha")
    path = Path(store.sqlite_path(desk.url))
    biggest = max(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    big = tmp_path / "backup.tar"
    big.write_bytes(os.urandom(2 * 1024 * 1024))
    before = deskdb.dump(desk.url)
    args = [
        sys.executable,
        "-m",
        "tix",
        "reply",
        code,
        "-m",
        "Here is the backup.",
        "--attach",
        str(big),
    ]
    env = process_env(TIX_DATABASE_URL=desk.url, TIX_TOKEN=desk.tokens["alpha"])
    full = subprocess.run(
        args,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size(biggest + 256 * 1024),
    )
    assert full.returncode == 1, full.stderr
    assert full.stderr.startswith("tix: error: ") and len(full.stderr.splitlines()) == 1, (
        full.stderr
    )
    # EFBIG reads as SQLite's "disk I/O error" (a full disk, ENOSPC, as "database or disk is full")
    assert "disk" in full.stderr and "no transaction" not in full.stderr, full.stderr
    assert deskdb.dump(desk.url) == before  # nothing half-written
    again = subprocess.run(args, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    shown = json.loads(tix(desk, "show", code, "--format", "json").stdout)
    assert [a["filename"] for a in shown["attachments"]] == ["backup.tar"]


def test_disk_full_while_an_attachment_is_saved_to_a_file(desk, tmp_path):
    note = tmp_path / "log.txt"
    note.write_text("error log " * 1000)
    code = desk.create("alpha", "Logs", "hosting", "low", "See log.", "--attach", str(note))
    attachment_id = json.loads(tix(desk, "show", code, "--format", "json").stdout)["attachments"][
        0
    ]["id"]
    result = tix(desk, "attachment", "get", code, str(attachment_id), "-o", "/dev/full")
    assert result.exit_code == 1
    one_clear_line(result, "cannot write /dev/full", "No space left on device")
    target = tmp_path / "saved.txt"
    assert (
        tix(desk, "attachment", "get", code, str(attachment_id), "-o", str(target)).exit_code == 0
    )
    assert target.read_bytes() == note.read_bytes()


# -- SMTP server gone for the whole run -----------------------------------------------------------


def test_smtp_server_gone_for_the_whole_run(desk, smtp):
    with freeze_time("2025-03-03 10:00:00") as frozen:
        code = desk.create("alpha")
        tix(desk, "reply", code, "-m", "Fixed?", as_="hosting_agent")
        gone = {
            "TIX_SMTP_HOST": "127.0.0.1",
            "TIX_SMTP_PORT": str(free_port()),
            "TIX_SMTP_SECURITY": "none",
            "TIX_SMTP_TIMEOUT": "5s",
        }
        frozen.tick(timedelta(hours=49))
        first = jobs(desk.url, "run", env=gone, expect=1)  # 1: some messages failed
        assert "reminded 1" in first.stdout and "sent 0" in first.stdout
        assert first.stderr.strip(), "the failure is reported"
        frozen.tick(timedelta(hours=30))  # long past the close delay: but the reminder never left
        jobs(desk.url, "run", env=gone, expect=1)
        assert deskdb.ticket(desk.url, code).status == "answered"
        rows = deskdb.outbox(desk.url, code)
        assert rows and all(row.status != "sent" for row in rows)  # queued, none lost
        server = smtp()
        frozen.tick(timedelta(hours=2))  # past any retry backoff
        jobs(desk.url, "run", env=server.env())
        sent = {row.message_id for row in deskdb.outbox(desk.url, code) if row.status == "sent"}
        assert sent == {row.message_id for row in rows}
        assert sorted(server.handler.ids()) == sorted(sent)  # each exactly once
        frozen.tick(timedelta(hours=25))
        jobs(desk.url, "run", env=server.env())
        assert deskdb.ticket(desk.url, code).close_reason == "auto"


# -- PostgreSQL restarted during a run ------------------------------------------------------------


def _as_postgres(*args, **kwargs):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        prefix + [str(a) for a in args], check=True, capture_output=True, text=True, **kwargs
    )


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of our own (never the shared one on 5432) on a free port."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("no PostgreSQL server binaries")
    folder = Path(tempfile.mkdtemp(prefix="tix-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    _as_postgres(PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [PG_BIN / "pg_ctl", "-D", data, "-l", folder / "log", "-o", options, "-w"]
    _as_postgres(*ctl, "start")
    _as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "tix")
    try:
        yield {
            "url": f"postgresql://postgres@127.0.0.1:{port}/tix",
            "restart": lambda: _as_postgres(*ctl, "-m", "fast", "restart"),
        }
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
            + [str(a) for a in ctl + ["-m", "immediate", "stop"]],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


REPLY_WORKER = textwrap.dedent("""
    import json, sys
    from click.testing import CliRunner
    from tix.cli import cli
    url, token, code, prefix, count = sys.argv[1:6]
    runner = CliRunner()
    for i in range(int(count)):
        body = f"{prefix}-{i}"
        for attempt in range(2000):  # a refused reply is simply run again, as a person would
            result = runner.invoke(cli, ["reply", code, "-m", body],
                                   env={"TIX_DATABASE_URL": url, "TIX_TOKEN": token})
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            print(json.dumps([body, result.exit_code, result.stderr.strip(), crashed]), flush=True)
            if result.exit_code == 0 or crashed:
                break
""")


def test_postgresql_restarted_while_people_work(private_postgres, runner):
    url = private_postgres["url"]
    db = store.connect(url)
    migrations.upgrade(db)
    db.close()
    desk = build_desk(url, runner)
    code = desk.create("alpha")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", REPLY_WORKER, url, desk.tokens[who], code, who, "40"],
            env=process_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in ("alpha", "hosting_agent")
    ]
    outcomes = [[json.loads(workers[0].stdout.readline())] for _ in range(1)]  # work has begun
    private_postgres["restart"]()
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        outcomes.append([json.loads(line) for line in out.splitlines() if line.strip()])
    results = [item for chunk in outcomes for item in chunk]
    failed = [r for r in results if r[1] != 0]
    for _body, exit_code, stderr, crashed in results:
        assert not crashed, stderr
        if exit_code:
            assert (
                exit_code == 1
                and stderr.startswith("tix: error: ")
                and " store " in stderr
                and len(stderr.splitlines()) == 1
            ), stderr
    stored = [
        m["body"]
        for m in json.loads(desk.tix("show", code, "--format", "json", as_="hosting_agent").stdout)[
            "messages"
        ]
    ]
    # Every reply, refused or not at first, ends stored exactly once (none lost, none doubled).
    assert sorted(stored[1:]) == sorted(
        f"{who}-{i}" for who in ("alpha", "hosting_agent") for i in range(40)
    )
    # Nothing half-done: every stored reply has its event.
    events = [e for e in deskdb.events(url, code) if e.kind in ("agent-reply", "customer-reply")]
    assert len(events) == len(stored) - 1
    print(
        f"{len(results)} attempts for 80 replies across a restart, "
        f"{len(failed)} refused with a clear error"
    )
