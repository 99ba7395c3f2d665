"""A real SMTP server on loopback (aiosmtpd) for the tix-jobs tests, with handlers that behave
like the servers tix meets in production: one that accepts, one that answers 451 once and then
250, one that refuses with 550, one that hangs after the message's final dot, one that drops
the connection. Every handler records what it was actually given, so tests can count each
Message-ID the server received.

aiosmtpd's `Controller(port=0)` cannot be used (it would not know the port to check itself),
so a free loopback port is picked first.
"""

import asyncio
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

import pytest

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Accept:
    """Accepts everything; `received` holds (Message-ID, envelope recipients, parsed message)
    for every message the server took responsibility for (answered 250)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # answered 250
        self.seen = []  # every message whose final dot arrived, answered or not
        self.data_calls = 0

    def _parse(self, envelope):
        message = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        return {
            "message_id": message["Message-ID"],
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_from": envelope.mail_from,
            "message": message,
            "raw": envelope.original_content or envelope.content,
        }

    def answer(self, item) -> str:
        return "250 2.0.0 OK"

    async def handle_DATA(self, server, session, envelope):
        item = self._parse(envelope)
        with self.lock:
            self.data_calls += 1
            self.seen.append(item)
        reply = await self.answer_async(item)
        if reply.startswith("250"):
            with self.lock:
                self.received.append(item)
        return reply

    async def answer_async(self, item) -> str:
        return self.answer(item)

    def ids(self) -> list[str]:
        with self.lock:
            return [item["message_id"] for item in self.received]

    def seen_ids(self) -> list[str]:
        with self.lock:
            return [item["message_id"] for item in self.seen]


class TempFailOnce(Accept):
    """451 the first time each Message-ID is offered, 250 after that."""

    def __init__(self):
        super().__init__()
        self.refused = set()

    def answer(self, item):
        with self.lock:
            if item["message_id"] not in self.refused:
                self.refused.add(item["message_id"])
                return "451 4.3.0 Try again later"
        return "250 2.0.0 OK"


class AlwaysTempFail(Accept):
    def answer(self, item):
        return "451 4.3.0 Try again later"


class Reject(Accept):
    """550 for every message whose recipient is in `refused` (all of them if None)."""

    def __init__(self, refused=None):
        super().__init__()
        self.refused = refused

    def answer(self, item):
        if self.refused is None or set(item["rcpt_tos"]) & set(self.refused):
            return "550 5.1.1 Mailbox unavailable"
        return "250 2.0.0 OK"


class HangAfterData(Accept):
    """Takes the message's final dot and never answers, for the `nth` message (1-based) or every
    message when nth is None; `hanging` is set once it does. The others are accepted."""

    def __init__(self, nth=None):
        super().__init__()
        self.nth = nth
        self.hanging = threading.Event()
        self.release = threading.Event()

    async def answer_async(self, item):
        with self.lock:
            count = len(self.seen)
        if self.nth is None or count == self.nth:
            self.hanging.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
            return "451 4.4.2 Too late"
        return "250 2.0.0 OK"


class HoldAfter(Accept):
    """Accepts the first `accept` messages, then takes each later message's final dot and never
    answers while `holding` (one held message per connection that reaches it); `held` counts
    them. Clearing `holding` makes it accept again (for the run after a kill)."""

    def __init__(self, accept=0):
        super().__init__()
        self.accept = accept
        self.holding = True
        self.held = 0
        self.release = threading.Event()

    def wait_held(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.held >= count:
                    return True
            time.sleep(0.02)
        return False

    async def answer_async(self, item):
        with self.lock:
            hold = self.holding and len(self.seen) > self.accept
            if hold:
                self.held += 1
        if hold:
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
            return "451 4.4.2 Too late"
        return "250 2.0.0 OK"


class DropConnection(Accept):
    """Closes the connection at RCPT TO, the first `times` times, without a word."""

    def __init__(self, times=1):
        super().__init__()
        self.times = times
        self.dropped = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            drop = self.dropped < self.times
            if drop:
                self.dropped += 1
        if drop:
            server.transport.abort()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class Server:
    def __init__(self, handler, port, controller):
        self.handler = handler
        self.port = port
        self.controller = controller

    def env(self, **extra) -> dict:
        env = {
            "TIX_SMTP_HOST": HOST,
            "TIX_SMTP_PORT": str(self.port),
            "TIX_SMTP_SECURITY": "none",
            "TIX_SMTP_TIMEOUT": "10s",
        }
        env.update(extra)
        return env


@contextmanager
def running(handler=None, **smtp_parameters):
    """Start an aiosmtpd server on a free loopback port; stop it (releasing any hung answer)."""
    from aiosmtpd.controller import Controller

    handler = handler or Accept()
    last_error = None
    for _ in range(5):  # another process may take the port between probe and bind
        port = free_port()
        controller = Controller(handler, hostname=HOST, port=port, **smtp_parameters)
        try:
            controller.start()
        except Exception as exc:
            last_error = exc
            continue
        break
    else:
        raise RuntimeError(f"could not start the SMTP test server: {last_error}")
    try:
        yield Server(handler, port, controller)
    finally:
        release = getattr(handler, "release", None)
        if release is not None:
            release.set()
        controller.stop()


@pytest.fixture
def smtp():
    """`smtp(handler, **aiosmtpd_parameters)` -> a running Server, stopped after the test."""
    stack = []

    def start(handler=None, **smtp_parameters):
        manager = running(handler, **smtp_parameters)
        server = manager.__enter__()
        stack.append(manager)
        return server

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), made with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


# freezegun must leave the server's event loop on real time, or its timers stop.
FREEZE_IGNORE = ["asyncio", "aiosmtpd", "concurrent.futures"]
