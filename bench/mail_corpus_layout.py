"""Lay out a corpus of real-world mail from public mail-parsing test suites, for
`python -m bench.mail_corpus DIR`. Nothing it writes belongs in this repository.

    python -m bench.mail_corpus_layout --repos REPOS DIR

REPOS holds one git repository per source, as a checkout or a bare clone, at
REPOS/<owner>+<name>/repo, REPOS/<owner>+<name> or REPOS/<owner>/<name> (see SOURCES). Missing
ones are skipped. Each file is read from the repository's HEAD commit (`git show`).

DIR/<source>/<name>.eml is one message. Reply-parser suites keep their fixtures as bare bodies;
those are wrapped in a minimal text/plain (or text/html) message. What the suite's own tests say
about the reply is written beside it:

    <name>.expected.txt     the reply text exactly (compared line by line, blank runs folded)
    <name>.expected-ws.txt  the same, compared with all whitespace removed (talon's HTML tests)
    <name>.keep.txt         snippets the reply must keep, one per line

The expectations are read out of the suites' test code with patterns (`EXPECT_*` below): only
assertions about the *first* or *visible* text of one fixture are taken; the rest are skipped.
A fixture already laid out by an earlier source (same bytes) is not written twice.
"""

import argparse
import hashlib
import itertools
import re
import subprocess
import sys
from pathlib import Path

# (source dir, repository, what to take). "eml": messages as they are, by path pattern.
SOURCES = [
    ("talon", "mailgun/talon", "talon"),
    ("crisp", "crisp-oss/email-reply-parser", "crisp"),
    ("willdurand", "willdurand/EmailReplyParser", "willdurand"),
    ("zapier", "zapier/email-reply-parser", "zapier"),
    ("github", "github/email_reply_parser", "github"),
    ("mailparser-reply", "alfonsrv/mail-parser-reply", "alfonsrv"),
    ("mikel-mail", "mikel/mail", r"eml:^spec/fixtures/emails/.+\.eml$"),
    ("stalwart", "stalwartlabs/mail-parser", r"eml:^resources/eml/[^/]+/[^/]+\.eml$"),
    ("spamscope", "SpamScope/mail-parser", r"eml:^tests/mails/[^/]+$"),
    ("flanker", "mailgun/flanker", r"eml:^tests/fixtures/messages/(?!dkim/)(.+/)?[^/]+\.eml$"),
    ("nodemailer", "nodemailer/mailparser", r"eml:^test/fixtures/[^/]+\.eml$"),
    ("mimekit", "jstedfast/MimeKit", r"eml:^UnitTests/TestData/messages/[^/]+$"),
    ("notmuch", "notmuch/notmuch", r"eml:^test/corpora/(default|lkml)/cur/[^/]+$"),
    ("cpython", "python/cpython", r"eml:^Lib/test/test_email/data/msg_\d+a?\.txt$"),
]

WRAP = (
    "From: Customer <customer@corpus.invalid>\nTo: support@corpus.invalid\n"
    "Subject: Re: {name}\nMessage-ID: <{name}@corpus.invalid>\nMIME-Version: 1.0\n"
    "Content-Type: text/{subtype}; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
)


class Repo:
    def __init__(self, path: Path):
        self.path = path

    def files(self) -> list[str]:
        out = subprocess.run(
            ["git", "-C", str(self.path), "ls-tree", "-r", "--name-only", "HEAD"],
            capture_output=True,
            check=True,
        )
        return out.stdout.decode("utf-8", "surrogateescape").splitlines()

    def read(self, path: str) -> bytes:
        out = subprocess.run(
            ["git", "-C", str(self.path), "show", f"HEAD:{path}"], capture_output=True
        )
        return out.stdout if out.returncode == 0 else b""

    def text(self, path: str) -> str:
        return self.read(path).decode("utf-8", "replace")


def find_repo(root: Path, name: str) -> Repo | None:
    owner, repo = name.split("/")
    for candidate in (root / f"{owner}+{repo}" / "repo", root / f"{owner}+{repo}", root / name):
        if candidate.exists():
            return Repo(candidate)
    return None


