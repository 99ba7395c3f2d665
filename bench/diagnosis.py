"""`python -m bench.diagnosis`: the account check's wall time on the loopback world of the tests.

    python -m bench.diagnosis              # every scenario, 5 runs each (median, worst)
    python -m bench.diagnosis --runs 9

Scenarios: (1) a healthy account (domain, site, mail), everything answering: target under 1 s;
(2) its web and mail server a black hole (accepts, never answers) and (3) its DNS never
answering: no more than the budget (TIX_DIAGNOSIS_BUDGET, 4 s); (4) nothing to check, in a
fresh interpreter, import of tix.diagnosis included: target under 20 ms.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback world lives with the tests

NOTHING = """
import time
started = time.perf_counter()
import tix.diagnosis as d
services = [d.ServiceInfo("alpha.test", "hosting"), d.ServiceInfo("beta.test", "hosting")]
result = d.diagnose(d.Request(services=services, text="my site does not work"))
print((time.perf_counter() - started) * 1000, len(result.results))
"""


def timed(runs: int, fn) -> tuple[list[float], object]:
    times, last = [], None
    for _ in range(runs):
        started = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - started)
    return times, last


def row(name, times, diagnosis, target):
    return [
        name,
        f"{statistics.median(times) * 1000:.0f} ms",
        f"{max(times) * 1000:.0f} ms",
        len(diagnosis.results) if diagnosis else "-",
        diagnosis.timed_out if diagnosis else "-",
        target,
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    import diagaccount
    from diagworld import Listener

    from bench import timing

    timing.compile_bytecode()  # as an installed tix has (this machine writes no .pyc itself)

    from tix.diagnosis import Request, diagnose

    rows = []
    folder = Path(tempfile.mkdtemp(prefix="tix-bench-diagnosis-"))
    world = diagaccount.healthy(folder)
    os.environ["SSL_CERT_FILE"] = str(world.certs.ca_file)
    text = "info@alpha.test no recibe correo y https://alpha.test/ va lenta"
    try:
        conf = world.conf()

        def check():
            return diagnose(Request(services=world.services(), text=text), conf)

        check()  # first run loads dnspython, ssl and cryptography: not what a run costs
        times, result = timed(args.runs, check)
        rows.append(row("1 healthy account, all answering", times, result, "< 1 s"))

        hole = Listener((25, 80, 443, 587, 993, 995))
        world.extra.append(hole)
        for name in ("alpha.test", "mail.alpha.test"):
            diagaccount.point(world, name, hole.ip)
        conf = world.conf()  # the black hole's address is allowed like the others
        times, result = timed(max(1, args.runs // 2), check)
        rows.append(
            row(
                "2 web and mail server a black hole",
                times,
                result,
                f"<= budget ({conf.budget:g} s)",
            )
        )

        world.zone.drop.add("alpha.test.")
        times, result = timed(max(1, args.runs // 2), check)
        rows.append(row("3 DNS never answers", times, result, f"<= budget ({conf.budget:g} s)"))
    finally:
        world.stop()

    env = {k: v for k, v in os.environ.items() if not k.startswith("TIX_")}
    fresh = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", NOTHING], capture_output=True, text=True, env=env, check=True
        ).stdout.split()
        fresh.append(float(out[0]) / 1000)
    rows.append(row("4 nothing to check (fresh process, import included)", fresh, None, "< 20 ms"))
    print(
        tabulate(rows, headers=["scenario", "median", "worst", "results", "over budget", "target"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
