"""Run mail-in's parser over a corpus of real-world messages and count what went wrong.

    python -m bench.mail_corpus DIR [--legacy] [--trimmer NAME] [--show KIND] [--memory]

DIR/<source>/<name>.eml are the messages (bench/mail_corpus_layout.py writes such a corpus from
public test suites; docs/mail-in.md says how). Beside a message, optionally:
<name>.expected.txt (the reply text exactly), <name>.expected-ws.txt (the same, whitespace
ignored) and <name>.keep.txt (snippets the reply must keep, one a line).

Each message goes through what `mail-in` does before it touches the store: parse, pick the body,
turn HTML into text, trim quoted history (a reply), name the attachments. Counted:

    crashes        an exception other than a clean refusal (InvalidInput)
    text lost      an expected line or keep snippet missing; or, with no expectation, nothing
                   kept although the message has unquoted text
    charset damage U+FFFD or mojibake (UTF-8 read as Latin-1/cp1252) in the body, subject or a
                   file name, where the label's superset charset or UTF-8 decodes the bytes
    trimmed exactly  replies with an expectation whose text matches (line ends, trailing spaces
                   and runs of blank lines aside)

`--legacy` measures the code before tix/mailparse.py (tix.inbound's own parse, body_text,
trim_reply): run it from a checkout of that code for the BEFORE figures.
"""

import argparse
import email
import email.policy
import re
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Result:
    text: str  # the trimmed reply
    body: str  # the body before trimming
    subject: str
    names: list[str] = field(default_factory=list)  # attachment file names


# -- the code under test ---------------------------------------------------------------------


def legacy_adapter():
    from email.utils import parseaddr

    from tix import inbound

    def run(raw: bytes) -> Result:
        incoming = inbound.parse(raw)
        body = inbound.body_text(incoming.msg)
        names = [a.filename for a in inbound.mail_attachments(incoming.msg)]
        display = parseaddr(inbound._header(incoming.msg, "From"))[0]
        return Result(inbound.trim_reply(body), body, f"{incoming.subject} {display}", names)

    return run


def current_adapter(trimmer: str):
    from tix import mailparse, quotes

    trim = quotes.trim_reply if trimmer == "tix" else library_trimmer(trimmer)

    def run(raw: bytes) -> Result:
        parsed = mailparse.parse(raw)
        names = [a.filename for a in parsed.attachments]
        return Result(
            trim(parsed.text), parsed.text, f"{parsed.subject} {parsed.sender_name}", names
        )

    return run


def library_trimmer(name: str):
    """A maintained reply parser in place of tix.quotes, to compare on the same corpus."""
    if name == "email-reply-parser":
        from email_reply_parser import EmailReplyParser

        return lambda text: EmailReplyParser.parse_reply(text) or ""
    if name == "mail-parser-reply":
        from mailparser_reply import EmailReplyParser

        languages = ["en", "de", "fr", "it", "nl", "es", "pt", "ja", "pl", "sv", "da", "cs"]
        parser = EmailReplyParser(languages=languages)

        def trim(text: str) -> str:
            try:
                return parser.parse_reply(text=text) or ""
            except Exception:
                return text

        return trim
    raise SystemExit(f"unknown trimmer {name!r}")


# -- references, independent of the code under test -------------------------------------------

SUPERSET = {
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "iso-8859-9": "cp1254",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "big5": "big5hkscs",
}
MOJIBAKE = re.compile(
    r"[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]+"
)


def strict(data: bytes, charset: str | None) -> str | None:
    for name in (SUPERSET.get((charset or "").lower(), charset), "utf-8"):
        if not name:
            continue
        try:
            return data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def damaged(text: str) -> bool:
    """U+FFFD, or UTF-8 bytes that were read as Latin-1 or cp1252."""
    if "\ufffd" in text:
        return True
    for match in MOJIBAKE.finditer(text):
        for codec in ("cp1252", "latin-1"):
            try:
                if match[0].encode(codec).decode("utf-8") != match[0]:
                    return True
            except UnicodeError:
                continue
    return False


