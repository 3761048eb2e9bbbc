"""Raw bytes into the email package's message tree, fed to its parser a piece at a time.

``BytesParser.parsebytes`` first decodes the whole message into one string (twice the bytes or
more once any 8-bit byte makes it a wide string) and splits all of it into lines at once: a
message of 8 MB briefly takes about 70 MB. The same parser fed through its incremental
interface, ``BytesFeedParser``, holds one piece and the part being read instead, and builds the
same tree: it keeps an unfinished line (a CR LF split between two pieces included) for the next.
"""

from __future__ import annotations

from email.feedparser import BytesFeedParser
from email.message import Message
from email.policy import Policy
from typing import Any, TypeVar, cast

PIECE_BYTES = 64 * 1024

MessageT = TypeVar("MessageT", bound="Message[Any, Any]")


def parse_in_pieces(
    raw: bytes, policy: Policy[MessageT], piece_bytes: int = PIECE_BYTES
) -> MessageT:
    parser = BytesFeedParser(policy=policy)
    view = memoryview(raw)
    for start in range(0, len(raw), piece_bytes):
        parser.feed(bytes(view[start : start + piece_bytes]))
    # The policy's message factory makes the tree (EmailMessage for policy.default); the stubs
    # cannot follow that through the parser.
    return cast(MessageT, parser.close())
