"""The ingest transaction's body: dedupe, thread, contact, ticket, article, attachments, raw bytes.

These functions add and flush; the caller owns the transaction and commits it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address, Attachment, ParsedMessage
from helpdesk_ingest.store.contacts import upsert_contact
from helpdesk_ingest.store.threading import find_ticket
from helpdesk_ingest.store.models import (
    Article,
    Blob,
    QuarantinedMessage,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.models import Attachment as AttachmentRow

# Ticket numbers are the row id plus this offset: unique under concurrent writers without a
# sequence (SQLite has none) and far enough from 1 not to look like a list position.
TICKET_NUMBER_OFFSET = 1000


@dataclass(frozen=True)
class IngestOutcome:
    kind: Literal["ingested", "duplicate", "quarantined"]
    ticket_number: int | None = None
    new_ticket: bool = False
    article_id: int | None = None


def find_stored(session: Session, mailbox: str, sha256: str) -> IngestOutcome | None:
    """What became of these exact bytes from this mailbox before, if they were stored."""
    raw = session.execute(
        select(RawMessage.id, Ticket.number)
        .outerjoin(Ticket, Ticket.id == RawMessage.ticket_id)
        .where(RawMessage.mailbox == mailbox, RawMessage.sha256 == sha256)
    ).first()
    if raw is not None:
        return IngestOutcome("duplicate", ticket_number=raw.number)
    quarantined = session.scalar(
        select(QuarantinedMessage.id).where(
            QuarantinedMessage.mailbox == mailbox, QuarantinedMessage.sha256 == sha256
        )
    )
    if quarantined is not None:
        return IngestOutcome("quarantined")
    return None


def _addresses(addresses: tuple[Address, ...]) -> list[dict[str, str]]:
    return [{"name": address.name, "email": address.email} for address in addresses]


def _store_blob(session: Session, attachment: Attachment) -> None:
    values = {
        "sha256": attachment.sha256,
        "size": attachment.size,
        "content": attachment.content,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(pg_insert(Blob).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite_insert(Blob).values(values).on_conflict_do_nothing())
    elif session.get(Blob, attachment.sha256) is None:
        session.execute(insert(Blob).values(values))


def _new_ticket(
    session: Session,
    parsed: ParsedMessage,
    mailbox: str,
    queue: str,
    requester_id: int | None,
    now: datetime,
) -> Ticket:
    ticket = Ticket(
        subject=parsed.subject,
        status="new",
        priority="normal",
        queue=queue,
        requester_id=requester_id,
        mailbox=mailbox,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    ticket.number = TICKET_NUMBER_OFFSET + ticket.id
    return ticket


def ingest_message(
    session: Session,
    *,
    mailbox: str,
    raw: bytes,
    sha256: str,
    parsed: ParsedMessage,
    queue: str,
    ticket_tag_pattern: re.Pattern[str],
    now: datetime,
) -> IngestOutcome:
    """Store one parsed message; idempotent on (mailbox, sha256) and on inbound Message-ID."""
    stored = find_stored(session, mailbox, sha256)
    if stored is not None:
        return stored
    raw_row = RawMessage(
        mailbox=mailbox, sha256=sha256, size=len(raw), content=raw, received_at=now
    )
    session.add(raw_row)
    same_message = session.execute(
        select(Article.ticket_id, Ticket.number)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id == parsed.message_id, Article.direction == "inbound")
    ).first()
    if same_message is not None:
        # The same mail reached us through another support address: one article is enough.
        raw_row.ticket_id = same_message.ticket_id
        session.flush()
        return IngestOutcome("duplicate", ticket_number=same_message.number)

    contact = upsert_contact(session, parsed.from_address, now) if parsed.from_address else None
    ticket = find_ticket(session, parsed, ticket_tag_pattern)
    new_ticket = ticket is None
    if ticket is None:
        ticket = _new_ticket(session, parsed, mailbox, queue, contact.id if contact else None, now)
    else:
        if ticket.status == "closed":
            ticket.status = "open"
        ticket.updated_at = now
    raw_row.ticket_id = ticket.id
    session.flush()
    article = Article(
        ticket_id=ticket.id,
        direction="inbound",
        raw_message_id=raw_row.id,
        contact_id=contact.id if contact else None,
        message_id=parsed.message_id,
        in_reply_to=" ".join(parsed.in_reply_to) or None,
        references=" ".join(parsed.references) or None,
        from_address=parsed.from_address.email if parsed.from_address else None,
        from_name=parsed.from_address.name if parsed.from_address else None,
        to_addresses=_addresses(parsed.to),
        cc_addresses=_addresses(parsed.cc),
        subject=parsed.subject,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        sent_at=parsed.date,
        defects=list(parsed.defects),
        created_at=now,
    )
    session.add(article)
    session.flush()
    for attachment in parsed.attachments:
        _store_blob(session, attachment)
        session.add(
            AttachmentRow(
                article_id=article.id,
                blob_sha256=attachment.sha256,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                inline=attachment.inline,
                content_id=attachment.content_id,
            )
        )
    session.flush()
    return IngestOutcome(
        "ingested", ticket_number=ticket.number, new_ticket=new_ticket, article_id=article.id
    )


def quarantine_message(
    session: Session,
    *,
    mailbox: str,
    raw: bytes,
    sha256: str,
    reason: str,
    detail: str,
    now: datetime,
) -> IngestOutcome:
    """Keep bytes that could not become a ticket; idempotent on (mailbox, sha256)."""
    stored = find_stored(session, mailbox, sha256)
    if stored is not None:
        return stored
    session.add(
        QuarantinedMessage(
            mailbox=mailbox,
            sha256=sha256,
            size=len(raw),
            content=raw,
            reason=reason[:64],
            detail=detail,
            created_at=now,
        )
    )
    session.flush()
    return IngestOutcome("quarantined")
