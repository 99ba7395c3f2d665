"""The load run of bench/load.py in a short form: agent and customer processes working while
`tix-jobs run` runs every couple of seconds (3 s reminder and close delays, a real SMTP server on
loopback); afterwards no reply is lost, no email sent twice, no ticket closed without a reminder
delivered at least the close delay earlier, and no operation failed. The full run (a minute or
more, more processes) is `python bench/load.py --backend sqlite|postgresql`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import load


def test_a_short_load_run_stays_consistent(backend):
    figures = load.run(backend, seconds=8, agents=2, customers=2, jobs_every=2, quiet=True)
    assert figures["problems"] == []
    assert figures["errors"] == 0
    assert figures["operations"].get("create", 0) > 0 and figures["operations"].get("reply", 0) > 0
    assert figures["reminders_delivered"] > 0 and figures["auto_closed"] > 0  # the jobs did work
    print(
        f"{backend}: {figures['operations_total']} operations, {figures['emails_sent']} emails, "
        f"{figures['auto_closed']} auto-closed, errors {figures['errors']}"
    )
