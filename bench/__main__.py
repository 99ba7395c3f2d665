"""`python -m bench`: build (once) the bench stores, run the scenarios, print medians and ratios.

    python -m bench                                   # every scenario, 10k and 100k, both stores
    python -m bench --backends sqlite                 # one store (about 5 minutes at 10k/100k)
    python -m bench --sizes 10k,1m --scenarios 2,3,6  # the million run (docs/performance.md)
    python -m bench --build-only --sizes 1m           # just build the stores (minutes at 1m)

Stores are kept between runs: SQLite files in bench/.stores/, PostgreSQL databases
<prefix>_<size> on TIX_BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
prefix TIX_BENCH_PG_PREFIX (default tix_bench). Progress goes to stderr on a terminal
(--progress / --no-progress to choose).
"""

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
import traceback
from pathlib import Path

from bench import generate, scenarios, timing


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_average": os.getloadavg(),
    }
    try:
        conn = generate._pg_connect(generate.PG_ADMIN_URL)
        cur = conn.cursor()
        cur.execute("SHOW server_version")
        info["postgresql"] = cur.fetchone()[0]
        conn.close()
    except Exception:
        info["postgresql"] = "unreachable"
    return info


def jobs_available() -> str | None:
    """None if `tix-jobs` runs, else why not (scenarios 3-5 need it)."""
    try:
        result = timing.run(timing.tix_jobs("--help"), timing.env_for(), capture=True, check=False)
    except OSError as exc:
        return str(exc)
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["tix-jobs --help failed"])[-1]
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="10k,100k",
        help="store sizes in tickets (default 10k,100k; 1m: see docs/performance.md); the "
        "smallest is the base the others are compared with",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scenarios", default="1,2,3,4,5,6")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per command (median)")
    parser.add_argument("--startup-repeat", type=int, default=21)
    parser.add_argument(
        "--job-repeat", type=int, default=3, help="runs of the scenario 3 and 4 jobs"
    )
    parser.add_argument(
        "--due",
        type=int,
        default=10_000,
        help="tickets due a reminder, and as many due a close (scenario 3)",
    )
    parser.add_argument(
        "--emails", type=int, default=10_000, help="emails to dispatch (scenario 4)"
    )
    parser.add_argument("--workers", type=int, default=8, help="writer processes (scenario 5)")
    parser.add_argument("--ops", type=int, default=60, help="commands per writer (scenario 5)")
    parser.add_argument("--build-only", action="store_true", help="build the stores, time nothing")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bars on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument(
        "--json",
        default=str(generate.STORES_DIR / "results.json"),
        help="also write every figure here (default bench/.stores/results.json)",
    )
    args = parser.parse_args(argv)
    from bench import progress

    progress.ENABLED = args.progress

    sizes = sorted({generate.parse_size(s) for s in args.sizes.split(",") if s.strip()})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    wanted = {int(s) for s in args.scenarios.split(",") if s.strip()}
    base_size, big_sizes = sizes[0], sizes[1:]
    job_base = max(base_size, 2 * args.due)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    needed = []
    for backend in backends:
        if wanted & {1, 2, 4, 5, 6}:
            needed.append((backend, base_size))
        if wanted & {2, 6}:
            needed += [(backend, n) for n in big_sizes]
        if 3 in wanted:
            needed += [(backend, job_base)] + [(backend, n) for n in big_sizes[-1:] if n > job_base]
    stores = {}
    for key in dict.fromkeys(needed):  # one build at a time, in order
        stores[key] = generate.ensure_store(*key, log=log)
    if args.build_only:
        return 0

    timing.compile_bytecode()
    info = machine()
    log(f"machine: {info}")
    started = time.time()
    rows = []
    why_no_jobs = jobs_available() if wanted & {3, 4, 5} else None
    sink = None

    def attempt(what, func, *a):
        log(f"running {what}...")
        try:
            rows.extend(func(*a))
        except Exception as exc:
            traceback.print_exc()
            rows.append(
                scenarios.row(
                    what.split()[1], "-", what, None, unit="", ok=False, note=f"failed: {exc}"[:300]
                )
            )

    try:
        for backend in backends:
            base = stores.get((backend, base_size))
            if 1 in wanted:
                attempt(
                    f"scenario 1 start-up ({backend})", scenarios.startup, base, args.startup_repeat
                )
            if 2 in wanted:
                for n in big_sizes:
                    attempt(
                        f"scenario 2 queue views ({backend}, {generate.size_label(n)})",
                        scenarios.queue_views,
                        base,
                        stores[(backend, n)],
                        args.repeat,
                    )
            if 6 in wanted:
                for n in big_sizes:
                    attempt(
                        f"scenario 6 desk ({backend}, {generate.size_label(n)})",
                        scenarios.desk_views,
                        base,
                        stores[(backend, n)],
                        args.repeat,
                    )
            if wanted & {3, 4, 5}:
                if why_no_jobs:
                    rows.append(
                        scenarios.row(
                            "3-5",
                            backend,
                            "tix-jobs scenarios",
                            None,
                            unit="",
                            note=f"skipped: tix-jobs not available ({why_no_jobs})",
                        )
                    )
                    continue
                sink = sink or scenarios.SmtpSink()
            if 3 in wanted:
                big = stores.get((backend, max(sizes[-1], job_base)))
                attempt(
                    f"scenario 3 hourly job ({backend})",
                    scenarios.hourly_job,
                    stores[(backend, job_base)],
                    big,
                    args.due,
                    args.job_repeat,
                    sink,
                )
            if 4 in wanted:
                attempt(
                    f"scenario 4 dispatch ({backend})",
                    scenarios.dispatch,
                    base,
                    args.emails,
                    args.job_repeat,
                    sink,
                )
            if 5 in wanted:
                attempt(
                    f"scenario 5 concurrency ({backend})",
                    scenarios.concurrency,
                    base,
                    args.workers,
                    args.ops,
                    1000,
                    sink,
                )
    finally:
        if sink:
            sink.close()
        timing.cleanup()

    info["load_average_after"] = os.getloadavg()
    info["minutes"] = round((time.time() - started) / 60, 1)
    print_table(rows)
    print(
        f"\nmachine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, "
        f"SQLite {info['sqlite']}, PostgreSQL {info['postgresql']}; load average "
        f"{info['load_average'][0]:.2f} before, {info['load_average_after'][0]:.2f} after "
        f"(other work shares this machine: medians, not means)"
    )
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(
            {"machine": info, "args": vars(args), "rows": rows}, handle, indent=2, default=str
        )
    print(f"figures written to {args.json}")
    return 0 if all(r["ok"] is not False for r in rows) else 1


def print_table(rows: list[dict]) -> None:
    from tabulate import tabulate

    def fmt(value, unit=""):
        if value is None:
            return "-"
        return f"{value:g} {unit}".strip() if isinstance(value, (int, float)) else str(value)

    table = [
        [
            r["scenario"],
            r["backend"],
            r["measure"],
            fmt(r["value"], r["unit"]),
            fmt(r["baseline"], r["unit"]),
            f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-",
            r["target"] or "-",
            {True: "ok", False: "MISSED", None: "-"}[r["ok"]],
            r["note"],
        ]
        for r in rows
    ]
    print(
        tabulate(
            table,
            headers=[
                "#",
                "backend",
                "measure",
                "median",
                "baseline",
                "ratio",
                "target",
                "",
                "note",
            ],
        )
    )


if __name__ == "__main__":
    sys.exit(main())
