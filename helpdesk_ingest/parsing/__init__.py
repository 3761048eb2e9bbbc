"""MIME bytes to a ParsedMessage: pure (no I/O, no clock), and it never raises for bad input."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy
from functools import cache
from itertools import chain

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET
from helpdesk_ingest.message import Address, ParsedMessage, ParseFailure
from helpdesk_ingest.parse_limits import MAX_TREE_PARTS, ParseLimits
from helpdesk_ingest.parsing.body import BodyPiece, body_html, body_text
from helpdesk_ingest.parsing.defects import defect_names
from helpdesk_ingest.parsing.feed import parse_in_pieces, parse_pieces
from helpdesk_ingest.parsing.headers import (
    Undeclared,
    addresses,
    all_headers,
    header_text,
    message_ids,
    parse_date,
)
from helpdesk_ingest.parsing.lenient import TreeTooLarge
from helpdesk_ingest.parsing.oversize import (
    BLANK_LINE,
    Oversize,
    header_section,
    header_section_size,
    headers_too_large,
    message_too_large,
)
from helpdesk_ingest.parsing.parts import Collected, collect
from helpdesk_ingest.parsing.policy import PARSE_ONCE
from helpdesk_ingest.parsing.rawheaders import (
    HEADER_END,
    declared_charsets,
    header_charsets,
    repair_head,
    repair_header_section,
)
from helpdesk_ingest.parsing.reply import split_reply
from helpdesk_ingest.parsing.streamed import StreamedMessage
from helpdesk_ingest.spool import SpoolError

__all__ = ["ParseLimits", "StreamedMessage", "parse_message", "parse_oversized"]

SYNTHETIC_ID_DOMAIN = "helpdesk-ingest.invalid"
_DEFAULT_LIMITS = ParseLimits()
# "From sender@host date", unlike an obsolete-syntax "From : name" header.
_MBOX_FROM_LINE = re.compile(rb"From [^\s:]")


def parse_message(
    raw: bytes | StreamedMessage,
    limits: ParseLimits | None = None,
    *,
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET,
) -> ParsedMessage | ParseFailure:
    """What ``raw`` says; a ParseFailure (for quarantine) when it cannot be a message.

    ``fallback_charset`` (a Python codec name) reads 8-bit bytes nothing in the message
    declares a charset for, where they are too few to detect one (``text.decode_bytes``).

    Over ``max_message_bytes`` or ``max_header_bytes``, only the headers are read: the result is
    a message whose body says what happened, with the defect ``over-size-limit`` or
    ``header-too-large``.
    """
    limits = limits or _DEFAULT_LIMITS
    if isinstance(raw, StreamedMessage):
        return _parse_streamed(raw, limits, fallback_charset)
    if not raw.strip():
        return ParseFailure("unparseable", "the message is empty")
    headers_size = header_section_size(raw)
    if headers_size > limits.max_header_bytes:
        oversize = headers_too_large(headers_size, limits.max_header_bytes)
        section = header_section(raw, limits.max_header_bytes)
        return _guarded(lambda: _parse(section, limits, oversize, raw, fallback_charset))
    if len(raw) > limits.max_message_bytes:
        return parse_oversized(
            raw[:headers_size], len(raw), limits, fallback_charset=fallback_charset
        )
    return _guarded(lambda: _parse(raw, limits, None, raw, fallback_charset))


def parse_oversized(
    headers: bytes,
    size: int,
    limits: ParseLimits | None = None,
    *,
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET,
) -> ParsedMessage | ParseFailure:
    """A message of ``size`` bytes known only by its ``headers`` (for example from POP3 TOP n 0)."""
    limits = limits or _DEFAULT_LIMITS
    section = header_section(headers, limits.max_header_bytes)
    oversize = message_too_large(size, limits.max_message_bytes)
    return _guarded(lambda: _parse(section, limits, oversize, headers, fallback_charset))


def _parse_streamed(
    message: StreamedMessage, limits: ParseLimits, fallback: str
) -> ParsedMessage | ParseFailure:
    """The message read in pieces, as ``parse_message`` reads the same bytes whole.

    What the first bytes cannot settle (no header section ending in them, an mbox separator
    line, line breaks of lone CRs, nothing but white space) is rare, and read whole.
    """
    head = message.head
    # The first blank line in the first bytes is the message's first: an earlier match would
    # have to run past the end of ``head``, so start in its last three bytes, before the one
    # found, which these patterns' line breaks cannot (the tests cut messages everywhere).
    blank_line = BLANK_LINE.search(head)
    header_end = HEADER_END.search(head)
    if (
        blank_line is None
        or header_end is None
        or blank_line.start() > limits.max_header_bytes
        or not head.strip()
        or _MBOX_FROM_LINE.match(head)
    ):
        return parse_message(message.whole(), limits, fallback_charset=fallback)
    if message.size > limits.max_message_bytes:
        return parse_oversized(
            head[: blank_line.start()], message.size, limits, fallback_charset=fallback
        )
    return _guarded(lambda: _parse_pieces(message, header_end.start(), limits, fallback))


def _parse_pieces(
    message: StreamedMessage, split: int, limits: ParseLimits, fallback: str
) -> ParsedMessage | ParseFailure:
    # Found once, for 8-bit bytes in the header section and in the parts both.
    declared = cache(lambda: declared_charsets(message.pieces()))
    repaired_head, defects = repair_head(
        message.head[:split], lambda: header_charsets(declared(), fallback)
    )
    pieces = chain((repaired_head,), message.pieces_from(split))
    return _parse_tree(
        lambda policy: parse_pieces(pieces, policy),
        repaired_head,
        defects,
        limits,
        declared,
        lambda: message.sha256,
        fallback,
    )


def _guarded(parse: Callable[[], ParsedMessage | ParseFailure]) -> ParsedMessage | ParseFailure:
    try:
        return parse()
    except (SpoolError, MemoryError):
        # The file of a message read in pieces failed, not the message: nothing to quarantine.
        # Out of memory, the worker's bound says why (worker_process.prepare_within_limit).
        raise
    except Exception as exc:
        return ParseFailure("parser-error", f"{type(exc).__name__}: {exc}"[:500])


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sender(senders: tuple[Address, ...]) -> Address | None:
    # Of several From addresses, the first that can be answered; else the first at all.
    return next((address for address in senders if "@" in address.email), None) or (
        senders[0] if senders else None
    )


def _normalised(raw: bytes, charsets: Callable[[], list[str]]) -> tuple[bytes, list[str]]:
    if _MBOX_FROM_LINE.match(raw) and b"\n" in raw:
        # An mbox separator line is not a header; drop it as mail clients do.
        raw = raw.split(b"\n", 1)[1]
    if b"\r" in raw and b"\n" not in raw:
        raw = raw.replace(b"\r", b"\n")
    return repair_header_section(raw, charsets)


def _parse(
    raw: bytes, limits: ParseLimits, oversize: Oversize | None, identity: bytes, fallback: str
) -> ParsedMessage | ParseFailure:
    # Found once, for 8-bit bytes in the header section and in the parts both.
    declared = cache(lambda: declared_charsets((raw,)))
    repaired, defects = _normalised(raw, lambda: header_charsets(declared(), fallback))
    if oversize is not None:
        message = BytesParser(policy=PARSE_ONCE).parsebytes(repaired, headersonly=True)
        collected = Collected(pieces=[BodyPiece(plain=oversize.note)], defects=[oversize.defect])
        return _parsed_message(
            message,
            collected,
            defects,
            lambda: _sha256_hex(identity),
            Undeclared(declared, fallback),
        )
    return _parse_tree(
        lambda policy: parse_in_pieces(repaired, policy),
        repaired,
        defects,
        limits,
        declared,
        lambda: _sha256_hex(identity),
        fallback,
    )


def _parse_tree(
    tree: Callable[[Policy[EmailMessage]], EmailMessage],
    headers: bytes,
    defects: list[str],
    limits: ParseLimits,
    charsets: Callable[[], list[str]],
    identity: Callable[[], str],
    fallback: str,
) -> ParsedMessage | ParseFailure:
    """The message from the tree ``tree`` builds of its repaired bytes. ``charsets`` gives the
    charsets the message declares (``declared_charsets``, found once and kept), for a part's
    8-bit header bytes and for short text without a label; ``headers`` holds at least its
    header section, all that is read of a tree too deep to build."""
    policy = PARSE_ONCE
    try:
        message = tree(policy)
        collected = collect(message, limits, charsets, fallback)
    except RecursionError:
        # Nesting deeper than the email package can follow: keep the headers, so the message
        # still becomes a ticket; the raw bytes stay stored for anyone who needs the rest.
        message = BytesParser(policy=policy).parsebytes(headers, headersonly=True)
        collected = Collected(defects=["too-deep:parser"])
    except TreeTooLarge:
        # The same for a message of more parts than the package may make (MAX_TREE_PARTS).
        message = BytesParser(policy=policy).parsebytes(headers, headersonly=True)
        note = (
            f"This message has more than {MAX_TREE_PARTS:,} MIME parts, more than are read; "
            "its raw bytes are kept; ask an operator."
        )
        collected = Collected(pieces=[BodyPiece(plain=note)], defects=["too-many-parts:parser"])
    return _parsed_message(message, collected, defects, identity, Undeclared(charsets, fallback))


def _parsed_message(
    message: EmailMessage,
    collected: Collected,
    defects: list[str],
    identity: Callable[[], str],
    undeclared: Undeclared,
) -> ParsedMessage | ParseFailure:
    """``identity``: the SHA-256 of the bytes a synthetic Message-ID is derived from;
    ``undeclared`` reads an encoded word whose label names no charset, as the body's text without
    one is read."""
    if not isinstance(message, EmailMessage) or not message.keys():
        return ParseFailure("unparseable", "no header section: this is not an e-mail message")
    defects += defect_names(message.defects)
    message_id_values = message_ids(header_text(message, "Message-ID", undeclared))
    synthetic = not message_id_values
    message_id = (
        # Derived from the bytes as downloaded, so a re-download maps to the same id.
        f"<{identity()[:32]}@{SYNTHETIC_ID_DOMAIN}>" if synthetic else message_id_values[0]
    )
    if synthetic:
        defects.append("missing-message-id")
    senders = addresses(message, "From", undeclared)
    if not senders:
        defects.append("missing-from")
    elif len(senders) > 1:
        defects.append("several-from")
    date, date_defects = parse_date(header_text(message, "Date", undeclared))
    defects.extend(date_defects)
    defects.extend(collected.defects)
    text = body_text(collected.pieces)
    reply = split_reply(text)
    return ParsedMessage(
        message_id=message_id,
        message_id_synthetic=synthetic,
        subject=header_text(message, "Subject", undeclared) or "",
        from_address=_sender(senders),
        to=addresses(message, "To", undeclared),
        cc=addresses(message, "Cc", undeclared),
        reply_to=addresses(message, "Reply-To", undeclared),
        in_reply_to=message_ids(header_text(message, "In-Reply-To", undeclared)),
        references=message_ids(header_text(message, "References", undeclared)),
        date=date,
        body_text=text,
        reply_text=reply.reply,
        quoted_text=reply.quoted,
        signature=reply.signature,
        body_html=body_html(collected.pieces),
        attachments=tuple(collected.attachments),
        defects=tuple(dict.fromkeys(defects)),
        headers=all_headers(message, undeclared),
    )
