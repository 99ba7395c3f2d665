"""Nothing typed is lost: `tix create` and `tix reply` on a terminal refuse what they can before
$EDITOR opens, and when a command still fails after it, the text is kept in a private file
that `--recover FILE` takes back (a real `tix` on a pseudo-terminal, a real editor script)."""

import json
import re
import stat
from pathlib import Path

import deskdb
import pytest
from pty_support import TIX, editor_script, run_on_terminal

KEPT = re.compile(r"your text is kept in (\S+\.txt): `(tix [^`]*)--recover \1` uses it")


def on_terminal(desk, tmp_path, who, *args, text="Typed in the editor.", before=""):
    env = {
        "TIX_DATABASE_URL": desk.url,
        "TIX_TOKEN": desk.tokens[who],
        "EDITOR": editor_script(tmp_path, text, before=before),
        "VISUAL": "",
    }
    return run_on_terminal(list(args), env)


@pytest.mark.parametrize(
    "who,args,code,message",
    [
        ("alpha", ["create", "-d", "hosting", "-s", "  "], 2, "subject is empty"),
        ("alpha", ["create", "-d", "hosting", "-s", "x" * 201], 2, "longer than 200"),
        ("alpha", ["create", "-d", "plumbing", "-s", "Down"], 2, "unknown department"),
        (
            "alpha",
            ["create", "-d", "hosting", "-s", "Down", "--service", "no.test"],
            2,
            "no service",
        ),
        ("hosting_agent", ["create", "-d", "hosting", "-s", "Down"], 2, "--account"),
        ("alpha", ["reply", "CLOSED", "--internal"], 4, "only agents"),
        ("hosting_agent", ["reply", "CLOSED"], 4, "is closed: reopen it"),
        ("beta", ["reply", "CLOSED"], 3, "no ticket"),
    ],
)
def test_what_would_be_refused_is_refused_before_the_editor_opens(
    desk, tmp_path, who, args, code, message
):
    closed = desk.create("alpha")
    desk.tix("close", closed, as_="hosting_agent")
    args = [closed if a == "CLOSED" else a for a in args]
    before = deskdb.dump(desk.url)
    run = on_terminal(desk, tmp_path, who, *args)
    assert run.returncode == code, run.stderr
    assert message in run.stderr and run.stderr.startswith("tix: error: ")
    assert not (tmp_path / "editor-ran").exists()  # nobody typed for nothing
    assert deskdb.dump(desk.url) == before


def kept_file(run):
    found = KEPT.search(run.stderr)
    assert found, run.stderr
    file = Path(found[1])
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    return file, found[2].strip()


def test_a_body_refused_after_the_editor_is_kept_for_recover(desk, tmp_path, monkeypatch):
    monkeypatch.setenv("TIX_BODY_MAX_CHARS", "50")
    text = ("A long story about the website. " * 4).strip()
    run = on_terminal(desk, tmp_path, "alpha", "create", "-d", "hosting", "-s", "Down", text=text)
    assert run.returncode == 2 and "longer than 50 characters" in run.stderr
    assert (tmp_path / "editor-ran").exists()
    file, again = kept_file(run)
    assert file.read_text(encoding="utf-8").strip() == text.strip()
    assert again == "tix create -d hosting -s Down"
    # Later, with the limit raised (or the text shortened), the same text is filed.
    monkeypatch.setenv("TIX_BODY_MAX_CHARS", "1000")
    code = desk.tix(
        "create", "-d", "hosting", "-s", "Down", "--recover", str(file), "--quiet", as_="alpha"
    ).stdout.strip()
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="alpha").stdout)
    assert shown["messages"][0]["body"] == text


def test_a_reply_refused_after_the_editor_is_kept_for_recover(desk, tmp_path):
    """The ticket is closed by someone else while the agent is typing: the reply is refused,
    the text is not lost."""
    code = desk.create("alpha")
    close = f"TIX_TOKEN={desk.tokens['admin']} {TIX} close {code} >/dev/null 2>&1"  # meanwhile...
    run = on_terminal(
        desk, tmp_path, "hosting_agent", "reply", code, text="Fixed, please check.", before=close
    )
    assert run.returncode == 4 and "is closed: reopen it before replying" in run.stderr
    file, again = kept_file(run)
    assert again == f"tix reply {code}"
    desk.tix("reopen", code, as_="hosting_agent")
    done = desk.tix("reply", code, "--recover", str(file), as_="hosting_agent")
    assert done.stdout.strip() == f"replied on {code}; status answered"
    shown = json.loads(desk.tix("show", code, "--format", "json", as_="alpha").stdout)
    assert shown["messages"][-1]["body"] == "Fixed, please check."


def test_recover_bad_input(desk, tmp_path):
    code = desk.create("alpha")
    missing = tmp_path / "nope.txt"
    result = desk.tix("reply", code, "--recover", str(missing), as_="alpha", expect=2)
    assert "cannot read --recover" in result.stderr
    file = tmp_path / "draft.txt"
    file.write_text("x")
    result = desk.tix("reply", code, "-m", "y", "--recover", str(file), as_="alpha", expect=2)
    assert "either -m or --recover" in result.stderr


def test_nothing_is_kept_when_nothing_was_typed_or_the_command_worked(desk, tmp_path):
    run = on_terminal(desk, tmp_path, "alpha", "create", "-d", "hosting", "-s", "Down", "-y")
    assert run.returncode == 0, run.stderr
    assert "kept in" not in run.stderr
    assert not (tmp_path / "data" / "tix" / "drafts").exists() or not any(
        (tmp_path / "data" / "tix" / "drafts").iterdir()
    )
    # An editor left empty: nothing to keep, and the usual error.
    run = on_terminal(desk, tmp_path, "alpha", "create", "-d", "hosting", "-s", "Down", text="\n")
    assert run.returncode == 2 and "message body is empty" in run.stderr
    assert "kept in" not in run.stderr
