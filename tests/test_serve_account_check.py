"""The account check through `tix serve`: the probes and the fix run on the server's host (where
fail2ban is), and the customer's CLI shows the same diagnosis as on a local store."""

import pytest
from diagfixtures import world  # noqa: F401
from serve_support import moves_time, served
from test_account_check import (  # noqa: F401
    checked,
    test_a_banned_ip_is_unbanned_in_fail2ban_with_consent,
    test_a_database_error_page_is_in_the_diagnosis_and_told_in_spanish,
)
from test_diagnosis_firewall import fail2ban  # noqa: F401

pytestmark = pytest.mark.served


@pytest.fixture
def desk(desk, tmp_path, request, world, monkeypatch, fail2ban):
    # The server's environment is the world's: its resolver, its allowed loopback addresses,
    # its CA, and the fail2ban it unbans in.
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TIX_DIAGNOSIS", "on")
    monkeypatch.setenv("TIX_FAIL2BAN_CLIENT", " ".join(fail2ban))
    through_server = served(desk, tmp_path, fake_clock=moves_time(request))
    yield through_server
    through_server.server.stop()