# -- reading expectations out of test code ----------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/"}
# One string literal: "..." or '...' (escapes as in JS/PHP/Python/Ruby double quotes), or a
# PHP heredoc. COMMON names the suite's shared constant.
LITERAL = r"""(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|<<<(?P<tag>\w+)\n.*?\n(?P=tag)|COMMON_FIRST_FRAGMENT|static::COMMON_FIRST_FRAGMENT)"""
# What the first or visible text of a parsed fixture is called in each suite.
FIRST = r"""(?P<what>fragments\[0\](?:\.toString\(\))?(?:\.trim\(\))?|trim\(\$fragments\[0\]\)|\(string\)\s*\$fragments\[0\]|reply\.fragments\[0\]\.to_s|getVisibleText\(\)(?:\.trim\(\))?|parseReply\([^)]*\)|parse_reply\([^)]*\)|message\.reply(?:\.strip\(\))?|mail\.replies\[0\]\.body|mail\.latest_reply|\btext\b|\breply\b)(?=\s*(?:[,)]|$))"""
EXPECT_EQUAL = re.compile(
    rf"""(?:assertEquals?|test\.equal|assert_equal)\(?\s*(?P<val>{LITERAL})\s*,\s*(?:\$?\w+(?:->|\.|::))*{FIRST}""",
    re.S | re.M,
)
EXPECT_EQUAL_REV = re.compile(rf"""assertEqual\(\s*{FIRST}\s*,\s*(?P<val>{LITERAL})\s*\)""", re.S)
EXPECT_IS = re.compile(rf"""assertTrue\(\s*(?P<val>{LITERAL})\s*==\s*{FIRST}\s*\)""", re.S)
_RX = r"/\^?(?P<rx>(?:[^/\\\n]|\\.)+)/"
# A check that the first fragment contains a literal, or matches a regex that is one.
EXPECT_KEEP = [
    re.compile(rf"""assertTrue\(\s*(?P<lit>{LITERAL})\s+in\s+{FIRST}\s*\)""", re.S),
    re.compile(rf"""{_RX}\.test\((?:\w+\.)?fragments\[0\]"""),
    re.compile(rf"""assert_match\(?\s*{_RX}\s*,\s*reply\.fragments\[0\]"""),
    re.compile(rf"""assertMatchesRegularExpression\('{_RX}',\s*\(string\)\s*\$fragments\[0\]"""),
]
FIXTURE = re.compile(
    r"""(?:get_email|getFixtures|email|join|open)\(\s*[:'"](?:test/emails/)?([\w.-]+?)(?:\.txt)?['")]"""
)
BLOCK = re.compile(r"^\s*(?:export\s+)?(?:public\s+)?(?:function|def)\s+\w+", re.M)


def literal_value(token: str, constants: dict) -> str | None:
    if token.endswith("COMMON_FIRST_FRAGMENT"):
        return constants.get("COMMON_FIRST_FRAGMENT")
    if token.startswith("<<<"):
        return token.split("\n", 1)[1].rsplit("\n", 1)[0]
    body = token[1:-1]
    if token[0] == "'" and not token.endswith("'"):
        return None
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), body)


def regex_snippet(pattern: str) -> str | None:
    """A regex from a `/^X/.test(...)` check as the literal text it looks for, if it is one."""
    text = re.sub(r"\\(.)", r"\1", pattern)
    return None if re.search(r"[\[\](){}*+?|$^]", text) or "\\n" in pattern else text


def constants_of(source: str) -> dict:
    found = {}
    match = re.search(r"""COMMON_FIRST_FRAGMENT\s*=\s*'((?:[^'\\]|\\.)*)'""", source, re.S)
    if match:
        # JS writes it as '...\n\<newline>...' (an escape, then a line continuation); PHP
        # as a plain multi-line string.
        text = match[1].replace("\\\n", "").replace("\\n", "\n")
        found["COMMON_FIRST_FRAGMENT"] = text
    return found


def expectations(source: str) -> dict[str, dict]:
    """{fixture: {"expected": text or None, "keep": [snippets]}} from one test file."""
    constants = constants_of(source)
    starts = [m.start() for m in BLOCK.finditer(source)] + [len(source)]
    found: dict[str, dict] = {}
    for begin, end in itertools.pairwise(starts):
        block = source[begin:end]
        names = {n for n in FIXTURE.findall(block) if not n.startswith(("EMAIL", "http"))}
        if len(names) != 1 or "str_replace" in block or re.search(r"set\w*Regex", block):
            continue  # several fixtures, or one the test rewrites first: nothing certain
        entry = found.setdefault(names.pop(), {"expected": None, "rank": 9, "keep": []})
        for pattern in (EXPECT_EQUAL, EXPECT_EQUAL_REV, EXPECT_IS):
            for match in pattern.finditer(block):
                value = literal_value(match["val"], constants)
                # The visible text says more than the first fragment (a bottom post has more).
                rank = 1 if "fragments[0]" in match["what"] else 0
                if rank and re.search(r"fragments\[[2-9]\]", block):
                    continue  # later fragments matter to this test: the first is not the reply
                if value is not None and (entry["expected"] is None or rank < entry["rank"]):
                    entry["expected"], entry["rank"] = value, rank
        for match in (m for pattern in EXPECT_KEEP for m in pattern.finditer(block)):
            groups = match.groupdict()
            if groups.get("lit"):
                value = literal_value(groups["lit"], constants)
            else:
                value = regex_snippet(groups["rx"])
            if value and value.strip():
                entry["keep"].append(value.strip())
    return found


# -- writing the corpus ------------------------------------------------------------------------


