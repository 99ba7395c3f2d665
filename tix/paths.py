"""Where tix keeps things on disk: the XDG data and config directories, the default store."""

import os
from pathlib import Path


def data_dir() -> Path:
    """Where tix keeps its default store and mail folder (XDG data directory)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "tix"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tix"


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'tix.db'}"


def resolve_url(url: str | None) -> str:
    """The store URL: the --db option, else TIX_DATABASE_URL, else the default SQLite file."""
    return url or os.environ.get("TIX_DATABASE_URL") or default_url()
