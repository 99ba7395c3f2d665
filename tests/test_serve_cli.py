"""tests/test_cli.py once more, with `tix` talking to a real `tix serve` process instead of
the store (on SQLite, and on PostgreSQL through the application role): the same output in every
format, the same exit codes, the same one-line errors, and nothing written by a refusal."""

import pytest
from serve_support import moves_time, served
from test_cli import *  # noqa: F403

pytestmark = pytest.mark.served

# Not served, by design: the token is kept per URL, and these look for it under the store's.
del test_login_saves_the_token_in_the_keyring  # noqa: F821
del test_login_refuses_a_bad_or_revoked_token_and_keeps_the_old_one  # noqa: F821
del test_without_a_keyring_the_token_goes_to_a_private_file_with_one_warning  # noqa: F821


@pytest.fixture
def desk(desk, tmp_path, request):
    through_server = served(desk, tmp_path, fake_clock=moves_time(request))
    yield through_server
    through_server.server.stop()