def references(raw: bytes) -> tuple[list[str | None], bool]:
    """The inline text parts decoded strictly with the superset of their label or UTF-8 (None
    for a part neither decodes), and whether every header (parts' too) decodes cleanly."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        parts = list(msg.walk())
    except Exception:
        return [], False
    texts: list[str | None] = []
    heads_ok = True
    inside = set()  # parts within message/* (a bounce's status, a forwarded copy)
    for part in parts:
        if part.get_content_maintype() == "message" or id(part) in inside:
            inside.update(id(p) for p in part.walk() if p is not part)
            if id(part) in inside:
                continue
        for value in part._headers:
            data = str(value[1]).encode("utf-8", "surrogateescape")
            decoded = strict(data, "utf-8")
            heads_ok &= decoded is not None and not damaged(decoded)
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            continue
        texts.append(strict(data, part.get_content_charset()))
    return texts, heads_ok


def has_unquoted(texts: list[str]) -> bool:
    for text in texts:
        plain = re.sub(r"<[^>]*>|&nbsp;", " ", text) if "<" in text else text
        for line in plain.splitlines():
            if line.strip() and not line.lstrip().startswith(">"):
                return True
    return False


def normal(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# -- the run -----------------------------------------------------------------------------------


def check(path: Path, run, memory: bool = False) -> tuple[str, dict]:
    raw = path.read_bytes()
    stem = path.with_suffix("")
    expected = stem.with_name(stem.name + ".expected.txt")
    expected_ws = stem.with_name(stem.name + ".expected-ws.txt")
    keep = stem.with_name(stem.name + ".keep.txt")
    verdict: dict = {}
    try:
        if memory:
            tracemalloc.start()
        try:
            result = run(raw)
        finally:
            if memory:
                verdict["peak"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
    except Exception as exc:
        from tix.errors import InvalidInput

        if isinstance(exc, InvalidInput):
            return "refused", {"refused": str(exc)}
        return "crash", {"crash": f"{type(exc).__name__}: {str(exc)[:100]}"}
    out = normal(result.text)
    if expected.exists():
        want = normal(expected.read_text(encoding="utf-8"))
        verdict["exact"] = out == want
        # Rules, signature marks and mobile footers are not the customer's words: tix drops them
        # on purpose where a suite keeps them.
        from tix.quotes import footer_patterns

        footers = footer_patterns("default")
        signature = re.split(r"(?m)^-- ?$", want)[0]  # tix cuts signatures by design
        missing = [
            line
            for line in signature.splitlines()
            if line.strip()
            and line.strip() not in out
            and not re.fullmatch(r"\s*[-_=*~]+\s*", line)
            and not footers.match(line)
        ]
        if missing:
            verdict["lost"] = missing[0][:80]
    elif expected_ws.exists():
        want = re.sub(r"\s", "", expected_ws.read_text(encoding="utf-8"))
        verdict["exact"] = re.sub(r"\s", "", out) == want
    if keep.exists():
        flat = re.sub(r"\s+", " ", out)
        for snippet in keep.read_text(encoding="utf-8").splitlines():
            wanted = snippet.strip()
            if wanted and wanted not in flat and wanted not in out:
                verdict["lost"] = snippet[:80]
    texts, head_ok = references(raw)
    told = expected.exists() or expected_ws.exists() or keep.exists()
    if not told and not out.strip() and has_unquoted([t for t in texts if t]):
        verdict["lost"] = "(nothing kept)"
    clean_refs = texts and all(t is not None and not damaged(t) for t in texts)
    if (clean_refs and damaged(result.body)) or (
        head_ok and damaged(result.subject + " ".join(result.names))
    ):
        verdict["charset"] = next(
            (
                m[0]
                for m in re.finditer(
                    r".{0,20}(\ufffd|" + MOJIBAKE.pattern + r").{0,20}",
                    result.body + " | " + result.subject + " | " + " ".join(result.names),
                )
            ),
            "?",
        )
    return "ok", verdict


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--legacy", action="store_true", help="tix.inbound before mailparse")
    parser.add_argument(
        "--trimmer", default="tix", help="tix, email-reply-parser, mail-parser-reply"
    )
    parser.add_argument(
        "--show", action="append", default=[], help="list: crash lost charset inexact refused"
    )
    parser.add_argument("--memory", action="store_true", help="peak traced memory / message size")
    args = parser.parse_args(argv)
    run = legacy_adapter() if args.legacy else current_adapter(args.trimmer)
    counts, shown, ratios = Counter(), [], []
    started = time.perf_counter()
    for path in sorted(args.dir.glob("*/*.eml")):
        status, verdict = check(path, run, args.memory)
        if "peak" in verdict and path.stat().st_size > 100_000:
            ratios.append((verdict["peak"] / path.stat().st_size, path.name))
        name = f"{path.parent.name}/{path.name}"
        counts["messages"] += 1
        counts[status] += status != "ok"
        for kind in ("lost", "charset"):
            if kind in verdict:
                counts[kind] += 1
                shown.append((kind, name, verdict[kind]))
        if "exact" in verdict:
            counts["with expectation"] += 1
            counts["trimmed exactly"] += verdict["exact"]
            if not verdict["exact"]:
                shown.append(("inexact", name, ""))
        if status != "ok":
            shown.append((status, name, verdict.get(status)))
    share = counts["trimmed exactly"] / max(1, counts["with expectation"])
    print(f"messages            {counts['messages']}")
    print(f"crashes             {counts['crash']}")
    print(f"refused (cleanly)   {counts['refused']}")
    print(f"customer text lost  {counts['lost']}")
    print(f"charset damage      {counts['charset']}")
    print(
        f"trimmed exactly     {counts['trimmed exactly']}/{counts['with expectation']}"
        f" ({share:.0%})"
    )
    print(f"seconds             {time.perf_counter() - started:.1f}")
    if ratios:
        ratios.sort()
        print(
            f"memory peak/size    median {ratios[len(ratios) // 2][0]:.1f}x, "
            f"max {ratios[-1][0]:.1f}x ({ratios[-1][1]}), {len(ratios)} messages over 100 kB"
        )
    for kind, name, detail in shown:
        if kind in args.show:
            print(f"  {kind:8} {name:60} {detail!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
