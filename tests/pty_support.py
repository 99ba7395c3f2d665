"""Running a real `tix` process on a pseudo-terminal, as a person at a terminal runs it: stdin
and stdout are a terminal (so the editor opens, colour and the pager apply), stderr is kept
apart so a test can read the error line alone."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

TIX = str(Path(sys.executable).with_name("tix"))


@dataclass
class Run:
    returncode: int
    screen: str  # what reached the terminal (stdout, and what the editor/pager wrote there)
    stderr: str


def run_on_terminal(
    args: list[str], env: dict, *, rows: int = 24, cols: int = 100, timeout: float = 60
) -> Run:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(
        [TIX, *args],
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
        close_fds=True,
    )
    os.close(slave)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                process.kill()
                raise TimeoutError(f"tix {' '.join(args)} hung; screen so far: {screen!r}")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the process closed its side of the terminal
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(master)
    stderr = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    return Run(process.wait(timeout), screen.decode("utf-8", "replace"), stderr)


def editor_script(folder: Path, text: str, *, before: str = "") -> str:
    """An $EDITOR that writes `text` into the file it is given (and first runs `before`, a
    shell line) and leaves a mark that it ran; returns the EDITOR value."""
    body = folder / "typed.txt"
    body.write_text(text, encoding="utf-8")
    script = folder / "editor.sh"
    script.write_text(
        f'#!/bin/sh\n{before}\ntouch "{folder}/editor-ran"\ncat "{body}" > "$1"\n',
        encoding="utf-8",
    )
    return f"sh {script}"
