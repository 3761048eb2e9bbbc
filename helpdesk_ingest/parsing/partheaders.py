"""The headers of one MIME part that name it: file name and Content-ID, read leniently."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message

from helpdesk_ingest.parsing.headers import NOTHING_DECLARED, Undeclared, decode_words
from helpdesk_ingest.parsing.lenient import LenientMessage
from helpdesk_ingest.parsing.text import repair_surrogates

_NAMING_HEADERS = ("content-disposition", "content-type")


def _has_raw_8bit(value: str) -> bool:
    return not value.isascii()


def _lenient_filename(part: Message, charsets: Sequence[str]) -> str | None:
    """The file name from headers that carry raw 8-bit bytes, decoded in ``charsets``; encoded
    words are left in it."""
    reparsed = LenientMessage()
    for key, value in part.raw_items():
        if key.lower() in _NAMING_HEADERS:
            reparsed[key] = repair_surrogates(str(value), charsets)
    name = reparsed.get_filename()
    return str(name) if name else None


def filename(part: Message, undeclared: Undeclared = NOTHING_DECLARED) -> str | None:
    """The decoded file name a part was sent with, or None.

    ``undeclared`` gives the charsets the message declares and the fallback charset: they read
    a name sent as raw 8-bit bytes (asked only then, as finding them means reading the whole
    message) and an encoded word whose label names no charset.
    """
    raw = [str(value) for key, value in part.raw_items() if key.lower() in _NAMING_HEADERS]
    try:
        if any(_has_raw_8bit(value) for value in raw):
            charset = part.get_content_charset()
            declared = [*undeclared.declared(), undeclared.fallback]
            name = _lenient_filename(part, [charset, *declared] if charset else declared)
        elif any("=?" in value for value in raw):
            # The header registry would decode an encoded word itself, into replacement
            # characters when its label names no charset (``unknown-8bit``): kept as written,
            # it is read below as the message's other text without a label.
            name = _lenient_filename(part, ())
        else:
            found = part.get_filename()
            name = str(found) if found else None
    except Exception:
        return None
    # Keep the white space of a file name as sent; only undo header folding.
    return decode_words(name, squash=False, undeclared=undeclared) if name else None


def content_id(part: Message) -> str | None:
    value = part.get("Content-ID")
    if not value:
        return None
    return str(value).strip().strip("<>").strip() or None
