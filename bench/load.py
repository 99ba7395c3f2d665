"""Load and consistency run: agent and customer processes working for a bounded time
while `tix-jobs run` runs every few seconds against a real SMTP server on loopback; then every
ticket's thread, events and emails are checked, and the figures printed.

    python bench/load.py --backend sqlite --seconds 60 --agents 4 --customers 4
    python bench/load.py --backend postgresql       # a throwaway database on TIX_TEST_PG_URL

Checks afterwards: no lost reply (every command that said it replied has its message, exactly
once), no duplicate email (each Message-ID reached the SMTP server once, and every `sent` row
did), no ticket closed by the jobs without a reminder delivered at least TIX_CLOSE_AFTER earlier
by the store's own clock (with no activity in between), each message with its event. Errors must
be zero. Exit status 0 when all hold. tests/test_load.py runs a short form in CI.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TIX_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DELAYS = {
    "TIX_REMIND_AFTER": "3s",
    "TIX_CLOSE_AFTER": "3s",
    "TIX_SMTP_TIMEOUT": "10s",
    "TIX_OUTBOX_LEASE": "60s",
}

# One person's loop, in its own process, calling the real CLI in-process for each operation
# (one process per command would measure Python's start-up, not tix).
WORKER = textwrap.dedent("""
    import json, random, sys, time, uuid
    from click.testing import CliRunner
    from tix.cli import cli
    url, token, role, seconds, seed = sys.argv[1:6]
    rng, runner = random.Random(int(seed)), CliRunner()
    env = {"TIX_DATABASE_URL": url, "TIX_TOKEN": token}
    def tix(*args):
        result = runner.invoke(cli, list(args), env=env)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        return result.exit_code, result.stdout, result.stderr.strip() or repr(result.exception) * crashed
    def log(op, code, body, outcome):
        print(json.dumps({"op": op, "code": code, "body": body, "exit": outcome[0],
                          "error": outcome[2] if outcome[0] else ""}), flush=True)
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        listed = tix("list", "--format", "json", "--limit", "30")
        log("list", None, None, listed)
        if listed[0]:
            continue
        open_codes = [t["code"] for t in json.loads(listed[1])]
        body = f"{role}-{uuid.uuid4().hex[:10]}"
        if role == "customer" and (not open_codes or rng.random() < 0.3):
            outcome = tix("create", "-d", "hosting", "-s", f"Load {body}", "-m", body, "--quiet", "--yes")
            log("create", outcome[1].strip() if outcome[0] == 0 else None, body, outcome)
        elif open_codes:
            code = rng.choice(open_codes)
            outcome = tix("reply", code, "-m", body)
            # 4: the ticket was closed under us (jobs' auto-close) - a refusal, not an error.
            log("reply", code, body, outcome)
