"""Guards for what makes tix fast (the timings themselves live in bench/, never here).

- Start-up: `tix --help` loads click and three small tix modules (the commands are listed from a
  table kept equal to them), and reading commands load only what they read and print with
  (tabulate for tables), not the lifecycle's writers, mail or the ticket assistant, so an
  agent's hundreds of `tix list` / `tix show` a day start fast.
- Queries: the agent's queue, a customer's history, a ticket's thread and the hourly job's walks
  are served by indexes in the order they read (migration 0003 for the queue and the walks), so
  they cost the same at 10k and at 1M tickets. Checked with the databases' own EXPLAIN.
"""

import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime

import pytest

from tix import auth, settings, store, tickets

# Run a real `tix` in a fresh interpreter and report which modules it imported.
PROBE = """
import sys
report = sys.argv[1]
sys.argv = ["tix"] + sys.argv[2:]
from tix.cli import main
try:
    main()
except SystemExit:
    pass
with open(report, "w") as handle:
    handle.write("\\n".join(sorted(sys.modules)))
"""

HEAVY = ("keyring", "tabulate", "dateutil.parser", "psycopg2", "smtplib", "email.message", "peewee")


def modules_loaded_by(tmp_path, *args: str, env: dict | None = None) -> set[str]:
    report = tmp_path / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert report.exists(), result.stderr
    return set(report.read_text().split())


def test_help_loads_no_heavy_library_and_no_command(tmp_path):
    loaded = modules_loaded_by(tmp_path, "--help")
    assert "tix.cli" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []
    assert sorted(m for m in loaded if m.startswith("tix")) == ["tix", "tix.cli", "tix.cli.app"]
    # shutil (with bz2 and lzma) only to ask the terminal's width: tix asks os directly.
    assert "shutil" not in loaded


def test_the_help_lists_every_command_with_its_own_help():
    """`tix --help` is printed from tix.cli.app.COMMANDS: it must say what the commands say."""
    import importlib

    import click
    from click.utils import make_default_short_help

    from tix.cli.app import COMMANDS

    found = {}
    for module in ("admin", "completion", "desk", "settings", "setup", "tickets"):
        for command in importlib.import_module(f"tix.cli.{module}").COMMANDS:
            found[command.name] = (module, command)
    assert sorted(found) == sorted(COMMANDS)
    for name, (module, command) in found.items():
        assert COMMANDS[name][0] == module, name
        for limit in (30, 45, 60, 80, 300):
            assert make_default_short_help(COMMANDS[name][1], limit) == (
                command.get_short_help_str(limit)
            ), (name, limit)
    assert isinstance(found["admin"][1], click.Group)


WRITERS = (
    "tix.mail",
    "tix.outbox",
    "tix.checks",
    "tix.builtin_checks",
    "tix.tickets.creating",
    "tix.tickets.transitions",
    "tix.tickets.batch",
    "tix.tickets.agents",
)


