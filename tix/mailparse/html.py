"""HTML mail as plain text, the way a reader sees it.

Whitespace in the source collapses as a browser collapses it (Outlook breaks its source lines
anywhere, even between "From:" and the name); block elements break lines; <blockquote> content
comes out as "> " lines, so one trimming rule (tix/quotes.py) serves HTML and plain replies, and
a forwarded message keeps its text.
"""

import re
from html.parser import HTMLParser

_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def _read(html: str, skip: set) -> "_HtmlText":
    parser = _HtmlText(skip)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # the parser gives up on some broken markup: keep what it read
        pass
    parser._flush()
    return parser


class _HtmlText(HTMLParser):
    SKIP = {"style", "script", "head", "title", "template", "xml"}
    BREAK = {
        "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table",
        "ul", "ol", "dl", "dt", "dd", "pre", "address", "section", "article", "header",
        "footer", "center",
    }  # fmt: skip

    def __init__(self, skip: set):
        super().__init__(convert_charrefs=True)
        self.skip = skip
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.depth = self.line_depth = self.skipping = self.pre = 0

    def _flush(self) -> None:
        self.lines.append((self.line_depth, "".join(self.current)))
        self.current = []
        self.line_depth = self.depth

    def handle_starttag(self, tag, attrs):
        if tag in self.skip:
            self.skipping += 1
        elif tag == "blockquote":
            self._flush()
            self.depth += 1
            self.line_depth = self.depth
        elif tag in self.BREAK:
            self._flush()
            self.pre += tag == "pre"
        elif tag == "td" or tag == "th":
            self.current.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BREAK:
            self._flush()

    def handle_endtag(self, tag):
        if tag in self.skip:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self._flush()
            self.depth = max(0, self.depth - 1)
            self.line_depth = self.depth
        elif tag in self.BREAK and tag != "br":
            self._flush()
            self.pre = max(0, self.pre - (tag == "pre"))

    def handle_data(self, data):
        if self.skipping:
            return
        if self.pre:
            first, *rest = data.split("\n")
            self.current.append(first)
            for line in rest:
                self._flush()
                self.current.append(line)
            return
        if not self.current:
            self.line_depth = self.depth
        self.current.append(_SPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """The text of an HTML body; quoted (<blockquote>) lines start with "> "."""
    parser = _read(html, _HtmlText.SKIP)
    if not any(text.strip() for _, text in parser.lines):
        parser = _read(html, {"style", "script"})  # all in a <title> or <head>: show that
    lines = []
    for depth, text in parser.lines:
        text = re.sub(r"[ \t\xa0\u200b]+", " ", text).strip()
        lines.append("> " * depth + text if text else ">" * depth)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
