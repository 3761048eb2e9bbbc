"""Text from mail made storable on every supported database."""

from __future__ import annotations

from typing import overload

from helpdesk_ingest.store.models import MESSAGE_ID_LENGTH


@overload
def db_text(value: str, length: int | None = None) -> str: ...
@overload
def db_text(value: None, length: int | None = None) -> None: ...
def db_text(value: str | None, length: int | None = None) -> str | None:
    """``value`` without NUL characters and at most ``length`` characters long.

    PostgreSQL refuses NUL in text and values longer than a column's limit, where SQLite would
    store both; mail can carry either, and one odd header must not keep a message from its ticket.
    """
    if value is None:
        return None
    cleaned = value.replace("\x00", "")
    return cleaned if length is None else cleaned[:length]


def stored_message_id(message_id: str) -> str:
    """A Message-ID as the articles table holds it, and as lookups must ask for it: at most
    ``MESSAGE_ID_LENGTH`` characters, and as many bytes of UTF-8.

    PostgreSQL's index on the column takes at most 2,704 bytes an entry; a Message-ID may be
    written in any script (RFC 6532), 998 characters of it up to four times as many bytes, and
    past the limit the INSERT failed (as a "program limit exceeded", which reads as an outage).
    ASCII Message-IDs are held as before.
    """
    cleaned = db_text(message_id, MESSAGE_ID_LENGTH)
    encoded = cleaned.encode("utf-8", "surrogatepass")
    if len(encoded) <= MESSAGE_ID_LENGTH:
        return cleaned
    # Cut at a character's boundary: the bytes of one cut in half are dropped.
    return encoded[:MESSAGE_ID_LENGTH].decode("utf-8", "ignore")
