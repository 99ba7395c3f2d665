"""Header lines exactly as Python's email policy folds them, written without its parsing: the
helpers of tix.mail.raw_message (see the note above it in tix/mail.py)."""

import functools
import re

ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
PLAIN_NAME = re.compile(rf"[{ATEXT}]+(?: [{ATEXT}]+)*")
PLAIN_ADDRESS = re.compile(rf"[{ATEXT}]+(?:\.[{ATEXT}]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# `Name <address>` (or a bare address) that the policy writes as it is.
PLAIN_REPLY_TO = re.compile(
    rf"(?:{PLAIN_NAME.pattern} <{PLAIN_ADDRESS.pattern}>|{PLAIN_ADDRESS.pattern})"
)
PLAIN_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")
PLAIN_TOKEN = re.compile(r"[\x21-\x7e]+")
MAX_LINE = 78  # the email policy's max_line_length


def folded(name: str, value: str) -> str | None:
    """`Name: value` folded as the email policy folds plain ASCII words, None for anything
    else: on one line if it fits; else alone on the next line if it fits there; else word by
    word, each fold taking the space before the word onto the new line."""
    if not PLAIN_WORDS.fullmatch(value):
        return None
    if len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}"
    if len(value) + 1 <= MAX_LINE:
        return f"{name}:\n {value}"
    lines, line = [], f"{name}: "
    for index, word in enumerate(value.split(" ")):
        if index:
            if len(line) + 1 > MAX_LINE:
                return None  # a space that does not fit: left to the policy
            line += " "
        if len(line) + len(word) <= MAX_LINE:
            line += word
        elif len(word) + 1 <= MAX_LINE:
            lines.append(line[:-1])
            line = " " + word
        else:
            return None
    lines.append(line)
    return "\n".join(lines)


def token_line(name: str, value: str) -> str | None:
    line = f"{name}: {value}"
    return line if PLAIN_TOKEN.fullmatch(value) and len(line) <= MAX_LINE else None


@functools.lru_cache(maxsize=4096)
def policy_line(name: str, value: str) -> str:
    """One header exactly as EmailMessage writes it. The generator folds each header on its
    own, so this is the very text it has in a whole message. Cached: From is the same in every
    email of a run, and a customer's To in every email to them."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg[name] = value
    return msg.as_string().split("\n\n", 1)[0]


class _DefaultPolicy:
    """What contentmanager's encoder reads of email.policy.default: importing email.policy
    loads the whole header registry and parser, which no line here needs."""

    linesep = "\n"
    max_line_length = MAX_LINE
    cte_type = "8bit"


def text_part(body: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, payload) as EmailMessage.set_content + as_string give them."""
    from email import base64mime, contentmanager

    cte, payload = contentmanager._encode_text(body, "utf-8", None, _DefaultPolicy)
    if cte == "8bit":
        # as_string() (text output) re-encodes 8-bit text in base64.
        cte = "base64"
        payload = base64mime.body_encode(payload.encode("ascii", "surrogateescape"))
    return cte, payload
