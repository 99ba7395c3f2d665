"""`python -m bench.serve`: `tix serve` under load, and `tix list` through it vs a local store.

    python -m bench.serve                      # both backends, 50 clients, 15 s per measure
    python -m bench.serve --backends sqlite --clients 50 --seconds 10 --workers 2

For each backend it builds a small desk (200 tickets, the one `show` reads with 20 messages),
starts a real `tix serve` (uvicorn, --workers), and drives it with N concurrent keep-alive
clients (asyncio, raw HTTP/1.1, on this same machine: the clients share its cores) for `show`
and for `list --limit 20`; then times `tix list --limit 20` as a user runs it (a process each),
through the server and on the store itself, in turns. Targets: >= 300 requests/s for show,
p99 under 100 ms at 50 clients, and the CLI through the server <= 1.5x the local command.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import timing


def build_desk(url: str) -> dict:
    """A desk with one customer, one agent and 200 tickets; returns tokens and the code to show."""
    env = timing.env_for(url)
    admin = timing.run(timing.tix("init", "--quiet"), env, capture=True).stdout.strip()
    env["TIX_TOKEN"] = admin
    run = lambda *a: timing.run(timing.tix(*a), env, capture=True).stdout.strip()  # noqa: E731
    run("admin", "agent", "add", "tech@bench.test", "--name", "Tech", "--department", "hosting")
    run("admin", "account", "add", "acme", "--name", "Acme", "--owner-email", "olga@acme.test")
    customer = run("admin", "token", "issue", "olga@acme.test", "--quiet")
    agent = run("admin", "token", "issue", "tech@bench.test", "--quiet")
    from tix import paths, store
    from tix.service import session, tickets

    os.environ.update({k: v for k, v in env.items() if k.startswith("XDG_")})
    db = store.connect(url)
    try:
        olga = session.sign_in(customer)
        tech = session.sign_in(agent)
        codes = []
        for n in range(200):
            new = tickets.prepare_ticket(
                olga,
                department="hosting",
                priority="medium",
                subject=f"Ticket {n}",
                body=f"Site {n} is down since this morning.",
            )
            codes.append(tickets.file_ticket(olga, new)["code"])
        shown = codes[0]
        for n in range(19):
            who = tech if n % 2 == 0 else olga
            plan = tickets.plan_reply(who, shown)
            tickets.reply(who, plan, f"Message {n}: still looking at it.")
    finally:
        db.close()
    del paths
    return {"customer": customer, "agent": agent, "show": shown}


class Load:
    """N clients, each one keep-alive connection sending requests back to back."""

    def __init__(self, port: int, path: str, token: str, clients: int, seconds: float):
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        self.port, self.clients, self.seconds = port, clients, seconds
        self.latencies: list[float] = []
        self.errors = 0

    async def client(self, deadline: float) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(self.request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    self.errors += 1
                self.latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    async def run(self) -> dict:
        deadline = time.perf_counter() + self.seconds
        started = time.perf_counter()
        await asyncio.gather(*(self.client(deadline) for _ in range(self.clients)))
        elapsed = time.perf_counter() - started
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "rps": len(ordered) / elapsed,
            "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[int(len(ordered) * 0.99)],
            "errors": self.errors,
        }


def start_server(url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    env = timing.env_for(
        url, TIX_SERVE_RATE=100000, TIX_SERVE_ADDRESS_RATE=100000, TIX_SERVE_LOG_LEVEL="warning"
    )
    proc = subprocess.Popen(
        timing.tix("serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)  # the server process starting
    proc.kill()
    raise RuntimeError(f"tix serve did not start: {log.read_text()[-800:]}")


def cli_ratio(store_url: str, server_url: str, token: str, runs: int) -> dict:
    local = timing.env_for(store_url, token)
    remote = timing.env_for(server_url, token)
    argv = timing.tix("list", "--limit", "20")
    timing.run(argv, local)
    timing.run(argv, remote)
    here, there = [], []
    for _ in range(runs):  # in turns, so a busy moment hurts both alike
        here.append(timing.run(argv, local).seconds)
        there.append(timing.run(argv, remote).seconds)
    return {
        "local_ms": 1000 * statistics.median(here),
        "served_ms": 1000 * statistics.median(there),
        "ratio": statistics.median(there) / statistics.median(here),
    }


def bench_backend(backend: str, args) -> list[tuple]:
    folder = Path(tempfile.mkdtemp(prefix=f"tix-bench-serve-{backend}-"))
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'tix.db'}"
    else:
        from bench import generate

        name = f"tix_bench_serve_{os.getpid()}"
        conn = generate._pg_connect(generate.PG_ADMIN_URL)
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()
        url = generate.PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    print(f"[{backend}] building the desk...", file=sys.stderr)
    desk = build_desk(url)
    port = 18000 + os.getpid() % 1000
    server = start_server(url, port, args.workers, folder / "serve.log")
    rows = []
    try:
        for label, path, token in (
            ("show (20 messages)", f"/api/v1/tickets/{desk['show']}", desk["customer"]),
            ("list --limit 20", "/api/v1/tickets?limit=20", desk["agent"]),
        ):
            print(f"[{backend}] {label}: {args.clients} clients, {args.seconds} s", file=sys.stderr)
            result = asyncio.run(
                Load(
                    port,
                    path,
                    desk["customer"] if "show" in label else token,
                    args.clients,
                    args.seconds,
                ).run()
            )
            rows.append((backend, label, result))
        print(f"[{backend}] tix list --limit 20, {args.runs} runs each way", file=sys.stderr)
        ratio = cli_ratio(url, f"http://127.0.0.1:{port}", desk["agent"], args.runs)
    finally:
        server.terminate()
        server.wait(10)
    return rows, ratio


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=15, help="tix list runs each way")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    timing.compile_bytecode()
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
        f"{args.workers} server workers, {args.clients} clients on the same machine"
    )
    print(f"{'backend':<11} {'measure':<22} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    everything = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        rows, ratio = bench_backend(backend, args)
        for name, label, r in rows:
            print(
                f"{name:<11} {label:<22} {r['rps']:>8.0f} {r['p50_ms']:>8.1f} "
                f"{r['p99_ms']:>8.1f} {r['errors']:>7}"
            )
        print(
            f"{backend:<11} {'tix list via server':<22} {ratio['served_ms']:>6.0f} ms vs "
            f"{ratio['local_ms']:.0f} ms local = {ratio['ratio']:.2f}x (target <= 1.5x)"
        )
        everything[backend] = {"load": {label: r for _, label, r in rows}, "cli": ratio}
    print("targets: show >= 300 req/s, p99 < 100 ms at 50 clients; tix list via server <= 1.5x")
    if args.json:
        print(json.dumps(everything, indent=2))
    timing.cleanup()


if __name__ == "__main__":
    main()
