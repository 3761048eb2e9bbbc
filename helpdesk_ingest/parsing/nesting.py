"""How much building an HTML part's tree costs, estimated before anything builds it.

The HTML5 tree builder under nh3 (html5ever), at the start tag of each block element (div, ul,
li, blockquote, p...), looks through the elements open around it, so its time grows with the
square of the nesting: 40,000 nested list items, 320 KB of HTML, took 15 s to sanitize, and a
25 MB part built that way would take hours. Past a budget a message's HTML is read as plain text
instead (``parts``). The estimate is the sum, over the block elements' start tags, of the
elements open around each, from a scan of the tags alone: it overcounts (an element left
unclosed stays open), which matters only far beyond what real mail holds.
"""

from __future__ import annotations

import re

# Past this much estimated work in one message, its HTML parts are read as plain text. The tree
# builder takes about 4 to 7 ns a unit: 0.04 to 0.07 s of CPU. Real mail stays far below: a
# newsletter of 20,000 block elements at an average depth of 25 is 500,000.
MAX_TREE_WORK = 10_000_000
# With this many tags or fewer a part's work is at most n * (n - 1) / 2, 500,000, a few ms of
# the builder: not scanned (scanning every part took 1.5% of parsing the typical mix). Even
# max_parts (500) such parts nested as deep as they can cost the builder a couple of seconds.
FEW_TAGS = 1000

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)([^<>]*)>")
# Elements that never hold others.
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Elements a sibling closes (a new <li> ends the one before): counted as open, a list written
# without end tags would pass for a deep one.
_CLOSED_BY_SIBLINGS = frozenset(
    [
        "li",
        "p",
        "td",
        "th",
        "tr",
        "dt",
        "dd",
        "option",
        "optgroup",
        "thead",
        "tbody",
        "tfoot",
        "caption",
        "colgroup",
        "rb",
        "rt",
        "rp",
    ]
)
# The start tags at which the HTML5 tree builder looks for an open <p> to close (its "in body"
# insertion mode): the ones whose cost grows with the nesting.
_LOOKS_THROUGH_OPEN = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "li",
        "dd",
        "dt",
        "listing",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "plaintext",
        "pre",
        "search",
        "section",
        "summary",
        "table",
        "ul",
        "xmp",
    ]
)


def tree_work(html: str) -> int:
    """The estimated work of building ``html``'s tree; 0 for a part of FEW_TAGS tags or fewer."""
    if html.count("<") <= FEW_TAGS:
        return 0
    open_elements = 0
    work = 0
    for tag in _TAG.finditer(html):
        name = tag[2].lower()
        nests = name not in _VOID and name not in _CLOSED_BY_SIBLINGS
        if tag[1]:
            if nests and open_elements:
                open_elements -= 1
            continue
        if name in _LOOKS_THROUGH_OPEN:
            work += open_elements
        if nests and not tag[3].endswith("/"):
            open_elements += 1
    return work
