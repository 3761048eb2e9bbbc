"""The headers of one MIME part that name it: file name and Content-ID, read leniently."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from email.message import Message

from helpdesk_ingest.parsing.headers import decode_words
from helpdesk_ingest.parsing.text import repair_surrogates

_NAMING_HEADERS = ("content-disposition", "content-type")


def _has_raw_8bit(value: str) -> bool:
    return not value.isascii()


def _lenient_filename(part: Message, charsets: Sequence[str]) -> str | None:
    """The file name from headers that carry raw 8-bit bytes, decoded in ``charsets``."""
    reparsed = Message()
    for key, value in part.raw_items():
        if key.lower() in _NAMING_HEADERS:
            reparsed[key] = repair_surrogates(str(value), charsets)
    name = reparsed.get_filename()
    return str(name) if name else None


def filename(part: Message, charsets: Callable[[], Sequence[str]] = tuple) -> str | None:
    """The decoded file name a part was sent with, or None.

    ``charsets`` gives the charsets the message declares; it is asked only for a name sent as
    raw 8-bit bytes, as finding them means reading the whole message.
    """
    raw = [str(value) for key, value in part.raw_items() if key.lower() in _NAMING_HEADERS]
    try:
        if any(_has_raw_8bit(value) for value in raw):
            charset = part.get_content_charset()
            declared = charsets()
            name = _lenient_filename(part, [charset, *declared] if charset else declared)
        else:
            found = part.get_filename()
            name = str(found) if found else None
    except Exception:
        return None
    # Keep the white space of a file name as sent; only undo header folding.
    return decode_words(name, squash=False) if name else None


def content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    if not value:
        return None
    return str(value).strip().strip("<>").strip() or None
