"""The blocked-IP check against a real fail2ban server (its own socket, pid file and config
under tmp; a jail whose ban action does nothing): the ban is found with its jail and time, and
the fix unbans it in fail2ban itself."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from diagfixtures import one, run, world  # noqa: F401

from tix.diagnosis import FixFailed, Request, apply_fix, diagnose
from tix.diagnosis.conf import Conf

JAIL = "tix-test-sshd"


@pytest.fixture(scope="module")
def fail2ban(tmp_path_factory):
    """A running fail2ban server; yields the client command that talks to it."""
    if not shutil.which("fail2ban-client"):
        if os.environ.get("CI"):
            raise RuntimeError("fail2ban-client is required in CI (.ci/run installs it)")
        pytest.skip("fail2ban is not installed (apt-get install -y fail2ban)")
    root = tmp_path_factory.mktemp("f2b")
    conf = root / "conf"
    for sub in ("action.d", "filter.d", "jail.d"):
        (conf / sub).mkdir(parents=True)
    sock, pid = root / "f2b.sock", root / "f2b.pid"
    (conf / "fail2ban.conf").write_text(
        f"[Definition]\nloglevel = INFO\nlogtarget = {root / 'f2b.log'}\nsocket = {sock}\n"
        f"pidfile = {pid}\ndbfile = :memory:\n"
    )
    (conf / "action.d" / "noop.conf").write_text(
        "[Definition]\nactionstart =\nactionstop =\nactioncheck =\nactionban = true\n"
        "actionunban = true\n"
    )
    (conf / "filter.d" / "tix-test.conf").write_text(
        "[Definition]\nfailregex = ^auth failure for .* from <HOST>$\n"
    )
    (root / "auth.log").touch()
    (conf / "jail.conf").write_text(
        f"[DEFAULT]\nbackend = polling\n\n[{JAIL}]\nenabled = true\nfilter = tix-test\n"
        f"logpath = {root / 'auth.log'}\naction = noop\nmaxretry = 5\nfindtime = 10m\n"
        "bantime = 1h\n"
    )
    client = ["fail2ban-client", "-s", str(sock)]
    subprocess.run(
        ["fail2ban-client", "-c", str(conf), "-s", str(sock), "-p", str(pid), "-x", "start"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    yield client
    subprocess.run([*client, "stop"], capture_output=True, timeout=30)


def f2b(client, *args) -> str:
    return subprocess.run(
        [*client, *args], check=True, capture_output=True, text=True, timeout=30
    ).stdout


def test_a_banned_ip_is_found_and_the_fix_unbans_it(world, fail2ban, monkeypatch):
    f2b(fail2ban, "set", JAIL, "banip", "203.0.113.7")
    monkeypatch.setenv("TIX_FAIL2BAN_CLIENT", " ".join(fail2ban))
    conf = world.conf(fail2ban_client=tuple(fail2ban))
    text = "My IP 203.0.113.7 is blocked, I cannot reach https://alpha.test/wp-admin"
    diagnosis = diagnose(Request(services=world.services(), text=text), conf)
    assert diagnosis.customer_ip == "203.0.113.7"
    banned = one(diagnosis, "firewall.banned", "203.0.113.7")
    assert banned.status == "fail"
    assert banned.facts["jail"] == JAIL and banned.facts["maxretry"] == "5"
    assert banned.facts["since"][:4].isdigit() and banned.facts["bantime_s"] == 3600
    assert JAIL in banned.text_en and "desde" in banned.text_es
    [fix] = diagnosis.fixes
    assert fix.kind == "fail2ban.unban" and fix.params == {"jail": JAIL, "ip": "203.0.113.7"}
    assert JAIL in fix.text_en and "Desbloquear 203.0.113.7" in fix.text_es
    assert any("Desbloquear" in line for line in diagnosis.customer_lines("es"))

    assert apply_fix(fix, conf) == f"203.0.113.7 unblocked in the firewall (jail {JAIL})."
    assert "203.0.113.7" not in f2b(fail2ban, "status", JAIL)
    again = diagnose(Request(services=world.services(), text=text), conf)
    assert one(again, "firewall.banned").status == "ok"
    assert again.fixes == []


def test_an_ip_that_is_not_banned_and_a_private_one(world, fail2ban):
    conf = world.conf(fail2ban_client=tuple(fail2ban))
    diagnosis = diagnose(Request(services=[], text="mi IP 192.168.1.33 está bloqueada"), conf)
    assert one(diagnosis, "firewall.ip").status == "warn"
    assert "red local" in one(diagnosis, "firewall.ip").text_es
    assert one(diagnosis, "firewall.banned").status == "ok"


def test_fixes_refuse_what_is_not_a_jail_or_an_ip(fail2ban):
    from tix.diagnosis import Fix

    conf = Conf(fail2ban_client=tuple(fail2ban))
    for params in (
        {"jail": "sshd; rm -rf /", "ip": "203.0.113.7"},
        {"jail": JAIL, "ip": "--help"},
        {"jail": JAIL, "ip": "203.0.113.7 -x"},
    ):
        with pytest.raises(FixFailed):
            apply_fix(Fix("fail2ban.unban", "firewall.banned", "x", params), conf)
    with pytest.raises(FixFailed, match="no fix called"):
        apply_fix(Fix("nope", "x", "x"), conf)


def test_without_fail2ban_the_check_says_it_could_not_check(tmp_path):
    conf = Conf(fail2ban_client=(str(Path(tmp_path) / "no-such-client"),))
    diagnosis = diagnose(Request(services=[], text="blocked: 198.51.100.77"), conf)
    result = one(diagnosis, "firewall.banned")
    assert result.status == "could-not-check" and "not installed" in result.text_en
