"""Where tix keeps things on disk: the XDG data and config directories, the default store."""

import os
from pathlib import Path

from tix import config
from tix.config import config_dir  # noqa: F401  (where it has always been found)


def data_dir() -> Path:
    """Where tix keeps its default store and mail folder (XDG data directory)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "tix"


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'tix.db'}"


def resolve_url(url: str | None) -> str:
    """The store URL: the --db option, else TIX_DATABASE_URL, else `store` in the config file,
    else the default SQLite file."""
    return url or os.environ.get("TIX_DATABASE_URL") or config.value("store") or default_url()


def private_dir(path: Path) -> Path:
    """Create `path` (and the missing folders above it) readable only by the owner (0700,
    whatever the umask); a folder that exists already is left as it is."""
    missing = []
    folder = path
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)
    return path


def private_file(path: Path) -> None:
    """Create an empty file readable and writable only by the owner (0600, whatever the umask),
    if it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
