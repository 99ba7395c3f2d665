"""tests/test_scripting_manners.py and the editor's drafts once more, with `tix` talking to a
real `tix serve` process: the 30-row page and its line on stderr, `--json FIELDS`, the CSV
cells, the exit codes; and a draft checked by the server before the editor opens."""

import re
from pathlib import Path

import pytest
from pty_support import TIX, editor_script, run_on_terminal
from serve_support import moves_time, served
from test_scripting_manners import *  # noqa: F403

pytestmark = pytest.mark.served


@pytest.fixture
def desk(desk, tmp_path, request):
    through_server = served(desk, tmp_path, fake_clock=moves_time(request))
    yield through_server
    through_server.server.stop()


def test_a_draft_through_the_server_is_checked_before_the_editor_and_kept_after(desk, tmp_path):
    code = desk.create("alpha")
    close = f"TIX_TOKEN={desk.tokens['admin']} {TIX} close {code} >/dev/null 2>&1"
    env = {
        "TIX_DATABASE_URL": desk.server.url,
        "TIX_TOKEN": desk.tokens["hosting_agent"],
        "EDITOR": editor_script(tmp_path, "Fixed, please check.", before=close),
    }
    run = run_on_terminal(["create", "-d", "plumbing", "-s", "Down", "--account", "alpha"], env)
    assert run.returncode == 2 and "unknown department" in run.stderr
    assert not (tmp_path / "editor-ran").exists()  # the server refused before anyone typed
    run = run_on_terminal(["reply", code], env)  # ...and the ticket is closed meanwhile
    assert (tmp_path / "editor-ran").exists()
    assert run.returncode == 4 and "is closed: reopen it before replying" in run.stderr
    kept = re.search(r"your text is kept in (\S+): `tix reply", run.stderr)
    assert kept and Path(kept[1]).read_text() == "Fixed, please check."
