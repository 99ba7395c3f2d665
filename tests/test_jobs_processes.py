"""tix-jobs as cron runs it: real processes, several at once, killed with SIGKILL, on SQLite and
PostgreSQL, against a real SMTP server. freezegun does not reach other processes, so waits are
made old by writing their timestamps in the past."""

import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from jobs_support import JOBS_SCRIPT, events, opened, outbox, process_env, set_ticket, start_jobs
from smtp_server import Accept, HoldAfter, smtp  # noqa: F401  (smtp is a fixture)

from tix import clock
from tix.models import Outbox

PROCESS_TIMEOUT = 120
# SMTP connections per run (TIX_SMTP_CONNECTIONS): the guarantees hold for every count.
CONNECTIONS = [1, 2, 4]


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    return process.returncode, out, err


def due_desk(desk, reminders: int, closes: int) -> tuple[list[str], list[str]]:
    """Tickets whose wait is 3 days old (due a reminder) and tickets whose reminder was
    delivered 2 days ago (due to be closed)."""
    now = clock.now()
    to_remind, to_close = [], []
    for n in range(reminders + closes):
        code = desk.create("alpha" if n % 2 else "beta", subject=f"Ticket {n}")
        desk.tix("reply", code, "-m", "Answered.", as_="hosting_agent")
        if n < reminders:
            set_ticket(desk.url, code, waiting_since=now - timedelta(days=3))
            to_remind.append(code)
        else:
            set_ticket(
                desk.url,
                code,
                waiting_since=now - timedelta(days=5),
                reminded_at=now - timedelta(days=2),
                reminder_delivered_at=now - timedelta(days=2),
            )
            to_close.append(code)
    return to_remind, to_close


@pytest.mark.parametrize("connections", CONNECTIONS)
@pytest.mark.parametrize("lock", ["with the run lock", "--no-lock"])
def test_overlapping_runs_do_everything_exactly_once(desk, smtp, lock, connections):
    server = smtp(Accept())
    to_remind, to_close = due_desk(desk, reminders=6, closes=4)
    args = ["run"] + (["--no-lock"] if lock == "--no-lock" else [])
    runs = [
        start_jobs(desk.url, *args, TIX_SMTP_CONNECTIONS=connections, **server.env())
        for _ in range(4)
    ]
    results = [finish(run) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], results

    rows = outbox(desk.url)
    received = Counter(server.handler.ids())
    assert set(received) == {r.message_id for r in rows}
    assert set(received.values()) == {1}, [m for m, n in received.items() if n > 1]
    assert {r.status for r in rows} == {"sent"}
    for code in to_remind:
        assert len(events(desk.url, code, "reminded")) == 1
    for code in to_close:
        assert len(events(desk.url, code, "closed")) == 1
    # One email per recipient: alpha's tickets (odd n) have two, beta's one.
    assert len([r for r in rows if r.kind == "reminder"]) == sum(
        2 if n % 2 else 1 for n in range(len(to_remind))
    )
    assert len([r for r in rows if r.kind == "auto-closed"]) == sum(
        2 if n % 2 else 1 for n in range(len(to_remind), len(to_remind) + len(to_close))
    )
    summaries = [out for _, out, _ in results]
    assert (
        sum(int(s.split("reminded ")[1].split(",")[0]) for s in summaries if "reminded" in s) == 6
    )
    assert sum(int(s.split("closed ")[1].split(",")[0]) for s in summaries if "closed" in s) == 4


