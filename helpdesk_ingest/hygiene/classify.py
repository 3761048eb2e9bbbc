"""The classify step of the pipeline: one verdict per message, recorded on its article."""

from __future__ import annotations

from email.message import Message
from email.parser import BytesParser

from helpdesk_ingest.hygiene.autoreply import auto_reply_flags
from helpdesk_ingest.hygiene.bounce import Envelope, detect_bounce, reads_body
from helpdesk_ingest.hygiene.own_mail import OwnMail
from helpdesk_ingest.hygiene.verdict import CUSTOMER, Classification
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.parsing.feed import parse_in_pieces, parse_pieces
from helpdesk_ingest.parsing.lenient import LENIENT_COMPAT32, TreeTooLarge
from helpdesk_ingest.parsing.oversize import BLANK_LINE, header_section_size
from helpdesk_ingest.parsing.streamed import StreamedMessage, contains_any_lowered

# The parts the classifier looks for (DSN, MDN, feedback report, returned message or headers)
# have a content type that starts with one of these; so does a digest, whose parts are
# message/rfc822 by default. compat32 reads a content type only as written, lowercased.
_REPORT_TYPE_TEXT = (b"message/", b"rfc822-headers", b"multipart/digest")


def _may_hold_report(raw: bytes | StreamedMessage) -> bool:
    # The parser decodes bytes as ASCII, so ASCII lowercase is the only case it folds.
    pieces = raw.pieces() if isinstance(raw, StreamedMessage) else (raw,)
    return contains_any_lowered(pieces, _REPORT_TYPE_TEXT)


def _top_headers(raw: bytes | StreamedMessage) -> Message:
    """The top-level headers of ``raw``, read as the whole message's parse reads them."""
    if isinstance(raw, StreamedMessage):
        # The head holds the whole header section when it holds the blank line ending it.
        blank_line = BLANK_LINE.search(raw.head)
        raw = raw.head[: blank_line.start()] if blank_line else raw.whole()
    return BytesParser(policy=LENIENT_COMPAT32).parsebytes(raw[: header_section_size(raw)], True)


def _whole_tree(raw: bytes | StreamedMessage) -> Message:
    try:
        if isinstance(raw, StreamedMessage):
            return parse_pieces(raw.pieces(), LENIENT_COMPAT32)
        return parse_in_pieces(raw, LENIENT_COMPAT32)
    except (RecursionError, TreeTooLarge):
        # Nesting deeper than the email package can follow, or more parts than it may make (the
        # parser keeps the headers of such a message too): judged by its top-level headers, not
        # sent to quarantine.
        return _top_headers(raw)


def _loop_flags(parsed: ParsedMessage, own_mail: OwnMail) -> tuple[str, ...]:
    flags = []
    sender = parsed.from_address.email.strip().lower() if parsed.from_address else ""
    if sender and sender in own_mail.addresses:
        flags.append("own-address")
    if parsed.header(own_mail.loop_header) is not None:
        flags.append("own-loop-header")
    return tuple(flags)


def classify(
    raw: bytes | StreamedMessage, parsed: ParsedMessage, own_mail: OwnMail
) -> Classification:
    """Pure: the raw bytes (whole, or read in pieces) and their parse in, a verdict out."""
    # The parser's value has no MIME tree; report parts and DSN fields need one. Parsing the
    # whole message again costs more than all the rest of the classifier, so a message without
    # the name of a report type anywhere in it, which has no such part, is read by its top-level
    # headers alone, unless the bounce detectors will read its body.
    whole = _may_hold_report(raw)
    message = _whole_tree(raw) if whole else _top_headers(raw)
    auto_flags = auto_reply_flags(parsed, message)
    loop_flags = _loop_flags(parsed, own_mail)
    if loop_flags:
        return Classification("loop", (*loop_flags, *auto_flags))
    envelope = Envelope(
        sender=parsed.from_address.email if parsed.from_address else "",
        from_header=parsed.header("From") or "",
        subject=parsed.subject,
        null_return_path="null-return-path" in auto_flags,
    )
    if not whole and reads_body(message, envelope):
        message = _whole_tree(raw)
    bounce = detect_bounce(message, envelope)
    if bounce is not None:
        return Classification(
            "bounce",
            (*bounce.reasons, *auto_flags),
            failed_recipients=bounce.failed_recipients,
            dsn_status=bounce.status,
            original_message_id=bounce.original_message_id,
        )
    if auto_flags:
        return Classification("auto-reply", auto_flags)
    return CUSTOMER
