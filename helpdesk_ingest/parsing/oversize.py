"""Messages over a size limit: a ticket from the headers alone, saying what happened.

Nothing of such a message is lost: the poller stores its raw bytes as they came, and the ticket
tells the agent why the text and files are not shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OVER_SIZE_LIMIT = "over-size-limit"
HEADER_TOO_LARGE = "header-too-large"
# One search for the first of the three, which stops at the end of the header section, rather
# than one search each, of which those not used by the message read all of it.
BLANK_LINE = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True, slots=True)
class Oversize:
    """Why only the headers are read: the defect to record and the body text to show."""

    defect: str
    note: str


def header_section_size(raw: bytes) -> int:
    """Bytes before the blank line that ends the header section (all of ``raw`` without one)."""
    blank_line = BLANK_LINE.search(raw)
    return blank_line.start() if blank_line else len(raw)


def header_section(raw: bytes, limit: int) -> bytes:
    """The header section of ``raw``, cut after the last whole line within ``limit`` bytes."""
    section = raw[: header_section_size(raw)]
    if len(section) <= limit:
        return section
    cut = max(section.rfind(b"\n", 0, limit), section.rfind(b"\r", 0, limit))
    return section[: cut if cut > 0 else limit]


def human_size(size: int) -> str:
    """``43_000_000`` as ``41 MB``; binary units, as mail clients show sizes."""
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            value = f"{size / scale:.1f}".removesuffix(".0")
            return f"{value} {unit}"
    return f"{size} bytes"


def message_too_large(size: int, limit: int) -> Oversize:
    return Oversize(
        OVER_SIZE_LIMIT,
        f"This message is {human_size(size)}, over the {human_size(limit)} limit; "
        "its raw bytes are kept; ask an operator.",
    )


def headers_too_large(size: int, limit: int) -> Oversize:
    return Oversize(
        HEADER_TOO_LARGE,
        f"The header section of this message is {human_size(size)}, over the "
        f"{human_size(limit)} limit; only the headers within the limit were read and the body "
        "was not; its raw bytes are kept; ask an operator.",
    )
