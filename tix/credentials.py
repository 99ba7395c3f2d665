"""Where a user's token is kept, per store or server URL: the OS keyring; TIX_TOKEN for cron
and scripts; a 0600 file where no keyring exists. Light on purpose: a command talking to
`tix serve` loads its token without loading the store's libraries."""

import json
import os
import sys

from tix.paths import config_dir, private_dir
from tix.urls import mask_url

KEYRING_SERVICE = "tix"


_warned_no_keyring = False


def _credentials_file():
    return config_dir() / "credentials.json"


def _keyring():
    """The keyring module if a real backend exists, else None (headless servers)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return None
        # A chainer with nothing behind it is as good as no keyring.
        if getattr(backend, "backends", None) == []:
            return None
        return keyring
    except Exception:
        return None


def _warn_no_keyring() -> None:
    global _warned_no_keyring
    if not _warned_no_keyring:
        _warned_no_keyring = True
        print(
            f"warning: no OS keyring available; token saved in {_credentials_file()} "
            "(readable only by you)",
            file=sys.stderr,
        )


def save_token(url: str, token: str) -> str:
    """Keep the token for this store; returns where it went."""
    kr = _keyring()
    if kr is not None:
        try:
            kr.set_password(KEYRING_SERVICE, mask_url(url), token)
            return "keyring"
        except Exception:
            pass
    path = _credentials_file()
    private_dir(path.parent)  # 0700, like the file's 0600
    data = _read_credentials()
    data[mask_url(url)] = token
    # Created 0600 from the start so the token is never readable by others, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    os.chmod(path, 0o600)
    _warn_no_keyring()
    return str(path)


def _read_credentials() -> dict:
    try:
        return json.loads(_credentials_file().read_text())
    except (OSError, ValueError):
        return {}


def load_token(url: str) -> str | None:
    env = os.environ.get("TIX_TOKEN")
    if env:
        return env
    kr = _keyring()
    if kr is not None:
        try:
            token = kr.get_password(KEYRING_SERVICE, mask_url(url))
            if token:
                return token
        except Exception:
            pass
    return _read_credentials().get(mask_url(url))


def forget_token(url: str) -> None:
    kr = _keyring()
    if kr is not None:
        try:
            kr.delete_password(KEYRING_SERVICE, mask_url(url))
        except Exception:
            pass
    data = _read_credentials()
    if data.pop(mask_url(url), None) is not None:
        _credentials_file().write_text(json.dumps(data))
