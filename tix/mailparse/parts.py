"""A message's body and files: which part a person reads, its text, and every attached file.

The body is what a mail client shows: of an alternative, the plain text, unless it is empty and
the HTML is not; of a mixed message, every inline text part in order (Apple Mail splits text
around an inline picture). A forwarded message (message/rfc822) adds its text below, under a
"Forwarded message" header, and its files by their own names.
"""

import binascii
import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

from tix.mailparse.charsets import decode_bytes, header_text, param_text

FORWARD_DEPTH = 3  # forwarded messages inside forwarded messages read for text and files
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


@dataclass
class MailAttachment:
    filename: str
    data: bytes
    content_type: str


def is_attachment(part) -> bool:
    return (part.get("Content-Disposition") or "").split(";")[0].strip().lower() == "attachment"


def filename_of(part) -> str:
    """The file name a client shows: RFC 2231, RFC 2047 (Outlook) or raw 8-bit, decoded."""
    value = part.get_param("filename", header="content-disposition")
    if value is None:
        value = part.get_param("name")
    return param_text(value) if value is not None else ""


def payload_bytes(part) -> bytes:
    """A part's decoded content. Base64 is decoded straight from the parsed text (the email
    package first copies it into bytes: one more copy of every attachment at the peak)."""
    payload = part.get_payload()
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if isinstance(payload, str) and cte == "base64":
        try:
            return binascii.a2b_base64(payload)
        except (binascii.Error, ValueError):
            pass  # non-ASCII or broken: the email package's lenient decoder below
    try:
        return part.get_payload(decode=True) or b""
    except Exception:
        return str(payload or "").encode("ascii", "surrogateescape")


def part_text(part) -> str:
    """A text part's text (HTML turned into text), decoded as clients decode it. Kept on the
    part: choosing the body reads a part more than once."""
    cached = getattr(part, "_tix_text", None)
    if cached is None:
        cached = part._tix_text = _part_text(part)
    return cached


def _part_text(part) -> str:
    data = payload_bytes(part)
    charset = part.get_param("charset")
    if isinstance(charset, tuple):
        charset = charset[2]
    if not charset and part.get_content_subtype() == "html":
        meta = _META_CHARSET.search(data[:4096])
        charset = meta[1].decode("ascii", "ignore") if meta else None
    text = decode_bytes(data, charset)
    del data
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_subtype() != "html":
        return text
    from tix.mailparse.html import html_to_text  # only when HTML comes

    return html_to_text(text)


def _sub_parts(part) -> list:
    payload = part.get_payload()
    return payload if isinstance(payload, list) else []


def body_parts(msg) -> list:
    """The parts whose text is the body, in reading order."""
    found: list = []
    _collect(msg, found, top=True)
    return found


def _collect(part, found: list, top: bool = False) -> bool:
    ctype = part.get_content_type()
    maintype, subtype = ctype.split("/", 1) if "/" in ctype else (ctype, "")
    if not top and is_attachment(part):
        return False
    if maintype == "text":
        if subtype in ("plain", "html") and (top or not filename_of(part)):
            found.append(part)
            return True
        return False
    subs = _sub_parts(part)
    if maintype != "multipart" or not subs:
        return False
    if subtype == "alternative":
        plain = [p for p in subs if p.get_content_type() == "text/plain"]
        rest = [p for p in subs if p.get_content_type() != "text/plain"]
        # An empty text/plain (some clients send one) never wins over a real HTML part.
        if plain and not part_text(plain[0]).strip():
            plain = []
        for choice in plain + rest[::-1]:  # the richest alternative comes last
            chosen: list = []
            if _collect(choice, chosen) and any(part_text(p).strip() for p in chosen):
                found.extend(chosen)
                return True
        return _collect(subs[0], found)
    if subtype == "related":
        # The root is the part start= names, else the first that has text (MHTML puts its
        # pictures first).
        start = (part.get_param("start") or "").strip().strip("<>")
        root = [p for p in subs if start and (p.get("Content-ID") or "").strip("<> ") == start]
        return any(_collect(p, found) for p in root or subs)
    added = False
    for sub in subs:
        if sub.get_content_maintype() == "text" and added and sub.get_content_subtype() == "html":
            continue  # an HTML copy after the text of a mixed part: the same words again
        added |= _collect(sub, found)
    return added


def forwarded_messages(msg, body: list, depth: int = 0) -> list:
    """message/rfc822 parts outside the body, not inside a delivery report."""
    if depth >= FORWARD_DEPTH or msg.get_content_type() == "multipart/report":
        return []
    found = []
    for sub in _sub_parts(msg):
        if sub.get_content_type() == "message/rfc822":
            inner = _sub_parts(sub)
            if inner:
                found.append(inner[0])
        elif sub.get_content_maintype() == "multipart":
            found += forwarded_messages(sub, body, depth)
    return found


def forwarded_block(inner) -> str:
    """A forwarded message as the text a mail client shows when it forwards inline."""
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To"):
        value = header_text(inner.get(name))
        if value:
            lines.append(f"{name}: {value}")
    text = "\n\n".join(part_text(p) for p in body_parts(inner)).strip()
    return "\n".join(lines) + "\n\n" + text


def safe_filename(name: str | None, ctype: str, index: int) -> str:
    """A file name fit to store and show: its last path component, no control or format
    characters, at most 200 characters; a made-up one if nothing is left."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in base)
    cleaned = re.sub(r"\s+", " ", cleaned).strip().replace("=?", "= ?")[:200]
    if cleaned in ("", ".", ".."):
        cleaned = f"attachment-{index}{mimetypes.guess_extension(ctype) or '.bin'}"
    return cleaned


def attachments(msg, body: list, depth: int = 0) -> list[MailAttachment]:
    """Every attached file, decoded, in order; a forwarded message as "<its subject>.eml" and
    its own files by their own names."""
    found: list[MailAttachment] = []
    body_ids = {id(p) for p in body}

    def visit(part, depth):
        if id(part) in body_ids:
            return
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = _sub_parts(part)
            if not inner:
                return
            subject = header_text(inner[0].get("Subject")) or "forwarded"
            name = filename_of(part) or f"{subject[:80]}.eml"
            found.append(
                MailAttachment(
                    safe_filename(name, ctype, len(found) + 1), inner[0].as_bytes(), ctype
                )
            )
            if depth < FORWARD_DEPTH:
                inner_body = {id(p) for p in body_parts(inner[0])}
                body_ids.update(inner_body)
                visit(inner[0], depth + 1)
            return
        if part.get_content_maintype() == "multipart":
            for sub in _sub_parts(part):
                visit(sub, depth)
            return
        filename = filename_of(part)
        # Inline text without a name is an alternative of the body, not a file.
        if not filename and not is_attachment(part) and part.get_content_maintype() == "text":
            return
        data = payload_bytes(part)
        found.append(MailAttachment(safe_filename(filename, ctype, len(found) + 1), data, ctype))

    visit(msg, depth)
    return found
