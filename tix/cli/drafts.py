"""Text typed in $EDITOR is never lost. `tix create` and `tix reply` check everything they can
before the editor opens; if the command still fails after it (the body itself is refused, the
ticket was closed meanwhile, the store is locked, the user cancels at the assistant's question),
the text is kept in a file readable only by its owner, and the error says which: `--recover FILE`
on a later `tix create` / `tix reply` takes the body from it, as gh does."""

import shlex
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from tix.cli.plumbing import read_body
from tix.errors import InvalidInput


def recover_option(func):
    return click.option(
        "--recover",
        "recover",
        metavar="FILE",
        help="the body from FILE, kept by an earlier command that failed",
    )(func)


def given_body(message: str | None, recover: str | None) -> str | None:
    """The body given without an editor: -m, --recover FILE, or stdin that is not a terminal;
    None when the editor has to ask for it."""
    if message is not None and recover is not None:
        raise InvalidInput("give either -m or --recover, not both")
    if recover is not None:
        try:
            return Path(recover).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise InvalidInput(f"cannot read --recover {recover!r}: {reason}") from None
    if message is None and sys.stdin.isatty():
        return None
    return read_body(message)


class Draft:
    """What the user typed in the editor during this command (None: nothing typed)."""

    def __init__(self):
        self.text: str | None = None

    def edit(self) -> str:
        self.text = read_body(None)  # $EDITOR (stdin is a terminal)
        return self.text


@contextmanager
def kept(lang: str, command: list[str]):
    """Run the rest of a command; if it fails once the user has typed something, keep the text
    (`command`: how to run it again, `--recover FILE` is added)."""
    draft = Draft()
    try:
        yield draft
    except BaseException:
        if draft.text and draft.text.strip():
            _keep(draft.text, lang, command)
        raise


def _keep(text: str, lang: str, command: list[str]) -> None:
    import os
    import tempfile

    from tix import messages
    from tix.paths import data_dir, private_dir

    try:
        folder = private_dir(data_dir() / "drafts")
        fd, path = tempfile.mkstemp(prefix=f"{command[1]}-", suffix=".txt", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
    except OSError as exc:  # the disk is full: the terminal is the last place left
        click.echo(f"tix: cannot keep your text ({exc.strerror}); here it is:\n{text}", err=True)
        return
    line = messages.text("draft-kept", lang, path=path, command=shlex.join(command))
    click.echo(f"tix: {line}", err=True)
