"""`tix next` run by several agents at the same moment, each in its own process, on both stores:
nobody gets a ticket somebody else got, and no ticket is left behind."""

import json
import os
import subprocess
import sys

import deskdb
import pytest

# Each child imports everything first, then waits on its stdin: the test releases them all at
# once, so the claims really overlap instead of queueing behind interpreter start-up.
CHILD = """
import sys
from tix.cli import main
import tix.tickets, tix.store, tix.auth, peewee
try:
    import psycopg2
except ImportError:
    pass
sys.stdin.read(1)
sys.argv = ["tix", "next", "--format", "json"]
main()
"""


def spawn(desk, token):
    env = dict(os.environ, TIX_DATABASE_URL=desk.url, TIX_TOKEN=token)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def test_concurrent_next_never_hands_out_a_ticket_twice(desk):
    agents = ["hosting_agent", "admin"]
    for number in range(3):
        email = f"tech{number}@host.test"
        desk.tix(
            "admin", "agent", "add", email, "--name", f"Tech {number}", "--department", "hosting"
        )
        desk.tokens[email] = desk.tix("admin", "token", "issue", email, "--quiet").stdout.strip()
        agents.append(email)
    codes = [
        desk.create("alpha", f"Ticket {n}", priority=("emergency", "high", "medium", "low")[n % 4])
        for n in range(6)
    ]
    # Eight claimers, two of them the same agent twice, for six tickets.
    claimers = agents + ["hosting_agent", "admin", "tech0@host.test"]
    processes = [(who, spawn(desk, desk.tokens[who])) for who in claimers[:8]]
    for _, process in processes:
        process.stdin.write("go")
        process.stdin.flush()

    claimed = {}
    outcomes = []
    for who, process in processes:
        out, err = process.communicate(timeout=120)
        outcomes.append(process.returncode)
        if process.returncode == 0:
            code = json.loads(out)["code"]
            assert code not in claimed, f"{code} claimed twice: {claimed[code]} and {who}"
            claimed[code] = who
        else:
            assert (process.returncode, err.strip()) == (
                3,
                "tix: error: no unassigned ticket is waiting in your departments",
            ), err

    assert sorted(claimed) == sorted(codes)
    assert sorted(outcomes) == [0] * 6 + [3] * 2
    emails = {"hosting_agent": "hosting@host.test", "admin": "admin@host.test"}
    for code, who in claimed.items():
        events = [e for e in deskdb.events(desk.url, code) if e.kind == "reassigned"]
        assert len(events) == 1
        assert json.loads(events[0].after)["assignee"] == emails.get(who, who)


def test_next_skips_a_ticket_another_claim_holds_locked(desk, backend):
    """PostgreSQL: while another transaction holds the most urgent ticket (a claim in flight),
    `tix next` takes the next one at once instead of waiting for it or taking it too."""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises claims with its write lock")
    import psycopg2

    first = desk.create("alpha", "Most urgent", priority="emergency")
    second = desk.create("beta", "Next one", priority="high")
    holder = psycopg2.connect(desk.url)
    try:
        cursor = holder.cursor()
        cursor.execute("SELECT id FROM tickets WHERE code = %s FOR UPDATE", (first,))
        child = spawn(desk, desk.tokens["hosting_agent"])
        out, err = child.communicate("go", timeout=60)
        assert child.returncode == 0, err
        assert json.loads(out)["code"] == second
    finally:
        holder.rollback()
        holder.close()
    assert json.loads(desk.tix("next", "--format", "json", as_="admin").stdout)["code"] == first
