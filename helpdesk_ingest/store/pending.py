"""The writes of an ingest transaction that wait for its one flush at the end.

Flushing after every row costs a round trip to the database per row. The ingest functions add
their rows linked by relationships instead of ids and note here what needs an id first: the new
tickets (their number is derived from the id) and the attachments (their content goes into
``blobs``, one row per SHA-256, written before the attachment rows that refer to it). ``flush``
then writes each table's rows together: a group of messages costs a few statements, not a few
per message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from helpdesk_ingest.message import Attachment
from helpdesk_ingest.spool import SpooledBytes
from helpdesk_ingest.store.concurrency import insert_absent
from helpdesk_ingest.store.large_values import fill_column, inline_part
from helpdesk_ingest.store.models import (
    CONTENT_TYPE_LENGTH,
    FILENAME_LENGTH,
    MESSAGE_ID_LENGTH,
    Article,
    Blob,
    Ticket,
)
from helpdesk_ingest.store.models import Attachment as AttachmentRow
from helpdesk_ingest.store.values import db_text

# Ticket numbers are the row id plus this offset: unique under concurrent writers without a
# sequence (SQLite has none) and far enough from 1 not to look like a list position.
TICKET_NUMBER_OFFSET = 1000


@dataclass
class PendingWrites:
    new_tickets: list[Ticket] = field(default_factory=list)
    attachments: list[tuple[Article, Attachment]] = field(default_factory=list)

    def flush(self, session: Session) -> None:
        """Write everything added so far; afterwards every new row has its id and number."""
        self._write_blobs(session)
        for article, attachment in self.attachments:
            article.attachments.append(_attachment_row(attachment))
        self.attachments.clear()
        session.flush()
        for ticket in self.new_tickets:
            ticket.number = TICKET_NUMBER_OFFSET + ticket.id
        self.new_tickets.clear()
        session.flush()

    def _write_blobs(self, session: Session) -> None:
        contents = {attachment.sha256: attachment for _, attachment in self.attachments}
        if not contents:
            return
        rows = [
            {"sha256": sha256, "size": part.size, "content": inline_part(part.content)}
            for sha256, part in contents.items()
        ]
        # Blobs refer to nothing, so they may go before the rows pending in the session.
        with session.no_autoflush:
            inserted = insert_absent(session, Blob, rows)
        for sha256 in inserted:
            content = contents[sha256].content
            if isinstance(content, SpooledBytes):
                fill_column(session, Blob.content, Blob.sha256 == sha256, content)


def _attachment_row(attachment: Attachment) -> AttachmentRow:
    return AttachmentRow(
        blob_sha256=attachment.sha256,
        filename=db_text(attachment.filename, FILENAME_LENGTH),
        content_type=db_text(attachment.content_type, CONTENT_TYPE_LENGTH),
        size=attachment.size,
        inline=attachment.inline,
        content_id=db_text(attachment.content_id, MESSAGE_ID_LENGTH),
    )
