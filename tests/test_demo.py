"""`tix demo`, the README's first command: it runs to the end on a throwaway store, for real (a
separate `tix` process, as a new user runs it), and shows every step it takes."""

import os
import re
import subprocess
import sys
from pathlib import Path

from tix import codes

STEPS = [
    ("create the store and its first admin", "tix init"),
    ("add a technician", "tix admin agent add"),
    ("add a customer account", "tix admin account add"),
    ("the customer opens a ticket", "tix create"),
    ("the technician answers", "tix reply"),
    ("the customer replies", "tix reply"),
    ("moves it to the Email department", "tix reassign"),
    ("an internal note", "tix reply"),
    ("the technician closes the ticket", "tix close"),
    ("the customer reopens it", "tix reopen"),
    ("now the ticket waits on the customer", "tix reply"),
    ("47h59m later the hourly job finds nothing due", "tix-jobs run"),
    ("at 48h it sends the customer one reminder", "tix-jobs run"),
    ("with no answer, it closes the ticket", "tix-jobs run"),
    ("closed automatically", "tix list"),
    ("the customer answers after all: the ticket reopens", "tix reply"),
    ("the whole thread and its history", "tix show"),
]


def test_demo_walks_a_ticket_through_its_life(tmp_path):
    tix = Path(sys.executable).with_name("tix")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIX_")}
    env.update(HOME=str(tmp_path), NO_COLOR="1")
    result = subprocess.run(
        [str(tix), "demo"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # Each step is a "# note" line followed by its "$ command" line.
    lines = out.splitlines()
    pairs = [
        (line[2:], lines[i + 1][2:])
        for i, line in enumerate(lines[:-1])
        if line.startswith("# ") and lines[i + 1].startswith("$ tix")
    ]
    notes, commands = [n for n, _ in pairs], [c for _, c in pairs]
    position = 0
    for note, command in STEPS:  # every step, in order, with the command it runs
        index = next((i for i in range(position, len(notes)) if note in notes[i]), None)
        assert index is not None, f"step {note!r} missing from:\n{out}"
        assert commands[index].startswith(command), (note, commands[index])
        position = index + 1
    code = next(line for line in out.splitlines() if codes.SHAPE.match(line.strip()))
    assert f"reopened {code}" in out
    shown = [line for line in out.splitlines() if not line.startswith("$ ")]
    assert sum("SPF record missing" in line for line in shown) == 1  # the agent's `show` only
    # The job's promise: nothing at 47h59m, one reminder at 48h, the close 24h after delivery.
    summaries = [line for line in out.splitlines() if line.startswith("reminded ")]
    assert [s.split(", ")[:2] for s in summaries] == [
        ["reminded 0", "closed 0"],
        ["reminded 1", "closed 0"],
        ["reminded 0", "closed 1"],
    ]
    assert "will be closed in 24 hours unless you answer" in out  # as the README quotes it
    assert re.search(r'"close_reason": "auto"', out)  # the customer's JSON: closed by the job
    assert f"replied on {code}; status open" in out  # ...and a late answer reopens it
    workdir = re.search(r"^demo store: (.+) \(removed\)$", out, re.MULTILINE)
    assert workdir and not Path(workdir[1]).exists()
    assert "Traceback" not in result.stderr


def test_demo_keep_can_be_run_twice_and_refuses_a_folder_that_is_not_a_demos(tmp_path):
    tix = Path(sys.executable).with_name("tix")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIX_")}
    env.update(HOME=str(tmp_path), NO_COLOR="1")
    kept = tmp_path / "kept"
    for _ in range(2):
        result = subprocess.run(
            [str(tix), "demo", "--keep", str(kept)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"demo store: {kept}\n" in result.stdout
    assert (kept / "demo.db").is_file() and "Traceback" not in result.stderr
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused = subprocess.run(
        [str(tix), "demo", "--keep", str(other)], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 1 and "holds no earlier demo" in refused.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_python_m_tix_jobs_is_tix_jobs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tix.jobs", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("Usage: tix-jobs ")
    assert "remind" in result.stdout and "mail-in" in result.stdout
