"""Bytes to text the way mail clients do it, not the way the labels say.

Senders label text with a charset that is often a subset of what they wrote (gb2312 carrying
GBK, iso-8859-1 over cp1252 or UTF-8, us-ascii or nothing over 8-bit bytes), or one Python
does not know (ks_c_5601-1987 is really cp949, windows-874 is cp874). So a label is read as its
superset; bytes that are valid UTF-8 win over a Western label (Latin-1 text almost never forms
UTF-8 sequences, UTF-8 read as Latin-1 always "works" and is mojibake); and what no candidate
decodes is handed to charset-normalizer. Nothing here decodes with errors="replace" unless every
other way failed, so U+FFFD means the bytes really are not text.
"""

import codecs
import re

# A label -> what its senders really use (a superset that decodes everything the label does).
SUPERSET = {
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-windows-874": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "korean": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
    "iso-8859-8-i": "iso-8859-8",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "unknown": "",
    "x-user-defined": "",
    "default": "",
}
# Labels under which valid UTF-8 bytes are more likely UTF-8 than what the label says.
_WESTERN = re.compile(r"^(|cp125\d|cp874|iso8859_\d+|latin_1|ascii|mac_roman|cp850|cp437)$")
_LABEL_CLEAN = re.compile(r"[\"'\s]")


def codec_for(label: str | None) -> str:
    """The Python codec to use for a MIME charset label; "" when the label is none or unknown."""
    name = _LABEL_CLEAN.sub("", (label or "")).lower()
    name = SUPERSET.get(name, name)
    if not name:
        return ""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return ""


def _latin1_bytes(error: UnicodeDecodeError):
    # cp1252 leaves five bytes undefined; Latin-1 maps them (to C1 controls): text stays whole.
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("tix-latin1", _latin1_bytes)
_SEVEN_BIT = ("utf_7", "iso2022_jp_ext", "iso2022_jp", "iso2022_kr", "hz")
_UNLABELLED = ("", "us-ascii", "ascii", "ansi_x3.4-1968", "us", "7bit", "8bit")


def _detect(data: bytes) -> str | None:
    """charset-normalizer's best guess (imported only when the label failed: it is not cheap)."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # it is a dependency; still, never lose the text over it
        return None
    best = from_bytes(data[:200_000]).best()
    if best is None:
        return None
    try:
        return data.decode(best.encoding)
    except (LookupError, UnicodeDecodeError):
        return None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a stray bad byte or a character cut at the end (a truncated name) reads
    better as UTF-8 with one U+FFFD than as anything detection would make of it."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    wide = sum(1 for char in text if ord(char) > 0x7F) - bad
    return text if bad <= 2 and wide >= 4 * bad else None


def decode_bytes(data: bytes, label: str | None = None) -> str:
    """Text of `data`, labelled `label` (a MIME charset, or None)."""
    if not data:
        return ""
    codec = codec_for(label)
    if data.isascii() and codec not in _SEVEN_BIT:
        return data.decode("ascii")
    unlabelled = not codec or _LABEL_CLEAN.sub("", label or "").lower() in _UNLABELLED
    order = [] if unlabelled else [codec]
    if unlabelled or codec == "utf-8" or _WESTERN.match(codec.replace("-", "_")):
        order.insert(0, "utf-8")
    else:
        order.append("utf-8")  # a CJK label over UTF-8 bytes: after the label, before guessing
    for name in order:
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    if codec == "cp1252" and not unlabelled:
        return data.decode(codec, "tix-latin1")
    if not unlabelled:
        # The right family with a few bad bytes (a cut multibyte character): keep the label's
        # reading rather than guess the whole text from scratch.
        text = data.decode(codec, "replace")
        if text.count("\ufffd") * 200 < len(text):
            return text
    text = _mostly_utf8(data)
    if text is not None:
        return text
    detected = _detect(data)
    if detected is not None:
        return detected
    return data.decode("cp1252", "tix-latin1")


# -- headers ---------------------------------------------------------------------------------

# RFC 2047 encoded words, leniently: inside words and quoted strings too (clients do that).
_WORD = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN = re.compile(r"^[ \t\r\n]*$")


def _word_bytes(encoding: str, text: str) -> bytes:
    import base64
    import binascii

    if encoding in "bB":
        text = re.sub(r"[^A-Za-z0-9+/]", "", text)
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return text.encode("ascii", "ignore")
    data = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), data)


def raw_header_text(value: str) -> str:
    """A header value as the parser left it (undecodable bytes as surrogates) -> str with raw
    8-bit bytes decoded (RFC 6532 UTF-8, or whatever a client wrote)."""
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # already text
    return decode_bytes(data)


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; adjacent words of one charset are joined before decoding
    (a character split over two words survives), whitespace between encoded words dropped."""
    if "=?" not in value:
        return value
    out, pending, label, last_end = [], b"", "", 0
    for match in _WORD.finditer(value):
        between = value[last_end : match.start()]
        charset = match[1].split("*", 1)[0]  # RFC 2231 language suffix
        adjacent = last_end > 0 and _BETWEEN.match(between) is not None
        if pending and not (adjacent and charset.lower() == label.lower()):
            out.append(decode_bytes(pending, label))
            pending = b""
        if not adjacent:
            out.append(between)
        pending += _word_bytes(match[2], match[3])
        label, last_end = charset, match.end()
    if pending:
        out.append(decode_bytes(pending, label))
    out.append(value[last_end:])
    return "".join(out)


def header_text(value: str | None) -> str:
    """A raw header value -> display text: 8-bit bytes and encoded words decoded, folding
    undone, control characters gone."""
    if not value:
        return ""
    text = decode_words(raw_header_text(str(value)))
    text = re.sub(r"\r?\n[ \t]*", " ", text)
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text).strip()


def param_text(value) -> str:
    """A MIME parameter (a filename) -> text: RFC 2231 (charset'lang'%xx) or RFC 2047 words or
    raw 8-bit, whichever the client used."""
    if value is None:
        return ""
    if isinstance(value, tuple):  # RFC 2231, already joined by the email package
        charset, _language, text = value
        data = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else text
        return decode_bytes(data, charset or None)
    return header_text(value)
