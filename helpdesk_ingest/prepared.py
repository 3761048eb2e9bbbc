"""What a preparation hands the store: the message's hash, its parse and its verdict.

Apart from the preparation itself (``prepare``), which loads the parser and the classifier: the
daemon's own process only passes these values on and stores them, and never loads either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from helpdesk_ingest.charsets import DEFAULT_FALLBACK_CHARSET
from helpdesk_ingest.hygiene.own_mail import OwnMail
from helpdesk_ingest.hygiene.verdict import Classification
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parse_limits import ParseLimits
from helpdesk_ingest.spool import Content, SpooledBytes


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
    own_mail: OwnMail
    # Attachments of a spooled message larger than this are written beside it.
    spool_over_bytes: int = 1024 * 1024
    # The codec of undeclared 8-bit text too short to detect a charset from (parse_message).
    fallback_charset: str = DEFAULT_FALLBACK_CHARSET


def sha256_hex(raw: Content) -> str:
    if isinstance(raw, SpooledBytes):
        return raw.sha256_hex()
    return hashlib.sha256(raw).hexdigest()


def prepare_failed(raw: Content, reason: str, detail: str) -> PreparedMessage:
    """A message whose preparation could not even run (its worker died), for quarantine."""
    return PreparedMessage(sha256_hex(raw), ParseFailure(reason, detail), None)
