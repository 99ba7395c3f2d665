"""The benchmark scenarios (1-5: the store and the jobs; 6: the agents' desk). Each returns result rows:
{scenario, backend, measure, value, unit, baseline, ratio, target, ok, note}."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import generate
from bench.timing import (
    CLICK_FLOOR,
    FLOOR,
    PYTHON,
    ROOT,
    Series,
    env_for,
    interleaved,
    run,
    run_with_memory,
    tix,
    tix_jobs,
)

MAIL_FROM = "Support <support@tix.bench>"


def row(
    scenario,
    backend,
    measure,
    value,
    unit="ms",
    baseline=None,
    ratio=None,
    target=None,
    ok=None,
    note="",
):
    return {
        "scenario": scenario,
        "backend": backend,
        "measure": measure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "ok": ok,
        "note": note,
    }


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# -- 1. start-up ---------------------------------------------------------------------------------


def startup(bench: generate.BenchStore, repeat: int) -> list[dict]:
    """`tix --help` against `python -c "import click"`; `tix list --limit 20` and a `tix create`
    the ticket assistant finds nothing to say about against Python with click, peewee, sqlite3
    and tabulate; all timed in turns. The tickets created are removed afterwards."""
    agent = env_for(bench.url, bench.token("agent"))
    customer = env_for(bench.url, bench.token("customer"))
    create = tix(
        "create",
        "-d",
        "billing",
        "-s",
        "Invoice question",
        "-m",
        "Please send me the invoice of November again.",
        "--quiet",
    )
    try:
        series = interleaved(
            {
                "click": (CLICK_FLOOR, env_for()),
                "floor": (FLOOR, env_for()),
                "help": (tix("--help"), env_for()),
                "list": (tix("list", "--limit", "20"), agent),
                "create": (create, customer),
            },
            repeat=repeat,
            warmup=2,
        )
    finally:
        conn = bench.raw_connection()
        try:
            reset_store(bench, conn)
        finally:
            conn.close()
    rows = [
        row(1, bench.backend, f"floor: {what}", ms(series[name].median), note=series[name].spread())
        for name, what in (
            ("click", "python -c 'import click'"),
            ("floor", "python -c 'import click, peewee, sqlite3, tabulate'"),
        )
    ]
    for name, base, target, what in (
        ("help", "click", 1.1, "tix --help"),
        ("list", "floor", 1.3, f"tix list --limit 20 ({bench.label} store)"),
        ("create", "floor", 1.5, "tix create (nothing for the assistant to say)"),
    ):
        value, floor = series[name].median, series[base].median
        rows.append(
            row(
                1,
                bench.backend,
                what,
                ms(value),
                baseline=ms(floor),
                ratio=round(value / floor, 2),
                target=f"<= {target}x {'import click' if base == 'click' else 'floor'}",
                ok=value / floor <= target,
                note=series[name].spread(),
            )
        )
    return rows


# -- 2. queue views at scale ---------------------------------------------------------------------


def queue_views(base: generate.BenchStore, big: generate.BenchStore, repeat: int) -> list[dict]:
    """The agent's queue page, a customer's history and `tix show` of a 20-message ticket, on the
    big store against the same commands on the base store, in turns."""
    views = {
        "agent queue: tix list --department hosting --limit 50": (
            "agent",
            lambda b: tix("list", "--department", "hosting", "--limit", "50"),
        ),
        "customer history: tix list --all": ("customer", lambda b: tix("list", "--all")),
        "tix show CODE (20 messages)": ("agent", lambda b: tix("show", b.meta["show_code"])),
    }
    rows = []
    for what, (who, argv) in views.items():
        series = interleaved(
            {
                "base": (argv(base), env_for(base.url, base.token(who))),
                "big": (argv(big), env_for(big.url, big.token(who))),
            },
            repeat=repeat,
            warmup=1,
        )
        b, g = series["base"].median, series["big"].median
        rows.append(
            row(
                2,
                big.backend,
                f"{what} @ {big.label}",
                ms(g),
                baseline=ms(b),
                ratio=round(g / b, 2),
                target=f"<= 1.3x @ {base.label}",
                ok=g / b <= 1.3,
                note=f"{base.label} {series['base'].spread()}; "
                f"{big.label} {series['big'].spread()}",
            )
        )
    return rows


# -- 6. the agents' desk at scale: tix next, tix search -------------------------------------------

# Search words. The generator's message bodies come from 14 sentences, so each word of a body is
# in about half of all tickets: no one searches for a word like that. Subject words are in ~5%
# of tickets each (20 subjects), which is what a topic an agent looks for ("wordpress") matches
# at a hosting company: ~500 tickets at 10k, ~50,000 at 1M, ~90 of them live at any size.
SEARCH_WORD = "wordpress"
SEARCH_TWO_WORDS = "website down"
# And a rare one: a customer's domain (cust123.example) is in the subjects of a handful of
# tickets (9 at 10k, 31 at 1M).
SEARCH_RARE_WORD = "cust123"


def desk_views(base: generate.BenchStore, big: generate.BenchStore, repeat: int) -> list[dict]:
    """`tix next` and `tix search` on the big store against the base store, in turns. Each claim
    of `tix next` is undone after its timed run (outside the timing), so every run claims the
    same ticket from the same queue and claims never run out."""
    for bench in (base, big):
        restore_history(bench)
    views = {
        f"agent: tix search {SEARCH_WORD}": ("agent", ("search", SEARCH_WORD)),
        f"agent: tix search '{SEARCH_TWO_WORDS}' --all --limit 50": (
            "agent",
            ("search", SEARCH_TWO_WORDS, "--all", "--limit", "50"),
        ),
        f"agent: tix search {SEARCH_RARE_WORD} --all --limit 50": (
            "agent",
            ("search", SEARCH_RARE_WORD, "--all", "--limit", "50"),
        ),
        f"customer: tix search {SEARCH_WORD}": ("customer", ("search", SEARCH_WORD)),
    }
    rows = [_claim_in_turns(base, big, repeat)]
    for what, (who, argv) in views.items():
        series = interleaved(
            {
                "base": (tix(*argv), env_for(base.url, base.token(who))),
                "big": (tix(*argv), env_for(big.url, big.token(who))),
            },
            repeat=repeat,
            warmup=1,
        )
        rows.append(_versus_row(6, base, big, what, series["base"], series["big"]))
    for bench in (base, big):
        conn = bench.raw_connection()
        try:
            reset_store(bench, conn)  # the claims' `reassigned` events
        finally:
            conn.close()
    return rows


def _versus_row(scenario, base, big, what, base_series, big_series) -> dict:
    b, g = base_series.median, big_series.median
    return row(
        scenario,
        big.backend,
        f"{what} @ {big.label}",
        ms(g),
        baseline=ms(b),
        ratio=round(g / b, 2),
        target=f"<= 1.3x @ {base.label}",
        ok=g / b <= 1.3,
        note=f"{base.label} {base_series.spread()}; {big.label} {big_series.spread()}",
    )


def _claim_in_turns(base, big, repeat) -> dict:
    series = {"base": Series("base"), "big": Series("big")}
    claimed = {}
    for round_no in range(1 + repeat):  # one discarded warm-up round
        for key, bench in (("base", base), ("big", big)):
            result = run(tix("next"), env_for(bench.url, bench.token("agent")), capture=True)
            code = re.match(r"claimed (\S+):", result.stdout)
            if not code:
                raise RuntimeError(f"tix next printed {result.stdout!r}")
            unclaim(bench, code[1])
            claimed.setdefault(key, set()).add(code[1])
            if round_no:
                series[key].samples.append(result.seconds)
    result = _versus_row(
        6, base, big, "agent: tix next (claim, then undone)", series["base"], series["big"]
    )
    result["note"] += f"; claimed {sorted(claimed['base'])} / {sorted(claimed['big'])}"
    return result


def unclaim(bench: generate.BenchStore, code: str) -> None:
    conn = bench.raw_connection()
    try:
        conn.cursor().execute(
            f"UPDATE tickets SET assignee_id = NULL WHERE code = {bench.param()}", (code,)
        )
    finally:
        conn.close()


def restore_history(bench: generate.BenchStore) -> None:
    """Close again the old tickets scenario 3 made due (it reopens tickets all over the store
    and leaves the reminded ones answered): the generator closes every ticket older than two
    weeks, so the live queue is ~1,700 tickets at any size, and a search lists as many."""
    built = datetime.fromisoformat(bench.meta["built_at"])
    cutoff = _ts(built - timedelta(days=14))
    conn = bench.raw_connection()
    try:
        p = bench.param()
        conn.cursor().execute(
            f"UPDATE tickets SET status = 'closed', closed_at = COALESCE(closed_at, updated_at), "
            f"closed_by = COALESCE(closed_by, 'tix-jobs'), close_reason = COALESCE(close_reason, "
            f"'auto'), waiting_since = NULL, reminded_at = NULL, reminder_delivered_at = NULL "
            f"WHERE status <> 'closed' AND created_at < {p}",
            (cutoff,),
        )
    finally:
        conn.close()


# -- store state for the job scenarios -----------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _ts(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")


def _table_ids(conn, backend: str) -> list[str]:
    cur = conn.cursor()
    if backend == "sqlite":
        cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = [r[0] for r in cur.fetchall()]
        with_id = []
        for table in tables:
            cur.execute(f"PRAGMA table_info('{table}')")
            if any(col[1] == "id" for col in cur.fetchall()):
                with_id.append(table)
        return with_id
    cur.execute(
        "SELECT c.table_name FROM information_schema.columns c "
        "JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND c.column_name = 'id' "
        "AND t.table_type = 'BASE TABLE'"
    )
    return [r[0] for r in cur.fetchall()]


def upgrade(bench: generate.BenchStore) -> None:
    """Apply migrations added since the store was opened (other work adds them as we run)."""
    from tix import migrations
    from tix import store as tix_store

    db = tix_store.connect(bench.url)
    try:
        migrations.upgrade(db)
    finally:
        db.close()


def reset_store(bench: generate.BenchStore, conn) -> None:
    """Undo what earlier bench runs wrote: every row past the generated ones goes (outbox rows,
    events, tables later migrations added); the event log's append-only trigger is lifted for
    this only. Ticket state is set by prepare_due."""
    counts = bench.meta["counts"]
    generated = {
        "tickets": counts["tickets"],
        "messages": counts["messages"],
        "attachments": counts["attachments"],
        "events": counts["events"],
        "outbox": counts["outbox"],
        "accounts": counts["accounts"],
        "contacts": counts["contacts"],
        "services": counts["services"],
        "agents": counts["agents"],
        "tokens": 3,
        "departments": 10**9,
    }
    cur = conn.cursor()
    skip = {"schema_migrations", "bench_meta"}
    tables = [
        t
        for t in _table_ids(conn, bench.backend)
        if t not in skip
        and not t.endswith(("_fts", "_data", "_idx", "_content", "_docsize", "_config"))
    ]
    if bench.backend == "sqlite":
        cur.execute("BEGIN IMMEDIATE")
        triggers = cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'events' AND sql LIKE '%append-only%'"
        ).fetchall()
        for name, _ in triggers:
            cur.execute(f"DROP TRIGGER {name}")
    else:
        cur.execute("BEGIN")
        cur.execute("ALTER TABLE events DISABLE TRIGGER USER")
    # Children before parents (foreign keys): the generic pass may meet them in any order.
    order = ["outbox", "events", "attachments", "messages"]
    tables = [t for t in order if t in tables] + [
        t for t in tables if t not in order and t != "tickets"
    ]
    for table in tables:
        cur.execute(f"DELETE FROM {table} WHERE id > {int(generated.get(table, 0))}")
    if bench.backend == "sqlite":
        for _, sql in triggers:
            cur.execute(sql)
        cur.execute("COMMIT")
    else:
        cur.execute("ALTER TABLE events ENABLE TRIGGER USER")
        cur.execute("COMMIT")


def due_ids(bench: generate.BenchStore, remind: int, close: int) -> tuple[list[int], list[int]]:
    """Which tickets the job scenario makes due: spread evenly over the whole store, so on 1M the
    job must find them among a million tickets, not at the end of the table."""
    n = bench.tickets
    total = remind + close
    if total > n:
        raise SystemExit(f"store {bench.label} has {n} tickets, fewer than {total} due ones")
    step = n // total
    ids = [1 + k * step for k in range(total)]
    return ids[0::2][:remind], ids[1::2][:close]


def prepare_due(bench: generate.BenchStore, remind: int, close: int) -> None:
    """Ticket state for one job run: `remind` tickets answered 49h ago (due a reminder), `close`
    tickets whose reminder was delivered 25h ago (due a close), every other answered ticket
    waiting only an hour (due nothing), and nothing queued."""
    upgrade(bench)
    conn = bench.raw_connection()
    try:
        reset_store(bench, conn)
        remind_ids, close_ids = due_ids(bench, remind, close)
        now = _now()
        p = bench.param()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if bench.backend == "sqlite" else "BEGIN")
        fresh = _ts(now - timedelta(hours=1))
        cur.execute(
            f"UPDATE tickets SET waiting_since = {p}, last_agent_reply_at = {p}, "
            f"reminded_at = NULL, reminder_delivered_at = NULL WHERE status = 'answered'",
            (fresh, fresh),
        )
        base = (
            "status = 'answered', closed_at = NULL, closed_by = NULL, close_reason = NULL, "
            f"waiting_since = {p}, last_agent_reply_at = {p}, updated_at = {p}, "
            f"reminded_at = {p}, reminder_delivered_at = {p}"
        )
        waited = _ts(now - timedelta(hours=49))
        for chunk in _chunks(remind_ids, 500):
            cur.execute(
                f"UPDATE tickets SET {base} WHERE id IN ({', '.join(map(str, chunk))})",
                (waited, waited, waited, None, None),
            )
        waited = _ts(now - timedelta(hours=75))
        reminded = _ts(now - timedelta(hours=26))
        delivered = _ts(now - timedelta(hours=25))
        for chunk in _chunks(close_ids, 500):
            cur.execute(
                f"UPDATE tickets SET {base} WHERE id IN ({', '.join(map(str, chunk))})",
                (waited, waited, delivered, reminded, delivered),
            )
        cur.execute("COMMIT")
    finally:
        conn.close()


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- a loopback SMTP server ----------------------------------------------------------------------


class SmtpSink:
    """aiosmtpd in its own process (so it never shares a GIL with what is being timed), counting
    the messages it accepts."""

    def __init__(self):
        with socket.socket() as probe:  # Controller(port=0) does not work: pick a port first
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.count_file = Path(tempfile.mkstemp(prefix="tix-bench-sink-")[1])
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench.smtp_sink", str(self.port), str(self.count_file)], cwd=ROOT
        )
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def env(self) -> dict:
        return {
            "TIX_SMTP_HOST": "127.0.0.1",
            "TIX_SMTP_PORT": self.port,
            "TIX_SMTP_SECURITY": "none",
            "TIX_MAIL_FROM": MAIL_FROM,
        }

    def received(self) -> int:
        try:
            return int(self.count_file.read_text() or 0)
        except (OSError, ValueError):
            return 0

    def wait_for(self, total: int, timeout: float = 5.0) -> int:
        """The count once it reaches `total` (the sink writes it every 50 ms), or after timeout."""
        deadline = time.time() + timeout
        while self.received() < total and time.time() < deadline:
            time.sleep(0.05)
        return self.received()

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.count_file.unlink(missing_ok=True)


def _summary_counts(line: str) -> dict:
    """`reminded 12, closed 3, sent 40, ...` -> {"reminded": 12, "closed": 3, "sent": 40, ...}"""
    return {name: int(num) for name, num in re.findall(r"([a-z]+) (\d+)", line)}


# -- 3. the hourly job ---------------------------------------------------------------------------


def hourly_job(
    base: generate.BenchStore, big: generate.BenchStore, due: int, repeat: int, sink: SmtpSink
) -> list[dict]:
    """The hourly job with `due` tickets due a reminder and `due` due a close, on a store that
    holds little more than those and on the big store; emails go to the loopback sink.

    `tix-jobs run` is remind, autoclose and notify in that order; the three are run here as three
    processes (the same work, one extra start-up each) so the figure the target names,
    reminders+closes per second, is not mixed with the SMTP time of the emails they queue."""
    rows, totals = [], {}
    for bench in (base, big):
        try:
            totals[bench.label] = _hourly_job_on(bench, due, repeat, sink, rows)
        except Exception as exc:
            rows.append(
                row(
                    3,
                    bench.backend,
                    f"hourly job @ {bench.label}",
                    None,
                    unit="",
                    ok=False,
                    note=f"failed: {exc}"[:300],
                )
            )
            return rows
    for i, what in ((0, "remind+autoclose+notify"), (1, "remind+autoclose only")):
        b, g = totals[base.label][i], totals[big.label][i]
        rows.append(
            row(
                3,
                big.backend,
                f"hourly job ({what}) @ {big.label} vs @ {base.label}",
                round(g, 2),
                unit="s",
                baseline=round(b, 2),
                ratio=round(g / b, 2),
                target=f"<= 1.3x @ {base.label}",
                ok=g / b <= 1.3,
            )
        )
    return rows


def _hourly_job_on(bench, due, repeat, sink, rows) -> tuple[float, float]:
    """Runs the job `repeat` times on one store; appends its rows; returns the median seconds
    of the whole job and of remind+autoclose."""
    from bench import progress

    runs = []
    shown = progress.bar(repeat * 3, f"  hourly job @ {bench.label}", "step")
    for _ in range(repeat):
        prepare_due(bench, due, due)
        env = env_for(bench.url, None, **sink.env())
        steps = {}
        for step in ("remind", "autoclose", "notify"):
            result = run_with_memory(tix_jobs(step, "--no-lock"), env, check=False)
            if result.returncode != 0:
                raise RuntimeError(
                    f"tix-jobs {step} exited {result.returncode}: {result.stderr[-800:]}"
                )
            steps[step] = (
                result.seconds,
                result.max_rss_kb,
                _summary_counts(result.stdout.strip().splitlines()[-1]),
                result.cpu_seconds,
            )
            shown.update(1)
        runs.append(steps)
    shown.close()
    jobs_s = _median([r["remind"][0] + r["autoclose"][0] for r in runs])
    jobs_cpu = _median([r["remind"][3] + r["autoclose"][3] for r in runs])
    notify_s = _median([r["notify"][0] for r in runs])
    total_s = _median([sum(step[0] for step in r.values()) for r in runs])
    peak = max(step[1] for r in runs for step in r.values()) / 1024
    reminded = runs[0]["remind"][2].get("reminded", 0)
    closed = runs[0]["autoclose"][2].get("closed", 0)
    sent = runs[0]["notify"][2].get("sent", 0)
    rate = (reminded + closed) / jobs_s
    ok = (rate >= 2000) if bench.backend == "sqlite" else None
    rows.append(
        row(
            3,
            bench.backend,
            f"hourly job @ {bench.label} tickets: reminders+closes/s",
            round(rate),
            unit="/s",
            target=">= 2000/s (SQLite)",
            ok=ok,
            note=f"reminded {reminded} + closed {closed} in {jobs_s:.1f}s "
            f"(median of {len(runs)}); CPU {jobs_cpu:.1f}s = "
            f"{(reminded + closed) / jobs_cpu:.0f}/CPU-s",
        )
    )
    rows.append(
        row(
            3,
            bench.backend,
            f"hourly job @ {bench.label}: notify",
            round(sent / notify_s),
            unit="msg/s",
            note=f"sent {sent} in {notify_s:.1f}s",
        )
    )
    rows.append(
        row(
            3,
            bench.backend,
            f"hourly job @ {bench.label}: peak memory",
            round(peak, 1),
            unit="MB",
            target="< 150 MB",
            ok=peak < 150,
            note="largest of remind, autoclose, notify",
        )
    )
    return total_s, jobs_s


def _median(values):
    return sorted(values)[len(values) // 2]


# -- 4. dispatch ---------------------------------------------------------------------------------


def prepared_emails(bench: generate.BenchStore, count: int) -> list[tuple]:
    """`count` outbox rows as tix queues them (tix.mail.build), ready to insert."""
    os.environ.setdefault("TIX_MAIL_FROM", MAIL_FROM)
    from tix import mail, settings

    conf = settings.load()
    now = _now()
    rows = []
    for i in range(count):
        ticket_id = 1 + (i * 7919) % bench.tickets
        code = generate._code(ticket_id)
        message_id = f"<bench-dispatch-{i}@tix.bench>"
        recipient = mail.Recipient(f"owner@cust{2 + i % 100}.example", f"Customer {i % 100}", "en")
        body = (
            "Hello,\n\nWe restarted the web server and your site answers again. Please check "
            "and tell us if anything is still wrong.\n\n-- \nBench Agent, Hosting\n"
        )
        msg = mail.build(
            kind="agent-reply",
            code=code,
            subject="Website down",
            body=body,
            recipient=recipient,
            message_id=message_id,
            conf=conf,
        )
        rows.append(
            (
                message_id,
                ticket_id,
                "agent-reply",
                recipient.email,
                str(msg["Subject"]),
                msg.as_string(),
                "pending",
                0,
                _ts(now - timedelta(minutes=1)),
                _ts(now),
            )
        )
    return rows


def queue_emails(bench: generate.BenchStore, rows: list[tuple]) -> None:
    upgrade(bench)
    conn = bench.raw_connection()
    try:
        reset_store(bench, conn)
        p = bench.param()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE" if bench.backend == "sqlite" else "BEGIN")
        # No other tickets due anything: this scenario times the dispatcher alone.
        cur.execute(
            f"UPDATE tickets SET waiting_since = {p}, reminded_at = NULL, "
            f"reminder_delivered_at = NULL WHERE status = 'answered'",
            (_ts(_now() - timedelta(hours=1)),),
        )
        cur.executemany(
            f"INSERT INTO outbox (message_id, ticket_id, kind, recipient, subject, raw, status, "
            f"attempts, next_attempt_at, created_at) VALUES ({', '.join([p] * 10)})",
            rows,
        )
        cur.execute("COMMIT")
    finally:
        conn.close()


def _bare_loops(sink: SmtpSink, spool: Path, loops: int) -> float:
    """`loops` bare smtplib loops side by side, each over its own connection with its share of
    the messages; the seconds until the last one finished its send loop."""
    procs = [
        subprocess.Popen(
            [PYTHON, "-m", "bench.bare_smtp", str(sink.port), str(spool), MAIL_FROM]
            + ([str(k), str(loops)] if loops > 1 else []),
            cwd=ROOT,
            env=env_for(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for k in range(loops)
    ]
    times = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"bare smtplib loop failed: {err.decode()[-400:]}")
        times.append(float(out.decode().strip()))
    return max(times)


def dispatch(
    bench: generate.BenchStore,
    count: int,
    repeat: int,
    sink: SmtpSink,
    connections: tuple[int, ...] = (1,),
) -> list[dict]:
    """`tix-jobs notify` of `count` queued emails with the default TIX_SMTP_CONNECTIONS
    against one bare smtplib loop (the target), and with N connections against N bare loops
    side by side (reported); every pair run in turns."""
    from tix import mailsettings

    default = mailsettings.SMTP_CONNECTIONS_DEFAULT
    emails = prepared_emails(bench, count)
    spool = Path(tempfile.mkstemp(prefix="tix-bench-mail-", suffix=".json")[1])
    spool.write_text(json.dumps([[r[3], r[5]] for r in emails]))
    from bench import progress

    counts = sorted({default, *connections})
    tix_times = {n: [] for n in counts}
    bare_times = {n: [] for n in counts}
    shown = progress.bar(repeat * len(counts), f"  dispatch {count} emails", "pair")
    try:
        for _ in range(repeat):
            for n in counts:
                queue_emails(bench, emails)
                before = sink.received()
                result = run(
                    tix_jobs("notify", "--no-lock"),
                    env_for(bench.url, None, TIX_SMTP_CONNECTIONS=n, **sink.env()),
                    capture=True,
                )
                sent = sink.wait_for(before + count) - before
                if sent != count:
                    raise RuntimeError(
                        f"tix-jobs notify delivered {sent} of {count}: {result.stdout}"
                    )
                tix_times[n].append(result.seconds)
                bare_times[n].append(_bare_loops(sink, spool, n))
                shown.update(1)
    finally:
        shown.close()
        spool.unlink(missing_ok=True)
        queue_emails(bench, [])
    tix_s = {n: _median(v) for n, v in tix_times.items()}
    bare_s = {n: _median(v) for n, v in bare_times.items()}
    ratio = bare_s[1] / tix_s[default]
    rows = [
        row(
            4,
            bench.backend,
            f"bare smtplib loop, one connection: {count} emails",
            round(count / bare_s[1]),
            unit="msg/s",
            note=f"{bare_s[1]:.2f}s (send loop only, messages already in memory)",
        ),
        row(
            4,
            bench.backend,
            f"tix-jobs notify: {count} queued emails ({default} connections, the default)",
            round(count / tix_s[default]),
            unit="msg/s",
            baseline=round(count / bare_s[1]),
            ratio=round(ratio, 2),
            target=">= 0.8x bare loop",
            ok=ratio >= 0.8,
            note=f"{tix_s[default]:.2f}s for the whole process (start-up, claim, send, mark sent)",
        ),
    ]
    for n in counts:
        rows.append(
            row(
                4,
                bench.backend,
                f"tix-jobs notify, {n} connection(s) vs {n} bare loop(s) side by side",
                round(count / tix_s[n]),
                unit="msg/s",
                baseline=round(count / bare_s[n]),
                ratio=round(bare_s[n] / tix_s[n], 2),
                note=f"tix {tix_s[n]:.2f}s, bare {bare_s[n]:.2f}s",
            )
        )
    return rows


# -- 5. concurrency ------------------------------------------------------------------------------


def concurrency_copy(bench: generate.BenchStore) -> generate.BenchStore:
    """A scratch copy of a store (this scenario writes new tickets and messages)."""
    copy = generate.BenchStore(
        bench.backend, f"{bench.label}-concurrency", bench.tickets, "", dict(bench.meta)
    )
    if bench.backend == "sqlite":
        src = bench.sqlite_path
        conn = bench.raw_connection()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        dst = src.with_name(f"tix-{copy.label}.db")
        for suffix in ("-wal", "-shm"):
            Path(f"{dst}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(src, dst)
        copy.url = f"sqlite:///{dst}"
    else:
        name = f"{generate.PG_PREFIX}_{bench.label}_concurrency"
        admin = generate._pg_connect(generate.PG_ADMIN_URL)
        cur = admin.cursor()
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{generate.PG_PREFIX}_{bench.label}"')
        admin.close()
        copy.url = generate.pg_url(name)
    return copy


def drop_copy(copy: generate.BenchStore) -> None:
    if copy.backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".jobs-lock"):  # .jobs-lock: tix-jobs' run lock
            Path(f"{copy.sqlite_path}{suffix}").unlink(missing_ok=True)
    else:
        admin = generate._pg_connect(generate.PG_ADMIN_URL)
        name = f"{generate.PG_PREFIX}_{copy.label.replace('-', '_')}"
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def concurrency(
    bench: generate.BenchStore, workers: int, ops: int, due: int, sink: SmtpSink
) -> list[dict]:
    copy = concurrency_copy(bench)
    try:
        prepare_due(copy, due, due)
        conn = copy.raw_connection()
        cur = conn.cursor()
        cur.execute("SELECT code FROM tickets WHERE status <> 'closed' ORDER BY id DESC LIMIT 400")
        live = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT code FROM tickets WHERE account_id = 1 ORDER BY id")
        own = [r[0] for r in cur.fetchall()]
        conn.close()
        plan = Path(tempfile.mkstemp(prefix="tix-bench-plan-", suffix=".json")[1])
        plan.write_text(
            json.dumps(
                {
                    "live": live,
                    "own": own,
                    "ops": ops,
                    "agent": bench.token("agent"),
                    "customer": bench.token("customer"),
                }
            )
        )
        env = env_for(copy.url, None, **sink.env())
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [PYTHON, "-m", "bench.worker", str(plan), str(k)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for k in range(workers)
        ]
        job_runs, job_errors, job_lines = 0, [], []
        while any(p.poll() is None for p in procs):
            result = run(tix_jobs("run"), env, capture=True, check=False)
            job_runs += 1
            if result.returncode != 0:
                job_errors.append(result.stderr.strip()[-300:])
            elif result.stdout.strip():
                job_lines.append(result.stdout.strip().splitlines()[-1])
        elapsed = time.perf_counter() - started
        reports = []
        for p in procs:
            out, err = p.communicate()
            try:
                reports.append(json.loads(out.decode().strip().splitlines()[-1]))
            except (ValueError, IndexError):
                reports.append(
                    {
                        "ops": 0,
                        "ok": 0,
                        "refused": 0,
                        "failed": ops,
                        "locked": 0,
                        "errors": [err.decode()[-300:]],
                    }
                )
        plan.unlink(missing_ok=True)
    finally:
        drop_copy(copy)
    total_ok = sum(r["ok"] for r in reports)
    refused = sum(r["refused"] for r in reports)
    failed = sum(r["failed"] for r in reports)
    locked = sum(r["locked"] for r in reports) + sum("database is locked" in e for e in job_errors)
    errors = [e for r in reports for e in r.get("errors", [])][:3] + job_errors[:2]
    reminded = sum(_summary_counts(line).get("reminded", 0) for line in job_lines)
    closed = sum(_summary_counts(line).get("closed", 0) for line in job_lines)
    return [
        row(
            5,
            bench.backend,
            f"{workers} processes x {ops} create/reply while tix-jobs run loops ({bench.label})",
            round(total_ok / elapsed, 1),
            unit="ops/s",
            target='no "database is locked"',
            ok=locked == 0 and failed == 0 and not job_errors,
            note=f"{total_ok} ok, {refused} refused by state (exit 4), {failed} failed, "
            f"{locked} locked in {elapsed:.1f}s; {job_runs} job runs reminded {reminded}, "
            f"closed {closed}" + (f"; errors: {errors}" if errors else ""),
        )
    ]
