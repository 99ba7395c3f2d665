"""Who a message is from, as RFC 5322 (and RFC 6532 for UTF-8) reads the From header; and what
is refused rather than guessed.

The sender is the addr-spec of the one mailbox in the one From header. Anything else has no
sender and a `problem` instead: no From, two From headers, a group, several mailboxes, an empty
or unparsable address, or a display name that carries another address
(`"olga@acme.example" <attacker@evil.example>`, also hidden in an encoded word): a person
reading it would take it for the address in the name. A name that is the address itself (as
Outlook writes it) is not a problem.
"""

import re
from dataclasses import dataclass

from tix.mailparse.charsets import decode_words, raw_header_text

_ADDRESS_IN_NAME = re.compile(r"[^\s@<>()\"',;:]+@[^\s@<>()\"',;:]+")


@dataclass(frozen=True)
class Sender:
    address: str | None  # the addr-spec, lower case; None when there is a problem
    name: str  # the display name, decoded ("" if none)
    problem: str | None  # why there is no address, or None


def _refused(problem: str, name: str = "") -> Sender:
    return Sender(None, name, problem)


def read_sender(raw_values: list[str]) -> Sender:
    """The sender from the raw values of every From header (as parsed, 8-bit bytes as
    surrogates)."""
    if not raw_values:
        return _refused("no From header")
    if len(raw_values) > 1:
        return _refused(f"{len(raw_values)} From headers")
    from email import policy

    text = re.sub(r"\r?\n[ \t]*", " ", raw_header_text(raw_values[0])).strip()
    if not text:
        return _refused("an empty From header")
    try:
        header = policy.default.header_factory("From", text)
        groups = header.groups
    except Exception:
        return _refused("a From header that cannot be parsed")
    if any(group.display_name is not None for group in groups):
        return _refused("a group in From")
    mailboxes = [address for group in groups for address in group.addresses]
    if len(mailboxes) != 1:
        return _refused("no mailbox in From" if not mailboxes else "several mailboxes in From")
    mailbox = mailboxes[0]
    name = mailbox.display_name or ""
    if "\ufffd" in name or any("\udc80" <= c <= "\udcff" for c in name):
        name = _fallback_name(text)
    local, domain = mailbox.username, mailbox.domain
    if not local or not domain or "@" in local or any(c.isspace() for c in local + domain):
        return _refused("no usable address in From", name)
    address = f"{local}@{domain}".lower()
    named = {found.lower().strip(".") for found in _ADDRESS_IN_NAME.findall(name)}
    if named - {address}:
        return _refused("an address in the From display name", name)
    if header.defects and any("Invalid" in type(d).__name__ for d in header.defects):
        return _refused("a malformed From header", name)
    return Sender(address, name, None)


def _fallback_name(text: str) -> str:
    # The email package gives up on a display name in a charset it cannot read (U+FFFD); ours
    # reads the superset. Only ever a name: the address came from the parser above.
    name = text.rsplit("<", 1)[0] if "<" in text else ""
    return decode_words(name).strip().strip('"').strip()
