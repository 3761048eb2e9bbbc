"""The values the parser produces: what one e-mail means, independent of storage and transport.

Only the standard library (and the spool's file-backed bytes, themselves stdlib only) is imported
here, so the store, the poller and the CLI can all depend on these types without depending on
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from helpdesk_ingest.spool import Content, size_of


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox address; ``email`` is as written, ``name`` is the decoded display name."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A part a person would call a file, decoded to its bytes.

    The parser gives the bytes themselves; before a large one crosses to another process it is
    written to the spool and ``content`` names the file instead.
    """

    filename: str
    content_type: str
    content: Content
    sha256: str
    inline: bool = False
    content_id: str | None = None

    @property
    def size(self) -> int:
        return size_of(self.content)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """What the parser made of one raw message.

    Message-IDs keep their angle brackets (``<local@domain>``), exactly as RFC 5322 writes them,
    so that a Message-ID the helpdesk app stores for an outbound mail compares equal to the
    In-Reply-To of the customer's answer.
    """

    message_id: str
    message_id_synthetic: bool
    subject: str
    from_address: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: datetime | None = None
    body_text: str = ""
    body_html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # The body split for a reader: what the writer added (``reply_text``), the history they quoted
    # (``quoted_text``) and their signature; ``body_text`` stays the whole text.
    reply_text: str = ""
    quoted_text: str = ""
    signature: str = ""

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), decoded, or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """The parser could not make a message of the bytes; the raw bytes go to quarantine.

    ``reason`` is a short stable code for operators and metrics (for example ``"unparseable"``);
    ``detail`` says what went wrong in words.
    """

    reason: str
    detail: str