""")


def run(
    backend: str,
    seconds: float,
    agents: int,
    customers: int,
    jobs_every: float,
    quiet: bool = False,
) -> dict:
    """Run one load and check it; returns the figures (and `problems`, empty when consistent)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from click.testing import CliRunner
    from smtp_server import Accept, running

    from tix.cli import cli

    work = Path(tempfile.mkdtemp(prefix="tix-load-"))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TIX_") or k.startswith("TIX_TEST_")
    }
    env.update(
        DELAYS,
        XDG_DATA_HOME=str(work / "data"),
        XDG_CONFIG_HOME=str(work / "config"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
        TIX_MAIL_FROM="Support <support@tix.test>",
    )
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{work / 'tix.db'}"
    else:
        import psycopg2

        dbname = f"tix_load_{uuid.uuid4().hex[:10]}"
        admin = psycopg2.connect(PG_ADMIN_URL)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"
    saved = dict(os.environ)
    os.environ.update(env)  # this process sets the desk up through the CLI too
    try:
        with running(Accept()) as smtp:
            env.update(smtp.env(TIX_SMTP_TIMEOUT="10s"))
            tokens = _set_up(CliRunner(), cli, url, agents, customers)
            figures = _load(url, env, tokens, seconds, jobs_every)
            # Let the jobs finish what is due (reminders waiting, closes due, emails queued).
            for _ in range(4):
                time.sleep(float(DELAYS["TIX_CLOSE_AFTER"][:-1]))
                figures["job_runs"] += 1
                _jobs(env, url, figures)
            figures["smtp_ids"] = smtp.handler.ids()
            figures["problems"] = _check(url, figures)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(work, ignore_errors=True)
        if dbname:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            admin.close()
    summary = {k: v for k, v in figures.items() if k not in ("log", "smtp_ids", "job_summaries")}
    if not quiet:
        print(json.dumps(summary, indent=2, default=str))
    return figures


def _set_up(runner, cli, url, agents, customers) -> dict:
    def tix(*args, token=None):
        env = {"TIX_DATABASE_URL": url, **({"TIX_TOKEN": token} if token else {})}
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout.strip()

    admin = tix("init", "--admin-email", "admin@load.test", "--quiet")
    tokens = {"agent": [], "customer": []}
    for i in range(agents):
        tix(
            "admin",
            "agent",
            "add",
            f"a{i}@load.test",
            "--name",
            f"Agent {i}",
            "--department",
            "hosting",
            token=admin,
        )
        tokens["agent"].append(
            tix("admin", "token", "issue", f"a{i}@load.test", "--quiet", token=admin)
        )
    for i in range(customers):
        tix(
            "admin",
            "account",
            "add",
            f"c{i}",
            "--name",
            f"Customer {i}",
            "--owner-email",
            f"o@c{i}.load.test",
            token=admin,
        )
        tokens["customer"].append(
            tix("admin", "token", "issue", f"o@c{i}.load.test", "--quiet", token=admin)
        )
    return tokens


def _jobs(env, url, figures):
    done = subprocess.run(
        [sys.executable, "-m", "tix.jobs.cli", "run"],
        env=dict(env, TIX_DATABASE_URL=url),
        capture_output=True,
        text=True,
    )
    figures["job_summaries"].append(done.stdout.strip().splitlines()[-1:] or [""])
    if done.returncode != 0:
        figures["job_errors"].append(done.stderr.strip()[-300:])


def _load(url, env, tokens, seconds, jobs_every) -> dict:
    # Each worker writes to files, not pipes: nobody reads a pipe while the workers run, and a
    # fast machine fills its 64 KiB, blocking the worker (and this loop) for ever.
    workers, outputs = [], []
    for role in ("agent", "customer"):
        for n, token in enumerate(tokens[role]):
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            outputs.append((out, err))
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, url, token, role, str(seconds), str(n)],
                    env=env,
                    stdout=out,
                    stderr=err,
                    text=True,
                )
            )
    figures = {
        "backend": url.split(":")[0],
        "seconds": seconds,
        "processes": len(workers),
        "job_runs": 0,
        "job_summaries": [],
        "job_errors": [],
        "log": [],
    }
    started = time.monotonic()
    while any(w.poll() is None for w in workers):
        _jobs(env, url, figures)
        figures["job_runs"] += 1
        time.sleep(max(0.0, jobs_every - (time.monotonic() - started) % jobs_every))
    for worker, (out_file, err_file) in zip(workers, outputs):
        worker.wait()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
        out_file.close()
        err_file.close()
        figures["log"] += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if worker.returncode:
            figures["job_errors"].append(f"worker exited {worker.returncode}: {err[-300:]}")
    figures["elapsed"] = round(time.monotonic() - started, 1)
    return figures


