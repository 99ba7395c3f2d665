"""One of scenario 5's writers: `python -m bench.worker PLAN.json N`. Runs the real `tix`
commands in-process (the CLI's own code path, minus interpreter start-up) against the store in
TIX_DATABASE_URL: creates tickets as the bench customer, and replies to live tickets as the
bench agent and to the customer's own tickets as the customer. Prints one JSON line: ok, refused
(exit 4: the ticket changed state, e.g. the job closed it), failed, locked, errors."""

import contextlib
import io
import json
import os
import random
import sys
import time


def main() -> None:
    plan = json.loads(open(sys.argv[1], encoding="utf-8").read())
    worker = int(sys.argv[2])
    rng = random.Random(worker)
    from tix.cli import cli

    report = {"ops": 0, "ok": 0, "refused": 0, "failed": 0, "locked": 0, "errors": []}
    started = time.perf_counter()
    for op in range(plan["ops"]):
        kind = op % 3
        if kind == 0:
            token = plan["customer"]
            args = [
                "create",
                "--department",
                "hosting",
                "--subject",
                f"Worker {worker} op {op}",
                "-m",
                "The site is slow again since the last update.",
                "--quiet",
            ]
        elif kind == 1:
            token = plan["agent"]
            args = ["reply", rng.choice(plan["live"]), "-m", "We are looking into it now."]
        else:
            token = plan["customer"]
            args = ["reply", rng.choice(plan["own"]), "-m", "Any news on this one?"]
        os.environ["TIX_TOKEN"] = token
        err = io.StringIO()
        code = 0
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                cli.main(args=args, prog_name="tix", standalone_mode=False)
            except SystemExit as exc:
                code = exc.code or 0
            except Exception as exc:
                code = 1
                err.write(f"{type(exc).__name__}: {exc}")
        report["ops"] += 1
        text = err.getvalue()
        if "database is locked" in text:
            report["locked"] += 1
        if code == 0:
            report["ok"] += 1
        elif code == 4:
            report["refused"] += 1
        else:
            report["failed"] += 1
            if len(report["errors"]) < 3:
                report["errors"].append(f"{' '.join(args[:2])}: exit {code}: {text.strip()[-200:]}")
    report["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
