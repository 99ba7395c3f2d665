"""Which language a command speaks to its user: `TIX_LANG`, else `language` in the config file
(an explicit choice for this machine), else the signed-in person's setting in the store, else
the system's locale (`LC_ALL`, `LC_MESSAGES`, `LANG`: `es_ES.UTF-8` speaks Spanish), else
English. The messages themselves are tix.messages'."""

import os

from tix import config
from tix.errors import TixError
from tix.messages import LANGS


def system_language() -> str:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "es" if value.lower().startswith("es") else "en"
    return "en"


def chosen_language() -> str | None:
    """The language chosen for this machine: TIX_LANG, else the config file's, else None."""
    value = (os.environ.get("TIX_LANG") or "").strip().lower()
    if not value:
        try:
            value = config.value("language") or ""
        except TixError:  # a broken config file is reported by what reads it for real
            value = ""
    return value if value in LANGS else None


def choose(setting: str | None = None) -> str:
    """The language a command speaks to its user (see the module's help)."""
    return chosen_language() or (setting if setting in LANGS else None) or system_language()
