"""An example ticket-assistant plug-in (see docs/checks.md), installed in the tests by putting
this folder, with its .dist-info, on sys.path: exactly what `pip install` leaves behind.

A check receives a `tix.checks.Draft` and returns None, a string, or a list of strings, written
in the filer's language with `draft.say(en=..., es=...)`.
"""

import re

PASSWORD = re.compile(r"(?i)\b(password|passwd|pass|contraseña|clave)\s*(is|es|:|=)\s*\S+")


def no_passwords(draft):
    """Passwords do not belong in a ticket: tickets are emailed and kept."""
    if PASSWORD.search(draft.text):
        return draft.say(
            en="Do not send passwords in a ticket (we never need them): change that password now.",
            es="No envíe contraseñas en un ticket (nunca las necesitamos): cambie esa contraseña ya.",
        )
    return None
