"""Ticket tracking codes: short, random (not sequential), typed case-insensitively.

Crockford base32 (no I, L, O, U) in two groups of four, e.g. `K7QD-4MZP`: 40 random bits.
Typing is forgiving: lower case, a missing dash, O for 0 and I/L for 1 all name the same code.
"""

import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})
SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def new_code() -> str:
    import secrets  # only commands that create a ticket pay for importing it

    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def normalize(typed: str) -> str | None:
    """The canonical code for what someone typed, or None if it cannot be a code."""
    cleaned = re.sub(r"[\s\-\[\]#]", "", (typed or "").upper()).translate(_TYPO)
    if len(cleaned) != 8:
        return None
    code = f"{cleaned[:4]}-{cleaned[4:]}"
    return code if SHAPE.match(code) else None
