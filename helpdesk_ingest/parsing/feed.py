"""Raw bytes into the email package's message tree, fed to its parser a piece at a time.

``BytesParser.parsebytes`` first decodes the whole message into one string (twice the bytes or
more once any 8-bit byte makes it a wide string) and splits all of it into lines at once: a
message of 8 MB briefly takes about 70 MB. The same parser fed through its incremental
interface, ``BytesFeedParser``, holds one piece and the part being read instead, and builds the
same tree: it keeps an unfinished line (a CR LF split between two pieces included) for the next.

The parser drops the line break before each MIME boundary from the part above it, searching
the part's whole text for a line break at its end (``NLCRE_eol``). Python's regular expressions
cannot search from the end, so that search tries every position of the text: about a tenth of
preparing a typical message, and some 5 ms a megabyte of a large part. A match can only start
in the last two characters, so the same pattern searched from there finds the same match;
importing this module has the parser search that way.
"""

from __future__ import annotations

import email.feedparser
import re
from collections.abc import Iterable
from email.feedparser import BytesFeedParser
from email.message import Message
from email.policy import Policy
from typing import Any, TypeVar, cast

from helpdesk_ingest.parse_limits import MAX_TREE_PARTS
from helpdesk_ingest.parsing.lenient import parts_at_most

PIECE_BYTES = 64 * 1024

MessageT = TypeVar("MessageT", bound="Message[Any, Any]")

LINE_BREAK_AT_END = r"(\r\n|\r|\n)\Z"


class LineBreakAtEnd:
    """``pattern``'s search started where a match of at most two characters ending the text can
    start: the same match, found without scanning the rest of the text."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern

    def search(self, text: str) -> re.Match[str] | None:
        return self.pattern.search(text, max(len(text) - 2, 0))


def _search_line_breaks_from_the_end() -> None:
    current = getattr(email.feedparser, "NLCRE_eol", None)
    # Only the pattern this was written for: another Python's parser is left as it is.
    if isinstance(current, re.Pattern) and current.pattern == LINE_BREAK_AT_END:
        email.feedparser.NLCRE_eol = LineBreakAtEnd(current)  # type: ignore[attr-defined]


_search_line_breaks_from_the_end()


def parse_in_pieces(
    raw: bytes, policy: Policy[MessageT], piece_bytes: int = PIECE_BYTES
) -> MessageT:
    view = memoryview(raw)
    return parse_pieces(
        (bytes(view[start : start + piece_bytes]) for start in range(0, len(raw), piece_bytes)),
        policy,
    )


def parse_pieces(pieces: Iterable[bytes], policy: Policy[MessageT]) -> MessageT:
    """The tree of the message whose bytes are ``pieces`` in order."""
    parser = BytesFeedParser(policy=policy)
    with parts_at_most(MAX_TREE_PARTS):
        for piece in pieces:
            parser.feed(piece)
        # The policy's message factory makes the tree (EmailMessage for policy.default); the
        # stubs cannot follow that through the parser.
        return cast(MessageT, parser.close())
