"""Everything done to a message before the database sees it: hash, parse, classify.

Self-contained (content and settings in, a picklable value out), so it can run in a worker
process while the daemon's own process stores the messages before it. A spooled message is read
here, not in the daemon, and its large attachments go back to the spool rather than through the
pipe: the daemon never holds a large message.
"""

from __future__ import annotations

import dataclasses

from helpdesk_ingest.hygiene.classify import classify
from helpdesk_ingest.message import Attachment, ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import parse_message
from helpdesk_ingest.parsing.oversize import header_section
from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings, sha256_hex
from helpdesk_ingest.spool import Content, SpooledBytes, in_memory, write_beside


def prepare(content: Content, settings: PrepareSettings) -> PreparedMessage:
    """Hash, parse and classify a message; a failure of a step is a ParseFailure, not raised."""
    raw = in_memory(content)
    sha256 = sha256_hex(raw)
    parsed = parse_message(raw, settings.limits)
    if isinstance(parsed, ParseFailure):
        return PreparedMessage(sha256, parsed, None)
    if isinstance(content, SpooledBytes):
        # Out of memory before the classifier builds its own tree of the message.
        parsed = _attachments_spooled(parsed, content, settings.spool_over_bytes)
    if len(raw) > settings.limits.max_message_bytes:
        # The parser read only the headers; so does the classifier: a DSN or report too large
        # to parse is judged by its headers.
        raw = header_section(raw, settings.limits.max_header_bytes)
    try:
        classification = classify(raw, parsed, settings.own_mail)
    except Exception as exc:
        # The classifier is a reading of the message like the parser: its failure is the
        # message's, kept in quarantine with the reason, not an error of the daemon.
        failure = ParseFailure("classifier-error", f"{type(exc).__name__}: {exc}"[:500])
        return PreparedMessage(sha256, failure, None)
    return PreparedMessage(sha256, parsed, classification)


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
