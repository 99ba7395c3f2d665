"""Timings of the ticket assistant's checks ("never more than a fraction of a second") and
`mail-in` per message, on a fresh SQLite store (or TIX_BENCH_URL).

    python -m bench.checks_mail_in [--reps 200] [--messages 200]

Prints medians and the 95th percentile in milliseconds. In-process: it measures the work, not
Python's start-up (which `tix` pays once per command on top).
"""

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

DRAFTS = [
    ("hosting", "medium", "Web down", "My website does not load since this morning."),
    ("email", "high", "Correo", "No puedo recibir correo y la factura está mal cobrada."),
    (
        "hosting",
        "emergency",
        "Error",
        'alpha-shop.test says "Error establishing a database connection"',
    ),
    ("hosting", "medium", "Blocked", "My IP is blocked by the firewall when I use FTP."),
    ("domains", "low", "DNS", "Please point www.alpha-typo.test to the new server."),
]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def report(name, seconds):
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:<44} median {statistics.median(ms):7.2f} ms   p95 {percentile(ms, 0.95):7.2f} ms"
        f"   n={len(ms)}"
    )


def build_store(url):
    from tix import admin, store
    from tix.auth import Principal

    db = store.connect(url)
    agent, _ = admin.init(db, "admin@bench.test", "Admin")
    boss = Principal(agent=agent)
    admin.add_department(boss, "webhelp", "Web help", email="help@bench.test")
    admin.add_account(boss, "alpha", "Alpha SL", "owner@alpha.test", lang="es")
    for name, kind in (
        ("alpha.test", "domain"),
        ("alpha-shop.test", "hosting"),
        ("mail.alpha.test", "email"),
    ):
        admin.add_service(boss, "alpha", name, kind)
    return db


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="tix-bench-checks-"))
    os.environ.setdefault("XDG_CONFIG_HOME", str(folder / "config"))
    url = os.environ.get("TIX_BENCH_URL") or f"sqlite:///{folder / 'tix.db'}"
    db = build_store(url)

    from tix import checks, inbound, mailsettings, settings, tickets
    from tix.auth import Principal
    from tix.models import Contact

    owner = Principal(contact=Contact.get(Contact.email == "owner@alpha.test"))
    print(
        f"store {url}; {len(checks.BUILTIN_CHECKS)} built-in checks, "
        f"{len(checks.plugin_checks())} plug-in(s)"
    )

    times = []
    for _ in range(args.reps):
        started = time.perf_counter()
        checks.plugin_checks()
        times.append(time.perf_counter() - started)
    report("entry point scan (tix.checks)", times)

    times = []
    for rep in range(args.reps):
        department, priority, subject, body = DRAFTS[rep % len(DRAFTS)]
        started = time.perf_counter()
        checks.review(
            owner,
            tickets.prepare(
                owner, department=department, priority=priority, subject=subject, body=body
            ),
        )
        times.append(time.perf_counter() - started)
    report("checks.review (all checks, one draft)", times)

    conf = settings.load()
    limits = mailsettings.MailInSettings(flood_limit=10**9, flood_window=timedelta(minutes=15))
    created, replies = [], []
    codes = []
    for n in range(args.messages):
        raw = (
            f"From: Olga <owner@alpha.test>\nTo: help@bench.test\nSubject: Web {n}\n"
            f"Message-ID: <bench-new-{n}@alpha.test>\n\nalpha-shop.test is slow ({n}).\n"
        ).encode()
        started = time.perf_counter()
        outcome = inbound.handle(raw, conf=conf, limits=limits)
        created.append(time.perf_counter() - started)
        codes.append(outcome.code)
    report("mail-in: new ticket (incl. checks)", created)
    for n, code in enumerate(codes):
        raw = (
            f"From: Olga <owner@alpha.test>\nTo: support@tix.localhost\nSubject: Re: [{code}] Web\n"
            f"Message-ID: <bench-re-{n}@alpha.test>\n\nThanks!\n\nOn Mon, 3 Mar 2025, Support wrote:\n"
            "> old text\n"
        ).encode()
        started = time.perf_counter()
        inbound.handle(raw, conf=conf, limits=limits)
        replies.append(time.perf_counter() - started)
    report("mail-in: reply", replies)
    db.close()


if __name__ == "__main__":
    main()
