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
    notes = [line[2:] for line in out.splitlines() if line.startswith("# ")]
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ tix ")]
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
    assert re.search(r'"status": "open"', out)  # the customer's JSON: open again
    workdir = re.search(r"^demo store: (.+) \(removed\)$", out, re.MULTILINE)
    assert workdir and not Path(workdir[1]).exists()
    assert "Traceback" not in result.stderr
