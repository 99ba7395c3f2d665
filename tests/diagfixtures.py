"""Fixtures for the account check's tests: a healthy loopback world per test, a way to run a
diagnosis of it, and a record of every connection this process attempts (an audit hook), so
a safety test can prove where tix did *not* connect."""

import sys
import threading

import diagaccount
import pytest

from tix.diagnosis import Request, diagnose

_connects: list[tuple] = []
_recording = threading.Event()


def _audit(event: str, args) -> None:
    if not _recording.is_set() or event not in ("socket.connect", "socket.sendto"):
        return
    # tix's own threads (probes) and the test's; not the loopback servers answering back.
    if threading.current_thread().name in ("tix-probe", "MainThread"):
        address = args[-1]
        if isinstance(address, tuple):
            _connects.append((event, address[0], address[1]))


sys.addaudithook(_audit)


@pytest.fixture
def connections():
    """Every (event, ip, port) this process connects or sends to while the test runs."""
    _connects.clear()
    _recording.set()
    yield _connects
    _recording.clear()


@pytest.fixture
def world(tmp_path, monkeypatch):
    built = diagaccount.healthy(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(built.certs.ca_file))
    yield built
    built.stop()


def run(world, text: str = "", services=None, service=None, **conf):
    """A diagnosis of `world` (its healthy hosting account unless `services` says otherwise)."""
    request = Request(services=services or world.services(), text=text, service_name=service)
    return diagnose(request, world.conf(**conf))


def results(diagnosis, check_id: str, target: str | None = None) -> list:
    return [
        r
        for r in diagnosis.results
        if r.check_id == check_id and (target is None or r.target == target)
    ]


def one(diagnosis, check_id: str, target: str | None = None):
    found = results(diagnosis, check_id, target)
    assert len(found) == 1, (check_id, target, [(r.target, r.status) for r in found])
    return found[0]


def statuses(diagnosis) -> dict:
    """{(check_id, target): status}, for assertions on the whole report."""
    return {(r.check_id, r.target): r.status for r in diagnosis.results}
