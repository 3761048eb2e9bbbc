"""Everything done to a message before the database sees it: hash, parse, classify.

Pure and self-contained (bytes and settings in, a picklable value out), so it can run in a
worker process while the daemon's own process stores the messages before it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from helpdesk_ingest.hygiene import Classification, HygieneSettings, classify
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import ParseLimits, parse_message
from helpdesk_ingest.parsing.oversize import header_section


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """One downloaded message, ready for the ingest transaction.

    ``classification`` is None exactly when ``parsed`` is a ParseFailure: a message that could
    not be parsed goes to quarantine and is never classified.
    """

    sha256: str
    parsed: ParsedMessage | ParseFailure
    classification: Classification | None


@dataclass(frozen=True, slots=True)
class PrepareSettings:
    limits: ParseLimits
    hygiene: HygieneSettings


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def prepare(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """Hash, parse and classify ``raw``; a failure of either step is a ParseFailure, not raised."""
    sha256 = sha256_hex(raw)
    parsed = parse_message(raw, settings.limits)
    if isinstance(parsed, ParseFailure):
        return PreparedMessage(sha256, parsed, None)
    if len(raw) > settings.limits.max_message_bytes:
        # The parser read only the headers; so does the classifier: a DSN or report too large
        # to parse is judged by its headers.
        raw = header_section(raw, settings.limits.max_header_bytes)
    try:
        classification = classify(raw, parsed, settings.hygiene)
    except Exception as exc:
        # The classifier is a reading of the message like the parser: its failure is the
        # message's, kept in quarantine with the reason, not an error of the daemon.
        failure = ParseFailure("classifier-error", f"{type(exc).__name__}: {exc}"[:500])
        return PreparedMessage(sha256, failure, None)
    return PreparedMessage(sha256, parsed, classification)


def prepare_failed(raw: bytes, reason: str, detail: str) -> PreparedMessage:
    """A message whose preparation could not even run (its worker died), for quarantine."""
    return PreparedMessage(sha256_hex(raw), ParseFailure(reason, detail), None)
