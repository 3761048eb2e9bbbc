"""Everything done to a message before the database sees it: hash, parse, classify.

Self-contained (content and settings in, a picklable value out), so it can run in a worker
process while the daemon's own process stores the messages before it. A spooled message is read
here, in pieces from its file, not in the daemon, and its large attachments go back to the spool
rather than through the pipe: the daemon never holds a large message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from functools import partial
from typing import TypeVar

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.message import Attachment, ParsedMessage, ParseFailure
from helpdesk_ingest.parse_limits import ParseLimits
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.feed import PIECE_BYTES
from helpdesk_ingest.parsing.oversize import header_section
from helpdesk_ingest.parsing.streamed import StreamedMessage, head_bytes
from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings, sha256_hex
from helpdesk_ingest.spool import Content, SpooledBytes, SpoolError, size_of, write_beside

T = TypeVar("T")


def prepare(content: Content, settings: PrepareSettings) -> PreparedMessage:
    """Hash, parse and classify a message; a failure of a step is a ParseFailure, not raised.

    Raises SpoolError when a spooled message's file cannot be read: that is no fault of the
    message, which stays on the server, and the pass fails as it does when the spool cannot
    be written.
    """
    if isinstance(content, SpooledBytes):
        sha256 = _from_spool(content, content.sha256_hex)
    else:
        sha256 = sha256_hex(content)
    raw = _readable(content, sha256, settings.limits)
    parsed = parse_message(raw, settings.limits, fallback_charset=settings.fallback_charset)
    if isinstance(parsed, ParseFailure):
        return PreparedMessage(sha256, parsed, None)
    if isinstance(content, SpooledBytes):
        # Out of memory before the classifier builds its own tree of the message.
        parsed = _attachments_spooled(parsed, content, settings.spool_over_bytes)
    if size_of(content) > settings.limits.max_message_bytes:
        # The parser read only the headers; so does the classifier: a DSN or report too large
        # to parse is judged by its headers.
        first = raw.head if isinstance(raw, StreamedMessage) else raw
        raw = header_section(first, settings.limits.max_header_bytes)
    try:
        classification = classify(raw, parsed, settings.own_mail)
    except (SpoolError, MemoryError):
        # Its file could not be read: no verdict on the message, which stays on the server. Out
        # of memory: the worker's bound says why (worker_process.prepare_within_limit).
        raise
    except Exception as exc:
        # The classifier is a reading of the message like the parser: its failure is the
        # message's, kept in quarantine with the reason, not an error of the daemon.
        failure = ParseFailure("classifier-error", f"{type(exc).__name__}: {exc}"[:500])
        return PreparedMessage(sha256, failure, None)
    return PreparedMessage(sha256, parsed, classification)


def _readable(content: Content, sha256: str, limits: ParseLimits) -> bytes | StreamedMessage:
    """The message as the parser reads it: a spooled one in pieces from its file, as it is
    large, and the parser's own copy of its lines is more than enough of it in memory."""
    if isinstance(content, bytes):
        return content
    return StreamedMessage(
        head=_from_spool(content, lambda: content.head(head_bytes(limits.max_header_bytes))),
        size=content.size,
        sha256=sha256,
        pieces_from=partial(_pieces_from, content),
        whole=lambda: _from_spool(content, content.read),
    )


def _from_spool(content: SpooledBytes, read: Callable[[], T]) -> T:
    try:
        return read()
    except OSError as exc:
        raise _unreadable(content, exc) from exc


def _pieces_from(content: SpooledBytes, start: int) -> Iterator[bytes]:
    try:
        yield from content.chunks(PIECE_BYTES, start)
    except OSError as exc:
        raise _unreadable(content, exc) from exc


def _unreadable(content: SpooledBytes, exc: OSError) -> SpoolError:
    return SpoolError(f"cannot read the spooled message {content.path}: {exc.strerror or exc}")


def _attachments_spooled(
    parsed: ParsedMessage, message: SpooledBytes, over_bytes: int
) -> ParsedMessage:
    attachments = tuple(
        _spooled(attachment, message) if attachment.size > over_bytes else attachment
        for attachment in parsed.attachments
    )
    return dataclasses.replace(parsed, attachments=attachments)


def _spooled(attachment: Attachment, message: SpooledBytes) -> Attachment:
    if not isinstance(attachment.content, bytes):
        return attachment
    try:
        return dataclasses.replace(attachment, content=write_beside(message, attachment.content))
    except OSError:
        # A full disk costs memory here, not the message: the bytes cross to the daemon.
        return attachment
