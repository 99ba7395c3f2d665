"""A real `tix serve` process on a loopback port, over a test's store, and a desk whose `tix`
talks to it. The server's clock follows the test's (freezegun) through libfaketime: before each
command the desk writes its current time into the file the server's libfaketime reads."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from conftest import Desk

FAKETIME = next(
    (
        p
        for p in (
            "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
            "/usr/lib/faketime/libfaketimeMT.so.1",
        )
        if Path(p).exists()
    ),
    None,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m tix serve` on the store at `store_url`, until stop()."""

    def __init__(
        self,
        store_url: str,
        folder: Path,
        env: dict | None = None,
        workers: int = 1,
        fake_clock: bool = False,
    ):
        if fake_clock and FAKETIME is None:
            pytest.fail("libfaketime is needed (apt-get install libfaketime; .ci/run does)")
        self.fake_clock = fake_clock
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_file = folder / "server-clock"
        self.set_clock(datetime.now())
        self.log = folder / "server.log"
        child_env = {k: v for k, v in os.environ.items() if k != "TIX_TOKEN"}
        child_env.update(
            {
                "TIX_DATABASE_URL": store_url,
                "TIX_SERVE_RATE": "10000",
                "TIX_SERVE_ADDRESS_RATE": "10000",
                "TIX_SERVE_LOG_LEVEL": "warning",
                **(env or {}),
            }
        )
        if fake_clock:
            # Read on every call of the clock: slow (a file read each time), so only for the
            # tests that move time.
            child_env.update(
                LD_PRELOAD=FAKETIME,
                FAKETIME_TIMESTAMP_FILE=str(self.clock_file),
                FAKETIME_NO_CACHE="1",
                DONT_FAKE_MONOTONIC="1",
            )
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tix",
                    "serve",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    str(workers),
                ],
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_ready()

    def set_clock(self, moment: datetime) -> None:
        # The server runs in UTC (TZ=UTC in the tests), so the naive frozen time is its time.
        self.clock_file.write_text(moment.strftime("%Y-%m-%d %H:%M:%S\n"))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"tix serve exited {self.process.returncode}: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/openapi.json", timeout=1):
                    return
            except OSError:
                time.sleep(0.05)  # waiting for a process to start, not moving a clock
        pytest.fail(f"tix serve did not start: {self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class ServedDesk(Desk):
    """A desk whose `tix` goes through a real server. `url` stays the store's, so
    tests/deskdb.py still reads (and dumps) every row."""

    server: Server | None = None

    def tix(self, *args, **kwargs):
        if args and args[0] == "admin":
            # `tix admin` is not served: an admin runs it on the server's host, on the store.
            return super().tix(*args, **kwargs)
        self.server.set_clock(datetime.now())  # freezegun's time, if the test froze it
        store_url, self.url = self.url, self.server.url
        try:
            return super().tix(*args, **kwargs)
        finally:
            self.url = store_url
            self.render_requested_mail()

    def render_requested_mail(self) -> None:
        """On PostgreSQL a customer's session (the server's application role) only requests
        its emails; tix-jobs renders them (tix/jobs/mail_requests.py). Do what its next run
        does, so a test reads the outbox as it is once the jobs have run."""
        if not self.url.startswith("postgresql"):
            return
        import deskdb
        from tix.jobs import mail_requests

        from tix import settings

        with deskdb.opened(self.url):
            mail_requests.render(settings.load())


def app_role_url(store_url: str) -> str:
    """On PostgreSQL the server connects as a login granted tix_app, as deployed."""
    if not store_url.startswith("postgresql"):
        return store_url
    from test_rls import APP_LOGIN, ensure_login_role, url_as

    ensure_login_role(APP_LOGIN, "tix_app")
    return url_as(store_url, APP_LOGIN)


def moves_time(request) -> bool:
    """Whether a test freezes or moves the clock (then the server's must follow it)."""
    import inspect

    return "frozen" in request.fixturenames or "freeze_time" in inspect.getsource(request.function)


def served(desk: Desk, tmp_path: Path, **server_options):
    """The same desk, its `tix` through a new server over its store; stop the server after."""
    server = Server(app_role_url(desk.url), tmp_path, **server_options)
    return ServedDesk(url=desk.url, runner=desk.runner, tokens=desk.tokens, server=server)
