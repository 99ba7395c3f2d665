"""What `tix-jobs run` says while and after it works: on a terminal a progress line per step
(stderr, tqdm), never in cron's log; `-v` a line per step with its count, `-vv` also a line per
ticket and message."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from datetime import datetime, timedelta

from freezegun import freeze_time
from jobs_support import jobs, process_env, set_ticket

from tix import clock

START = datetime(2025, 1, 6, 9, 0, 0)


def two_due(desk) -> tuple[str, str]:
    """One ticket due a reminder, one due a close (their waits written in the past)."""
    now = clock.now()
    codes = []
    for subject in ("Needs a reminder", "Needs closing"):
        code = desk.create("beta", subject=subject)
        desk.tix("reply", code, "-m", "Answered.", as_="hosting_agent")
        codes.append(code)
    set_ticket(desk.url, codes[0], waiting_since=now - timedelta(days=3))
    set_ticket(
        desk.url,
        codes[1],
        waiting_since=now - timedelta(days=5),
        reminded_at=now - timedelta(days=2),
        reminder_delivered_at=now - timedelta(days=2),
    )
    return codes[0], codes[1]


def test_v_prints_a_line_per_step_and_vv_a_line_per_ticket(desk):
    with freeze_time(START):
        reminded, closed = two_due(desk)
        out = jobs(desk.url, "run", "-v").stdout.splitlines()
        assert [line.split(" (")[0] for line in out[:-1]] == [
            "remind: reminded 1",
            "autoclose: closed 1",
            f"notify: sent {out[-1].split('sent ')[1].split(',')[0]}, retrying 0, dead 0, "
            "uncertain 0",
        ]
        assert not any(reminded in line or closed in line for line in out)
        assert out[-1].startswith("reminded 1, closed 1, sent ")

        again = desk.create("beta", subject="One more")
        out = jobs(desk.url, "run", "-vv").stdout.splitlines()
        assert "notify: sent 3, retrying 0, dead 0, uncertain 0" in [
            line.split(" (")[0] for line in out
        ]
        assert sum(line.startswith("sent ticket-created to ") for line in out) == 1
        assert again  # (its emails are the per-message lines)


def test_progress_shows_each_step_with_its_count(desk):
    with freeze_time(START):
        two_due(desk)
        result = jobs(desk.url, "run", "--progress")
        progress = result.stderr.replace("\r", "\n")
        for line in ("remind: 1 reminded", "autoclose: 1 closed"):
            assert line in progress, progress
        assert "notify: 100%" in progress and "emails" in progress, progress
        assert result.stdout.startswith("reminded 1, closed 1, sent ")
        # Not asked for and not a terminal (cron, a pipe): stderr stays clean.
        two_due(desk)
        assert jobs(desk.url, "run").stderr == ""


def test_on_a_terminal_the_run_shows_its_progress_and_in_a_pipe_it_does_not(desk):
    two_due(desk)
    env = process_env(desk.url)
    command = [sys.executable, "-m", "tix.jobs.cli", "run"]
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=follower, text=True
        )
        os.close(follower)
        seen = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            seen += chunk
        out, _ = process.communicate(timeout=60)
    finally:
        os.close(leader)
    shown = seen.decode(errors="replace").replace("\r", "\n")
    assert process.returncode == 0 and out.startswith("reminded 1, closed 1, sent ")
    assert "remind: 1 reminded" in shown and "autoclose: 1 closed" in shown, shown

    two_due(desk)
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr == ""