def _check(url, figures) -> list[str]:
    """Every promise, read back from the store as its owner."""

    from tix import settings, store
    from tix.models import Event, Message, Outbox, Ticket

    problems, log = [], figures["log"]
    ops = Counter(entry["op"] for entry in log if entry["exit"] == 0)
    # A reply refused because auto-close got there first (exit 4) is the lifecycle working.
    errors = [e for e in log if e["exit"] not in (0, 4) or (e["exit"] == 4 and e["op"] != "reply")]
    figures.update(
        operations=dict(ops),
        operations_total=sum(ops.values()),
        errors=len(errors),
        refused_closed=sum(1 for e in log if e["exit"] == 4),
    )
    problems += [f"error: {e['op']} {e['code']}: {e['error']}" for e in errors[:10]]
    problems += [f"tix-jobs: {e}" for e in figures["job_errors"][:5]]
    close_after = settings.parse_duration(DELAYS["TIX_CLOSE_AFTER"])
    db = store.connect(url)
    try:
        bodies = Counter(m.body for m in Message.select(Message.body))
        for entry in log:
            if (
                entry["exit"] == 0
                and entry["op"] in ("create", "reply")
                and bodies[entry["body"]] != 1
            ):
                problems.append(
                    f"lost or doubled: {entry['op']} {entry['body']} stored "
                    f"{bodies[entry['body']]} times"
                )
        sent = [row.message_id for row in Outbox.select().where(Outbox.status == "sent")]
        received = Counter(figures["smtp_ids"])
        doubled = [mid for mid, n in received.items() if n > 1]
        missing = [mid for mid in sent if mid not in received]
        problems += [f"email sent twice: {mid}" for mid in doubled[:5]]
        problems += [f"email marked sent, never received: {mid}" for mid in missing[:5]]
        figures.update(
            emails_sent=len(sent),
            emails_received=sum(received.values()),
            emails_pending=Outbox.select().where(Outbox.status != "sent").count(),
        )
        closes = reminders = 0
        for ticket in Ticket.select():
            events = list(Event.select().where(Event.ticket == ticket).order_by(Event.at, Event.id))
            messages = (
                Message.select().where(Message.ticket == ticket, Message.internal == False).count()
            )
            replies = sum(1 for e in events if e.kind in ("agent-reply", "customer-reply"))
            if replies != messages - 1:
                problems.append(f"{ticket.code}: {messages} messages but {replies} reply events")
            for index, event in enumerate(events):
                if event.kind == "reminder-delivered":
                    reminders += 1
                if (
                    event.kind != "closed"
                    or json.loads(event.after or "{}").get("reason") != "auto"
                ):
                    continue
                closes += 1
                before = events[:index]
                delivered = [e for e in before if e.kind == "reminder-delivered"]
                if not delivered:
                    problems.append(f"{ticket.code}: closed by the jobs with no reminder delivered")
                    continue
                last = delivered[-1]
                if event.at - last.at < close_after:
                    problems.append(
                        f"{ticket.code}: closed {event.at - last.at} after its reminder"
                    )
                woke = [
                    e
                    for e in before
                    if e.at > last.at
                    and e.kind in ("customer-reply", "agent-reply", "reopened", "status")
                ]
                if woke:
                    problems.append(
                        f"{ticket.code}: closed although {woke[0].kind} came after the reminder"
                    )
        figures.update(
            tickets=Ticket.select().count(), reminders_delivered=reminders, auto_closed=closes
        )
    finally:
        db.close()
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--customers", type=int, default=4)
    parser.add_argument("--jobs-every", type=float, default=3, help="seconds between tix-jobs runs")
    args = parser.parse_args(argv)
    figures = run(args.backend, args.seconds, args.agents, args.customers, args.jobs_every)
    for problem in figures["problems"]:
        print(f"PROBLEM: {problem}")
    print(
        f"{figures['backend']}: {figures['operations_total']} operations by {figures['processes']} "
        f"processes in {figures['elapsed']}s, {figures['job_runs']} tix-jobs runs, "
        f"{figures['emails_sent']} emails, {figures['reminders_delivered']} reminders, "
        f"{figures['auto_closed']} auto-closed; errors: {figures['errors']}"
    )
    return 1 if figures["problems"] or figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
