"""Helpers shared by the tix-jobs tests: run `tix-jobs` in-process or as real processes, and
read the store the way an operator would check it."""

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from deskdb import opened
from tix.jobs.cli import cli as jobs_cli

from tix.models import Event, Outbox, Ticket

JOBS_SCRIPT = Path(sys.executable).with_name("tix-jobs")


def jobs(url: str, *args, env: dict | None = None, expect: int | None = 0):
    """Run `tix-jobs ARGS` in this process (so freezegun's clock applies)."""
    result = CliRunner().invoke(
        jobs_cli, list(args), env={"TIX_DATABASE_URL": url, **(env or {})}, catch_exceptions=False
    )
    if expect is not None:
        assert result.exit_code == expect, (
            f"tix-jobs {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def process_env(url: str, **extra) -> dict:
    """The environment of a separate `tix-jobs` process: this test's folders and settings."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIX_") or k.startswith("TIX_TEST_")
    }
    env.update({"TIX_DATABASE_URL": url, "TIX_MAIL_FROM": os.environ["TIX_MAIL_FROM"]})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_jobs(url: str, *args, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tix.jobs.cli", *args],
        env=process_env(url, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ticket(url: str, code: str) -> Ticket:
    with opened(url):
        return Ticket.get(Ticket.code == code)


def outbox(url: str, **where) -> list[Outbox]:
    with opened(url):
        query = Outbox.select().order_by(Outbox.id)
        for name, value in where.items():
            query = query.where(getattr(Outbox, name) == value)
        return list(query)


def events(url: str, code: str, kind: str | None = None) -> list[Event]:
    with opened(url):
        query = Event.select().join(Ticket).where(Ticket.code == code).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return list(query)


def set_ticket(url: str, code: str, **fields) -> None:
    """Write a ticket's timestamps directly: how process tests make a wait old (freezegun does
    not reach another process)."""
    with opened(url):
        Ticket.update(**fields).where(Ticket.code == code).execute()


def snapshot(url: str) -> dict:
    """Every row tix-jobs could touch, to prove a dry run changed nothing."""
    with opened(url) as db:
        tables = {}
        for table in ("tickets", "events", "outbox", "messages"):
            rows = db.execute_sql(f"SELECT * FROM {table} ORDER BY id").fetchall()
            tables[table] = [tuple(str(v) for v in row) for row in rows]
        return tables