class Writer:
    def __init__(self, root: Path):
        self.root, self.seen, self.counts, self.ranks = root, {}, {}, {}

    def message(self, source: str, name: str, raw: bytes, expect: dict | None = None) -> None:
        """Write one message; the same bytes again only add what the first had no word on."""
        digest = hashlib.sha256(raw).hexdigest()
        if not raw.strip():
            return
        stem = self.seen.get(digest)
        if stem is None:
            stem = self.root / source / re.sub(r"[^\w.-]+", "_", name)
            stem.parent.mkdir(parents=True, exist_ok=True)
            stem.with_name(stem.name + ".eml").write_bytes(raw)
            self.seen[digest] = stem
            self.counts[source] = self.counts.get(source, 0) + 1
        expect = expect or {}
        rank = expect.get("rank", 0)
        for key, suffix in (("expected", ".expected.txt"), ("expected_ws", ".expected-ws.txt")):
            target = stem.with_name(stem.name + suffix)
            if expect.get(key) is not None and rank < self.ranks.get(target, 99):
                target.write_text(expect[key], encoding="utf-8")
                self.ranks[target] = rank
        keep = stem.with_name(stem.name + ".keep.txt")
        if expect.get("keep") and not keep.exists():
            keep.write_text("\n".join(expect["keep"]), encoding="utf-8")


def wrap(name: str, body: bytes, subtype: str = "plain") -> bytes:
    return WRAP.format(name=name, subtype=subtype).encode() + body


def reply_suite(writer, source, repo, fixtures: str, tests: list[str]) -> None:
    found: dict[str, dict] = {}
    for test in tests:
        for name, entry in expectations(repo.text(test)).items():
            if name not in found or entry["rank"] < found[name]["rank"]:
                found[name] = entry
    for path in repo.files():
        if re.fullmatch(fixtures, path):
            name = Path(path).stem
            writer.message(source, name, wrap(name, repo.read(path)), found.get(name))


def talon(writer, source, repo) -> None:
    base = "tests/fixtures/standard_replies/"
    for path in repo.files():
        if path.startswith(base) and path.endswith(".eml"):
            reply = repo.text(path[:-4] + "_reply_text").strip() or "Hello"  # as its test says
            writer.message(source, Path(path).stem, repo.read(path), {"expected": reply})
    # The HTML replies: the test compares "Hi. I am fine. Thanks, Alex" without whitespace.
    test = repo.text("tests/html_quotations_test.py")
    match = re.search(r"""eq_\(RE_WHITESPACE\.sub\('', ("[^"]*")\),\s*RE_WHITESPACE""", test)
    expected = literal_value(match[1], {}) if match else None
    for name in re.findall(
        r"extract_reply_and_check\(\"tests/fixtures/html_replies/(\w+)\.html", test
    ):
        html = repo.read(f"tests/fixtures/html_replies/{name}.html")
        writer.message(
            source, f"html_{name}", wrap(f"html_{name}", html, "html"), {"expected_ws": expected}
        )


SUITES = {
    "talon": talon,
    "crisp": lambda w, s, r: reply_suite(w, s, r, r"test/fixtures/[\w-]+\.txt", ["test/test.js"]),
    "willdurand": lambda w, s, r: reply_suite(
        w,
        s,
        r,
        r"tests/Fixtures/[\w-]+\.txt",
        [
            "tests/EmailReplyParser/Tests/EmailReplyParserTest.php",
            "tests/EmailReplyParser/Tests/Parser/EmailParserTest.php",
        ],
    ),
    "alfonsrv": lambda w, s, r: reply_suite(
        w, s, r, r"test/emails/[\w-]+\.txt", ["test/test_email_reply_parser.py"]
    ),
    "zapier": lambda w, s, r: reply_suite(
        w, s, r, r"test/emails/[\w-]+\.txt", ["test/test_email_reply_parser.py"]
    ),
    "github": lambda w, s, r: reply_suite(
        w, s, r, r"test/emails/[\w-]+\.txt", ["test/email_reply_parser_test.rb"]
    ),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", required=True, type=Path, help="where the repositories are")
    parser.add_argument("dir", type=Path, help="the corpus directory to write")
    args = parser.parse_args(argv)
    writer = Writer(args.dir)
    for source, name, what in SOURCES:
        repo = find_repo(args.repos, name)
        if repo is None:
            print(f"{source}: {name} not found under {args.repos}, skipped", file=sys.stderr)
            continue
        if what.startswith("eml:"):
            pattern = re.compile(what[4:])
            for path in repo.files():
                if pattern.search(path) and not path.endswith((".json", ".md", "README")):
                    stem = path.rsplit("/", 2)
                    writer.message(source, "_".join(stem[-2:]), repo.read(path))
        else:
            SUITES[what](writer, source, repo)
    for source, count in writer.counts.items():
        print(f"{source:18} {count:4} messages")
    print(f"{'total':18} {sum(writer.counts.values()):4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
