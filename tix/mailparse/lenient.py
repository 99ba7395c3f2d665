"""Broken MIME that mail clients still read, read the same way; and mail too deep to read.

Each repair works on a copy of the bytes that is only parsed: the raw message is kept as it came.
(An unquoted boundary with "=" in it, as Outlook Express writes it, needs no repair: the message
is parsed with the compat32 policy, whose parameter parser reads it as clients do.)
"""

import re

from tix.errors import InvalidInput

# Containers (multipart/*, message/*) in one message. A real message has a handful; parsing
# and walking nest one Python frame per level, so thousands are refused before parsing.
MAX_CONTAINERS = 300
_CONTAINER = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?(multipart|message)/")
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")
_KNOWN_HEADER = re.compile(
    rb"(?i)^(from|to|cc|subject|date|message-id|mime-version|content-[\w-]+|received|"
    rb"return-path|reply-to|in-reply-to|references|delivered-to|x-[\w-]+|sender|"
    rb"authentication-results|dkim-signature|list-[\w-]+|precedence|auto-submitted):"
)


def check_depth(raw: bytes) -> None:
    """Refuse a message with more MIME containers than any client writes (InvalidInput)."""
    count = len(_CONTAINER.findall(raw))
    if count > MAX_CONTAINERS:
        raise InvalidInput(
            f"the message nests {count} MIME parts (more than {MAX_CONTAINERS}): not read"
        )


def _lines(raw: bytes) -> list[bytes]:
    return raw.splitlines(keepends=True)


def drop_leading_junk(raw: bytes) -> bytes:
    """An mbox "From " line, a ">From" or other junk before the first header: dropped (the
    email package would take the whole message for a body without headers)."""
    lines = _lines(raw[:4096])
    for i, line in enumerate(lines[:5]):
        if _KNOWN_HEADER.match(line):
            return raw[sum(len(x) for x in lines[:i]) :] if i else raw
        if not line.strip():
            break
    return raw


_OBS_NAME = re.compile(rb"^([!-9;-~]{1,76})[ \t]+:")


def tidy_obsolete_names(raw: bytes) -> bytes:
    """RFC 5322's obsolete syntax allows blanks before a header's colon ("Subject  : x");
    the email package then sees no headers at all."""
    lines = _lines(raw)
    end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    if not any(_OBS_NAME.match(line) for line in lines[:end]):
        return raw
    for i in range(end):
        lines[i] = _OBS_NAME.sub(rb"\1:", lines[i], count=1)
    return b"".join(lines)


def join_broken_continuations(raw: bytes) -> bytes:
    """A header line that lost its indentation ("Subject: a long" + "subject") ends the
    headers for the email package, and the rest of them become body. When known headers follow
    before the blank line, such lines are continuations: indent them."""
    lines = _lines(raw)
    end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    broken = [
        i
        for i in range(1, end)
        if not _HEADER_LINE.match(lines[i]) and lines[i][:1] not in (b" ", b"\t")
    ]
    if not broken or not any(_KNOWN_HEADER.match(line) for line in lines[broken[-1] + 1 : end]):
        return raw
    for i in broken:
        lines[i] = b" " + lines[i]
    return b"".join(lines)
