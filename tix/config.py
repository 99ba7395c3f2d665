"""The user's config file, `<config>/config.toml` (`~/.config/tix/config.toml`), as `tix config`
reads and writes it. Each key has an environment variable that wins over the file:

    store     = "postgresql://tix@db.example/tix"   # or a `tix serve`; TIX_DATABASE_URL, --db win
    format    = "json"                               # TIX_FORMAT (and --format) win
    language  = "es"                                 # TIX_LANG wins
    pager     = "less -FRX"                          # TIX_PAGER wins; PAGER is used after it

The file is written readable only by its owner (a store URL may carry a password).
"""

import os
from pathlib import Path

from tix.errors import InvalidInput

KEYS = {
    "store": "the store URL (default: a SQLite file in your data directory); TIX_DATABASE_URL wins",
    "format": "the default output format: table, json or csv; TIX_FORMAT wins",
    "language": "the language tix speaks to you: en or es (default: your setting, else LANG); TIX_LANG wins",
    "pager": "the pager for long output on a terminal (default: less -FRX; empty: none); TIX_PAGER wins, PAGER comes after",
}
ENVIRONMENT = {
    "store": "TIX_DATABASE_URL",
    "format": "TIX_FORMAT",
    "language": "TIX_LANG",
    "pager": "TIX_PAGER",
}
_cache: dict = {}


def config_dir() -> Path:
    """Where tix's config lives (XDG config directory): this file, credentials, templates."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tix"


def path() -> Path:
    return config_dir() / "config.toml"


def known(key: str) -> str:
    if key not in KEYS:
        raise InvalidInput(f"unknown config key {key[:100]!r}: use one of {', '.join(KEYS)}")
    return key


def check(key: str, value: str) -> str:
    """The value as stored, or InvalidInput (exit 2) for an unknown key or a bad value."""
    known(key)
    value = value.strip() if key != "pager" else value
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidInput(f"{key}: a value is one line of text")
    if key == "format" and value not in ("table", "json", "csv"):
        raise InvalidInput(f"format {value!r}: use table, json or csv")
    if key == "language" and value not in ("en", "es"):
        raise InvalidInput(f"language {value!r}: use en or es")
    if key == "store" and not value.startswith(
        ("sqlite:///", "postgresql://", "postgres://", "http://", "https://")
    ):
        raise InvalidInput(
            "store: a URL starting sqlite:///, postgresql:// or http(s):// (a `tix serve`)"
        )
    return value


def values() -> dict[str, str]:
    """What the file holds (nothing if there is none); a broken file is an error, exit 2."""
    file = path()
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        return {}
    cached = _cache.get(str(file))
    if cached and cached[0] == stamp:
        return cached[1]
    import tomllib

    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"config file {file}: {exc}") from None
    found = {}
    for key, value in data.items():
        if key in KEYS and isinstance(value, str):
            found[key] = value
    _cache[str(file)] = (stamp, found)
    return found


def value(key: str) -> str | None:
    return values().get(key)


def effective(key: str) -> str | None:
    """The value in force: the environment's, else the file's."""
    env = os.environ.get(ENVIRONMENT[key])
    return env if env is not None and (env or key == "pager") else value(key)


def _write(data: dict[str, str]) -> None:
    import json

    file = path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"{key} = {json.dumps(data[key], ensure_ascii=False)}" for key in KEYS if key in data]
    temporary = file.with_name(file.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in lines))
    os.chmod(temporary, 0o600)
    os.replace(temporary, file)


def set_value(key: str, raw: str) -> str:
    value = check(key, raw)
    data = dict(values())
    data[key] = value
    _write(data)
    return value


def unset(key: str) -> bool:
    known(key)
    data = dict(values())
    if key not in data:
        return False
    del data[key]
    _write(data)
    return True
