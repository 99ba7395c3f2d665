"""Running tix as a user does (one process per command) and timing it."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
# What a command cannot start faster than: Python with the libraries it needs, nothing of tix.
FLOOR = [PYTHON, "-c", "import click, peewee, sqlite3, tabulate"]
CLICK_FLOOR = [PYTHON, "-c", "import click"]


def tix(*args: str) -> list[str]:
    script = BIN / "tix"
    return [str(script), *args] if script.exists() else [PYTHON, "-m", "tix", *args]


def tix_jobs(*args: str) -> list[str]:
    script = BIN / "tix-jobs"
    return [str(script), *args] if script.exists() else [PYTHON, "-m", "tix.jobs.cli", *args]


_home = None


def private_home() -> str:
    """XDG folders of the bench's own, so no run touches the user's token, keyring file or mail."""
    global _home
    if _home is None:
        _home = tempfile.mkdtemp(prefix="tix-bench-")
    return _home


def cleanup() -> None:
    if _home:
        shutil.rmtree(_home, ignore_errors=True)


def env_for(url: str | None = None, token: str | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIX_")}
    env.update(
        XDG_DATA_HOME=f"{private_home()}/data",
        XDG_CONFIG_HOME=f"{private_home()}/config",
        TZ="UTC",
        TIX_DIAGNOSIS="off",  # the account check has its own bench (bench.diagnosis)
    )
    if url:
        env["TIX_DATABASE_URL"] = url
    if token:
        env["TIX_TOKEN"] = token
    env.update({k: str(v) for k, v in extra.items()})
    return env


def compile_bytecode() -> None:
    """Write tix's .pyc files before timing. This machine sets PYTHONDONTWRITEBYTECODE, so
    without this every `tix` run would recompile tix from source (~80 ms), which no real
    install does (pip compiles on install; an editable checkout caches on first run)."""
    subprocess.run(
        [PYTHON, "-m", "compileall", "-q", "tix", "jobs", "sql"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        check=False,
    )


@dataclass
class Run:
    seconds: float
    max_rss_kb: int
    stdout: str
    stderr: str
    returncode: int
    cpu_seconds: float = 0.0  # user + system time of the process (wait4): less noisy than wall


def run(
    argv: list[str],
    env: dict | None = None,
    *,
    capture: bool = False,
    check: bool = True,
    timeout: float | None = None,
) -> Run:
    """One process, timed from spawn to exit."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if capture:
        out, err = proc.communicate(timeout=timeout)
    else:
        _, err = proc.communicate(timeout=timeout)
        out = b""
    elapsed = time.perf_counter() - started
    result = Run(
        elapsed, 0, out.decode(errors="replace"), err.decode(errors="replace"), proc.returncode
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}: {result.stderr.strip()[-800:]}"
        )
    return result


def run_with_memory(argv: list[str], env: dict | None = None, *, check: bool = True) -> Run:
    """Like run(), capturing stdout, plus the child's peak RSS from wait4 (Linux: KiB)."""
    out_file = tempfile.TemporaryFile()
    err_file = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out_file, stderr=err_file
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_file.seek(0)
    err_file.seek(0)
    result = Run(
        elapsed,
        usage.ru_maxrss,
        out_file.read().decode(errors="replace"),
        err_file.read().decode(errors="replace"),
        proc.returncode,
        usage.ru_utime + usage.ru_stime,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}: {result.stderr.strip()[-800:]}"
        )
    return result


@dataclass
class Series:
    """Timings of one command, several runs."""

    label: str
    samples: list = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> str:
        return f"{min(self.samples) * 1000:.0f}-{max(self.samples) * 1000:.0f} ms"


def interleaved(commands: dict, repeat: int, warmup: int = 1) -> dict:
    """Time each command `repeat` times, taking turns (A B C A B C ...), so a burst of load from
    another process on this shared machine hits every command alike. Warm-up runs (page cache,
    first connection) are discarded."""
    from bench import progress

    series = {name: Series(name) for name in commands}
    rounds = warmup + repeat
    with progress.bar(rounds * len(commands), f"  {' / '.join(commands)}") as shown:
        for round_no in range(rounds):
            for name, (argv, env) in commands.items():
                elapsed = run(argv, env).seconds
                if round_no >= warmup:
                    series[name].samples.append(elapsed)
                shown.update(1)
    return series
