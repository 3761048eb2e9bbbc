"""HTML made safe to show (nh3) and HTML made readable as text (html2text).

Images: an ``<img>`` keeps its ``src`` only when it is a ``cid:`` reference, left exactly as
written (``cid:part1@example.com``). The attachment it names carries the same Content-ID (without
angle brackets) and ``inline=True``, so the helpdesk app resolves ``cid:`` to its own attachment
URL when it renders. Every other ``src`` (http, https, data, relative) is removed, so showing a
ticket never loads anything from the network.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import html2text
import nh3

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
# Removed with what they hold: code, and a document's title, which no mail client shows in the
# body either (a stripped <title> would leave its text at the top of the ticket).
_DROPPED_WITH_CONTENT = {"script", "style", "title"}


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    # Images load only from the message itself (cid:), never from the network: a remote image is
    # a tracking beacon and leaks that an agent opened the ticket.
    if element == "img" and attribute == "src":
        return value if value.lower().startswith("cid:") else None
    return value


def sanitize_html(html: str) -> str:
    """No scripts, no event handlers, no styles that run code, no remote content."""
    return nh3.clean(
        html,
        url_schemes=_URL_SCHEMES,
        attribute_filter=_keep_attribute,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# Text made of HTML is shorter than the HTML but for what markdown adds: a bullet, a quote mark
# and two spaces of indent per level of nesting, on every line. Nested deeply, that is the depth
# times the lines: 5,000 nested list items, 40 KB of HTML, made 25 MB of text.
TEXT_PER_HTML_CHAR = 2
TEXT_ALLOWANCE = 64 * 1024


class _TextTooLong(Exception):
    pass


class _BoundedConverter(html2text.HTML2Text):
    """html2text's converter, stopping once its text is longer than ``budget`` characters."""

    def __init__(self, budget: int) -> None:
        super().__init__()
        self._left = budget
        self.body_width = 0
        self.ignore_images = True
        self.ignore_emphasis = True
        self.protect_links = True

    def outtextf(self, s: str) -> None:
        # The converter's documented hook for each piece of its output.
        self._left -= len(s)
        if self._left < 0:
            raise _TextTooLong
        super().outtextf(s)


def html_to_text(html: str) -> str:
    """``html`` as readable text (markdown); for HTML nested so deep that the markdown would run
    to many times its length, its text without the markup, in a line per block."""
    converter = _BoundedConverter(TEXT_PER_HTML_CHAR * len(html) + TEXT_ALLOWANCE)
    try:
        return str(converter.handle(html)).strip()
    except _TextTooLong:
        return text_without_markup(html)


def text_without_markup(html: str) -> str:
    """The text of ``html`` without building its tree: the stdlib's tokenizer, in time linear in
    its length however deep it nests; a line break where a block ends, scripts and styles out."""
    reader = _TextReader()
    reader.feed(html)
    reader.close()
    return _BLANK_LINES.sub("\n\n", "".join(reader.pieces)).strip()


_BLANK_LINES = re.compile(r"[ \t]*\n\s*\n\s*")
_BREAKS = frozenset(
    [
        "br",
        "p",
        "div",
        "li",
        "tr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "hr",
        "section",
    ]
)
_HIDDEN = frozenset({"script", "style", "head", "title"})


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BREAKS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BREAKS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.pieces.append(data)
