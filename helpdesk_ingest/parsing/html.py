"""HTML made safe to show (nh3) and HTML made readable as text (html2text).

Images: an ``<img>`` keeps its ``src`` only when it is a ``cid:`` reference, left exactly as
written (``cid:part1@example.com``). The attachment it names carries the same Content-ID (without
angle brackets) and ``inline=True``, so the helpdesk app resolves ``cid:`` to its own attachment
URL when it renders. Every other ``src`` (http, https, data, relative) is removed, so showing a
ticket never loads anything from the network.
"""

from __future__ import annotations

import html as html_escaping
import re

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


_WHITE_SPACE = re.compile(r"\s+")


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

    def handle_data(self, data: str, entity_char: bool = False) -> None:
        # Outside <pre> the converter collapses each run of white space to one space, but only
        # after escaping markdown with patterns anchored at every line start of the text that
        # read on through the white space after it: time in the square of a run of line breaks
        # (12 KB of them took 1.4 s a pattern, 35 KB of "\r\n " 6.5 s). Collapsed first, no line
        # start is left inside a text; those the patterns found there were no line starts of
        # the output either, as the collapse joined them to the line before.
        if not self.pre:
            data = _WHITE_SPACE.sub(" ", data)
        super().handle_data(data, entity_char)

    def outtextf(self, s: str) -> None:
        # The converter's documented hook for each piece of its output.
        self._left -= len(s)
        if self._left < 0:
            raise _TextTooLong
        super().outtextf(s)


def html_to_text(html: str) -> str:
    """``html`` as readable text (markdown); for HTML nested so deep that the markdown would run
    to many times its length, its text without the markup, in a line per block.

    The converter reads the sanitized HTML, not the message's: its tokenizer (the stdlib's) takes
    time in the square of the length at each construct left open to the end (``<a b='`` repeated
    over 100 KB took 40 s), and raises on some (``<![``), while the sanitizer's output closes
    every tag and quote and escapes every other ``<``.
    """
    safe = sanitize_html(html)
    converter = _BoundedConverter(TEXT_PER_HTML_CHAR * len(safe) + TEXT_ALLOWANCE)
    try:
        return str(converter.handle(safe)).strip()
    except _TextTooLong:
        return text_without_markup(safe)


def text_without_markup(html: str) -> str:
    """The text of ``html`` without building its tree, in time linear in its length however deep
    it nests and whatever it leaves open; a line break where a block ends, scripts, styles and
    the document's head out.

    A construct left open runs to the end of the text, as in a browser: an unclosed comment or
    tag hides what follows it.
    """
    pieces: list[str] = []
    hidden = 0
    position = 0
    while (token := _TOKEN.search(html, position)) is not None:
        if position < token.start() and not hidden:
            pieces.append(html_escaping.unescape(html[position : token.start()]))
        position = token.end()
        name = (token["start"] or token["end"] or "").lower()
        if name in _RAW_TEXT and token["start"]:
            # Their content is no markup: up to their end tag, or the end of the text.
            closing = re.compile(rf"</{name}\b", re.IGNORECASE).search(html, position)
            position = closing.start() if closing else len(html)
        elif name in _HIDDEN:
            hidden = hidden + 1 if token["start"] else max(hidden - 1, 0)
        elif name in _BREAKS:
            pieces.append("\n")
    if position < len(html) and not hidden:
        pieces.append(html_escaping.unescape(html[position:]))
    return _BLANK_LINES.sub("\n\n", "".join(pieces)).strip()


# Each alternative ends at its closing mark or at the end of the text, so a match never fails
# once begun and the scan never returns to a place it has read; the possessive repeats keep
# no place to return to either (a tag left open over megabytes would otherwise hold one for
# each character).
_TOKEN = re.compile(
    r"<!--(?:-?>|.*?(?:--!?>|\Z))"  # a comment
    r"|<(?P<start>[A-Za-z][^\s/>]*+)"  # a start tag; a quote opens a value only after "="
    r"(?:[^>=]++|=\s*+\"[^\"]*+(?:\"|\Z)|=\s*+'[^']*+(?:'|\Z)|=)*+(?:>|\Z)"
    r"|</(?P<end>[A-Za-z][^\s/>]*+)[^>]*+(?:>|\Z)"  # an end tag
    r"|<[!?/][^>]*+(?:>|\Z)",  # a declaration, a processing instruction, a stray "</"
    re.DOTALL,
)
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
# Elements whose content is text, not markup, and not shown.
_RAW_TEXT = frozenset({"script", "style", "title"})
_HIDDEN = frozenset({"head"})