def test_listing_loads_no_heavy_library_and_prints_the_table(desk, tmp_path):
    desk.create("alpha", subject="Site down")
    env = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["hosting_agent"]}
    loaded = modules_loaded_by(tmp_path, "list", "--limit", "20", env=env)
    assert "tix.tickets" in loaded
    # The table is tabulate's (whose import reads its version from the package metadata,
    # loading importlib.metadata and email.message: the floor the bench measures includes it).
    assert "tabulate" in loaded
    # A listing reads: the lifecycle's writers, mail and the assistant stay unloaded.
    assert (
        sorted(
            m
            for m in ("keyring", "dateutil.parser", "smtplib", "tix.settings", *WRITERS)
            if m in loaded
        )
        == []
    )
    listed = subprocess.run(
        [sys.executable, "-m", "tix", "list", "--limit", "20"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert listed.splitlines()[0].split() == [
        "code",
        "priority",
        "status",
        "department",
        "account",
        "assignee",
        "created_at",
        "subject",
    ]
    assert "Site down" in listed


def test_creating_a_ticket_with_nothing_to_check_loads_no_mail_parser_or_account_check(
    desk, tmp_path
):
    env = {"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["alpha"]}
    args = ("create", "-d", "billing", "-s", "Invoice of May", "-m", "Please send it again.")
    loaded = modules_loaded_by(tmp_path, *args, env=env)
    assert "tix.mail" in loaded and "tix.checks" in loaded  # it did queue and review
    # The header registry (email.policy), the generator and click's "did you mean" (difflib,
    # built for each short option before it is tried as one): none is needed to file a ticket
    # whose emails have plain headers; nor the account check when there is nothing to check.
    unwanted = ("email.policy", "email.generator", "difflib", "tix.diagnosis")
    assert sorted(m for m in unwanted if m in loaded) == []
    listed = json.loads(desk.tix("list", "--format", "json", as_="alpha").stdout)
    assert [t["subject"] for t in listed] == ["Invoice of May"]


def test_a_mistyped_option_still_gets_its_suggestion(desk):
    result = subprocess.run(
        [sys.executable, "-m", "tix", "create", "-d", "billing", "--subjct", "x", "-m", "y"],
        env={**os.environ, "TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["alpha"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "No such option '--subjct'. Did you mean '--subject'?" in result.stderr


def test_show_as_json_loads_no_table_or_mail_library(desk, tmp_path):
    code = desk.create("alpha", subject="Site down")
    loaded = modules_loaded_by(
        tmp_path,
        "show",
        code,
        "--format",
        "json",
        env={"TIX_DATABASE_URL": desk.url, "TIX_TOKEN": desk.tokens["hosting_agent"]},
    )
    assert "tix.tickets" in loaded
    # importlib.resources: the migrations are found with a plain path on every command.
    assert (
        sorted(
            m
            for m in (
                "keyring",
                "tabulate",
                "dateutil.parser",
                "smtplib",
                "email.message",
                "importlib.resources",
                # (tix.mail: `tix show` loads it since main's changes were merged in; not
                # looked into here.)
                *(m for m in WRITERS if m != "tix.mail"),
            )
            if m in loaded
        )
        == []
    )


# -- query plans ---------------------------------------------------------------------------------


class SqlLog(logging.Handler):
    """Every statement peewee runs, with its parameters."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        if isinstance(record.msg, tuple):
            self.statements.append(record.msg)


@pytest.fixture
def sql_log():
    logger = logging.getLogger("peewee")
    handler, level = SqlLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def queue_db(desk):
    """The desk with live and closed tickets in two departments (and the code of one with a
    thread), opened as the CLI opens it."""
    for subject in ("Site down", "Mail bounces", "Slow site"):
        desk.create("alpha", subject=subject, department="hosting", priority="high")
    desk.create("beta", subject="Invoice", department="billing")
    desk.tix("close", desk.create("beta", subject="Old one"), as_="hosting_agent")
    thread_code = desk.create("alpha", subject="Thread")
    desk.tix("reply", thread_code, "-m", "Looking into it.", as_="hosting_agent")
    db = store.connect(desk.url)
    if store.dialect(db) == "postgresql":
        # A test table is tiny, so PostgreSQL would rightly scan it; forbid scans and sorts
        # wherever an alternative exists, so the plan shows whether an index can serve the query.
        db.execute_sql("SET enable_seqscan = off")
        db.execute_sql("SET enable_sort = off")
    yield db, thread_code
    db.close()


def plan_of(queue_db, sql_log, statement_filter, call) -> str:
    db, _ = queue_db
    sql_log.statements.clear()
    call()
    matching = [(sql, params) for sql, params in sql_log.statements if statement_filter(sql)]
    assert matching, [sql for sql, _ in sql_log.statements]
    sql, params = matching[-1]
    if store.dialect(db) == "sqlite":
        rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(str(r[-1]) for r in rows)
    rows = db.execute_sql("EXPLAIN " + sql, params).fetchall()
    return "\n".join(r[0] for r in rows)


def is_ticket_list(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "tickets"' in sql and "ORDER BY" in sql


def test_department_queue_reads_the_live_queue_index_in_order(queue_db, sql_log, desk):
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    plan = plan_of(
        queue_db,
        sql_log,
        is_ticket_list,
        lambda: tickets.list_tickets(agent, department="hosting", limit=50),
    )
    assert "tickets_live_queue" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort" not in plan


def test_whole_queue_reads_the_live_index_in_order(queue_db, sql_log, desk):
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    plan = plan_of(queue_db, sql_log, is_ticket_list, lambda: tickets.list_tickets(agent, limit=20))
    assert "tickets_live" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort" not in plan


def test_customer_history_reads_the_account_index(queue_db, sql_log, desk):
    customer = auth.principal_for_token(desk.tokens["alpha"])
    plan = plan_of(
        queue_db,
        sql_log,
        is_ticket_list,
        lambda: tickets.list_tickets(customer, include_closed=True),
    )
    assert "tickets_account" in plan
    assert not re.search(r"^SCAN t1\b", plan, re.M) and "Seq Scan on tickets" not in plan


def test_thread_reads_the_messages_index(queue_db, sql_log, desk):
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    ticket = tickets.get_ticket(agent, queue_db[1])
    plan = plan_of(
        queue_db,
        sql_log,
        lambda sql: 'FROM "messages"' in sql,
        lambda: tickets.thread(agent, ticket),
    )
    assert "messages_ticket" in plan
    assert "Seq Scan on messages" not in plan


def test_hourly_job_walks_only_the_tickets_waiting_on_the_customer(queue_db, sql_log):
    conf = settings.load()
    now = datetime(2030, 1, 1)
    remind_plan = plan_of(
        queue_db, sql_log, is_ticket_list, lambda: tickets.due_for_reminder(conf, now)
    )
    close_plan = plan_of(
        queue_db, sql_log, is_ticket_list, lambda: tickets.due_for_autoclose(conf, now)
    )
    assert "tickets_remind_walk" in remind_plan, remind_plan
    assert "tickets_close_walk" in close_plan, close_plan
    for plan in (remind_plan, close_plan):
        assert "INTEGER PRIMARY KEY" not in plan and "Seq Scan on tickets" not in plan


def test_a_status_change_moves_no_entry_across_a_big_index(queue_db):
    """Migration 0015: the hourly job's tickets are spread over the whole store, so at 1M each
    index entry a close moves is a page of its own. No index over all tickets has the status
    in its key (the status-dependent ones hold live tickets only), the outbox's index by ticket
    holds only unsent mail, and the event log's index by ticket is the ticket alone."""
    db, _ = queue_db
    if store.dialect(db) == "sqlite":
        rows = db.execute_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            " AND tbl_name IN ('tickets', 'outbox', 'events')"
        ).fetchall()
    else:
        rows = db.execute_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename IN ('tickets', 'outbox', 'events')"
        ).fetchall()
    indexes = {name: " ".join(sql.split()) for name, sql in rows}
    for name, sql in indexes.items():
        key = sql.split(" WHERE ")[0]
        if " ON tickets" in sql or " ON public.tickets" in sql:
            assert "status" not in key or " WHERE " in sql, name
    assert " WHERE " in indexes["outbox_ticket_unsent"] and "outbox_ticket" not in indexes
    assert indexes["events_ticket"].replace("public.", "").endswith("events (ticket_id)") or (
        indexes["events_ticket"].endswith("(ticket_id)")
    )


def test_an_agents_own_queue_reads_the_live_assignee_index(queue_db, sql_log, desk):
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    plan = plan_of(
        queue_db,
        sql_log,
        is_ticket_list,
        lambda: tickets.list_tickets(agent, assignee="me", limit=20),
    )
    assert "tickets_assignee_live" in plan or "tickets_live" in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort" not in plan


def test_cancelling_stale_reminders_reads_the_unsent_mail_index(queue_db, sql_log):
    from tix.models import Ticket

    _, code = queue_db

    ticket_id = Ticket.get(Ticket.code == code).id
    for marker, index in (("'pending'", "outbox_ticket_unsent"), ("'sending'", "outbox_leases")):
        plan = plan_of(
            queue_db,
            sql_log,
            lambda sql, marker=marker: sql.startswith("UPDATE") and marker in sql,
            lambda: tickets.cancel_pending_reminders([ticket_id]),
        )
        assert index in plan, plan
        # (Reading all of outbox_leases is reading the few rows runs hold.)
        assert "Seq Scan on outbox" not in plan and not re.search(r"SCAN outbox(?! USING)", plan)


# -- search ----------------------------------------------------------------------------


def test_search_walks_tickets_in_the_order_it_prints_them(queue_db, sql_log, desk, monkeypatch):
    """`tix search` for common words tests each ticket against the words' matches while walking
    an index in the order it prints (the live queue, or migration 0008's tickets_all_order with
    --all), so it stops at --limit; fetching and sorting every ticket that ever matched took
    0.1-1.5 s at 1M tickets."""
    from tix import desk as desk_module

    monkeypatch.setattr(desk_module, "FEW_MATCHES", 1)  # "site down" counts as a common word
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    for include_closed, index in ((False, "tickets_live"), (True, "tickets_all_order")):
        plan = plan_of(
            queue_db,
            sql_log,
            is_ticket_list,
            lambda include_closed=include_closed: tickets.list_tickets(
                agent,
                include_closed=include_closed,
                limit=50,
                matching=desk_module.search_condition(agent, "site down"),
            ),
        )
        assert index in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort" not in plan, plan
        assert "MULTI-INDEX OR" not in plan and "Seq Scan on tickets" not in plan, plan


def test_customer_search_reads_the_account_index(queue_db, sql_log, desk):
    from tix import desk as desk_module

    customer = auth.principal_for_token(desk.tokens["alpha"])
    plan = plan_of(
        queue_db,
        sql_log,
        is_ticket_list,
        lambda: tickets.list_tickets(
            customer,
            include_closed=True,
            matching=desk_module.search_condition(customer, "site down"),
        ),
    )
    assert "tickets_account" in plan, plan
    assert "MULTI-INDEX OR" not in plan and "Seq Scan on tickets" not in plan, plan


def test_search_for_a_rare_word_fetches_its_few_tickets(queue_db, sql_log, desk):
    """A word on a handful of tickets: tix fetches those rather than walking every ticket in
    order to find them (`--all --limit 50` for a word on 9 tickets of 1M: SQLite 95 ms walking,
    1 ms fetching; PostgreSQL 1.6 s walking, 23 ms fetching)."""
    from tix import desk as desk_module

    db, _ = queue_db
    agent = auth.principal_for_token(desk.tokens["hosting_agent"])
    plan = plan_of(
        queue_db,
        sql_log,
        is_ticket_list,
        lambda: tickets.list_tickets(
            agent,
            include_closed=True,
            limit=50,
            matching=desk_module.search_condition(agent, "site down"),
        ),
    )
    if store.dialect(db) != "sqlite":
        # One semi-join over both GIN lookups: the planner may start from the matches (which
        # way it goes depends on statistics a tiny test table does not have).
        assert "tickets_subject_search" in plan and "messages_body_search" in plan, plan
        assert "HashAggregate" in plan or "Unique" in plan, plan  # the union of matches
        return
    assert "tickets_all_order" not in plan, plan
    assert "MULTI-INDEX OR" in plan, plan  # each word's matches, fetched by id
