"""A message read in pieces from where it is kept, never whole in memory.

A spooled message is megabytes long. Read into memory before parsing, its bytes stay there while
the email package builds its own copy of every line: a 20 MB message briefly took some 75 MB of
a worker. Given as its first bytes and a reader of pieces, the parser repairs the header section
from those first bytes and feeds the rest to the email package a piece at a time, and the
classifier looks for report types piece by piece; only rare repairs read the message whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# The longest blank line that ends a header section: CR LF CR LF.
_HEADER_END_BYTES = 4


@dataclass(frozen=True, slots=True)
class StreamedMessage:
    """A message known by its first bytes, its size and digest, and readers of the rest."""

    # At least the first ``head_bytes(limit)`` bytes of the message (all of it if shorter).
    head: bytes
    size: int
    sha256: str
    # The message's bytes from an offset to its end, in pieces.
    pieces_from: Callable[[int], Iterator[bytes]]
    # The whole message, for the repairs that need all of it.
    whole: Callable[[], bytes]

    def pieces(self) -> Iterator[bytes]:
        return self.pieces_from(0)


def head_bytes(max_header_bytes: int) -> int:
    """How many first bytes to read: enough to find the end of any header section in bounds."""
    return max_header_bytes + _HEADER_END_BYTES


def matches_in_pieces(
    pattern: re.Pattern[bytes], pieces: Iterable[bytes], longest: int
) -> Iterator[re.Match[bytes]]:
    """The matches ``pattern.finditer`` finds in ``pieces`` joined, each in a window of a few
    pieces' bytes (its positions are the window's).

    For a pattern without anchors whose every attempt reads at most ``longest`` bytes (bounded
    repeats, lookahead included): a match that starts ``longest`` bytes or more before the end
    of what has been read cannot run on into the next piece, so it is the match the whole text
    holds there; one that starts later is looked for again with the next piece.
    """
    window = b""
    start = 0
    for piece in pieces:
        window += piece
        # Where the first match not yet settled may start.
        unsettled = len(window) - longest + 1
        for match in pattern.finditer(window, start):
            if match.start() >= unsettled:
                break
            yield match
            start = match.end()
        cut = max(unsettled, 0)
        window = window[cut:]
        start = max(start - cut, 0)
    yield from pattern.finditer(window, start)


def contains_any_lowered(pieces: Iterable[bytes], needles: tuple[bytes, ...]) -> bool:
    """Whether the ASCII-lowercased bytes of ``pieces``, in order, hold one of ``needles``
    (lowercase)."""
    # Each piece searched together with the end of the one before it: a needle split between
    # two pieces is found, and a piece is never lowered whole with the rest of the message.
    overlap = max(len(needle) for needle in needles) - 1
    tail = b""
    for piece in pieces:
        window = tail + piece.lower()
        if any(needle in window for needle in needles):
            return True
        tail = window[-overlap:] if overlap else b""
    return False
