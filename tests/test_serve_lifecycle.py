"""tests/test_lifecycle.py once more, with `tix` talking to a real `tix serve` process instead of
the store (on SQLite, and on PostgreSQL through the application role): the same output in every
format, the same exit codes, the same one-line errors, and nothing written by a refusal."""

import pytest
from serve_support import moves_time, served
from test_lifecycle import *  # noqa: F403

pytestmark = pytest.mark.served

# It breaks mail queueing inside the test's own process, which the server is not.
del test_a_failure_while_queueing_mail_undoes_the_whole_change  # noqa: F821


@pytest.fixture
def desk(desk, tmp_path, request):
    through_server = served(desk, tmp_path, fake_clock=moves_time(request))
    yield through_server
    through_server.server.stop()