@pytest.mark.parametrize("connections", CONNECTIONS)
def test_a_run_killed_mid_batch_loses_nothing_and_sends_nothing_twice(desk, smtp, connections):
    """Two messages go through, then every connection is caught handing one over (the server
    has its final dot and does not answer) and the run is killed: each connection leaves
    exactly that one message `uncertain`, nothing recorded sent is sent again, and the next
    run sends all the rest once."""
    server = smtp(HoldAfter(accept=2))
    for n in range(4):
        desk.create("beta", subject=f"Ticket {n}")
    all_ids = {r.message_id for r in outbox(desk.url)}
    assert len(all_ids) >= 2 + connections

    victim = start_jobs(desk.url, "notify", TIX_SMTP_CONNECTIONS=connections, **server.env())
    assert server.handler.wait_held(connections, PROCESS_TIMEOUT), "not every connection got one"
    victim.send_signal(signal.SIGKILL)
    finish(victim)
    assert victim.returncode == -signal.SIGKILL
    # Each accepted message was recorded sent with its connection's next start mark.
    assert len(outbox(desk.url, status="sent")) == 2
    started = [r for r in outbox(desk.url, status="sending") if r.attempt_started_at]
    assert len(started) == connections
    server.handler.holding = False

    # The next run gets the lock at once (it died with its holder), but the dead run's rows
    # are still leased to it: nothing is sent twice, nothing is taken early.
    code, out, err = finish(start_jobs(desk.url, "notify", **server.env()))
    assert (code, "skipped" in out) == (0, False), (out, err)
    assert "sent 0," in out

    # The lease runs out (written in the past here; in production, TIX_OUTBOX_LEASE later).
    with opened(desk.url):
        Outbox.update(lease_until=clock.now() - timedelta(seconds=1)).where(
            Outbox.status == "sending"
        ).execute()
    code, out, err = finish(start_jobs(desk.url, "notify", **server.env()))
    rest = len(all_ids) - 2 - connections
    assert code == 1 and f"sent {rest}, retrying 0, dead 0, uncertain {connections}" in out, (
        out,
        err,
    )

    unsure = outbox(desk.url, status="uncertain")
    assert {r.id for r in unsure} == {r.id for r in started}
    seen = Counter(server.handler.seen_ids())
    assert set(seen) == all_ids and set(seen.values()) == {1}
    assert {r.status for r in outbox(desk.url)} == {"sent", "uncertain"}


def test_a_run_that_finds_the_lock_taken_does_nothing_and_the_lock_dies_with_kill_9(desk, smtp):
    server = smtp(Accept())
    desk.create("beta")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from tix import store\n"
            "from tix.jobs.lock import RunLock\n"
            "url = sys.argv[1]\n"
            "lock = RunLock(store.connect(url), url)\n"
            "print(lock.acquire(), flush=True)\n"
            "time.sleep(600)\n",
            desk.url,
        ],
        env=process_env(desk.url),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        code, out, _ = finish(start_jobs(desk.url, "run", **server.env()))
        assert (code, out) == (0, "skipped: another tix-jobs run is in progress\n")
        assert server.handler.ids() == [] and {r.status for r in outbox(desk.url)} == {"pending"}
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(PROCESS_TIMEOUT)
    code, out, _ = finish(start_jobs(desk.url, "run", **server.env()))
    assert code == 0 and f"sent {len(outbox(desk.url))}," in out


def test_the_installed_script_reports_its_exit_codes(desk, smtp):
    """What cron sees: 0 all delivered, 1 some messages failed, 2 bad configuration."""
    server = smtp(Accept())
    desk.create("beta")
    env = process_env(desk.url, **server.env())

    bad = subprocess.run(
        [str(JOBS_SCRIPT), "run"],
        env={**env, "TIX_CLOSE_AFTER": "-1h"},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr
        == "tix-jobs: error: TIX_CLOSE_AFTER: '-1h' is not a duration like 48h, 90m or 2d\n"
    )

    down = subprocess.run(
        [str(JOBS_SCRIPT), "run"],
        env={**env, "TIX_SMTP_PORT": "9"},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert down.returncode == 1 and "retrying" in down.stdout and "Traceback" not in down.stderr

    with opened(desk.url):
        Outbox.update(next_attempt_at=clock.now()).execute()
    ok = subprocess.run(
        [str(JOBS_SCRIPT), "run"], env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT
    )
    assert ok.returncode == 0 and ok.stdout.startswith("reminded 0, closed 0, sent ")
