"""The ingest transaction's body: dedupe, thread, contact, ticket, article, attachments, raw bytes.

These functions add and flush; the caller owns the transaction and commits it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.store.articles import add_inbound_article
from helpdesk_ingest.store.concurrency import lock_message_id
from helpdesk_ingest.store.contacts import upsert_contact
from helpdesk_ingest.store.models import (
    MESSAGE_ID_LENGTH,
    Article,
    QuarantinedMessage,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.threading import find_ticket
from helpdesk_ingest.store.values import db_text

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


def _new_ticket(
    session: Session,
    parsed: ParsedMessage,
    mailbox: str,
    queue: str,
    requester_id: int | None,
    now: datetime,
) -> Ticket:
    ticket = Ticket(
        subject=db_text(parsed.subject),
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
    message_id = db_text(parsed.message_id, MESSAGE_ID_LENGTH)
    raw_row = RawMessage(
        mailbox=mailbox, sha256=sha256, size=len(raw), content=raw, received_at=now
    )
    session.add(raw_row)
    lock_message_id(session, message_id)
    same_message = session.execute(
        select(Article.ticket_id, Ticket.number)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id == message_id, Article.direction == "inbound")
    ).first()
    if same_message is not None:
        # The same mail reached us through another support address: one article is enough.
        raw_row.ticket_id = same_message.ticket_id
        session.flush()
        return IngestOutcome("duplicate", ticket_number=same_message.number)

    sender = parsed.from_address
    contact = upsert_contact(session, sender, now) if sender and sender.email else None
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
    article = add_inbound_article(
        session, ticket=ticket, raw_row=raw_row, contact=contact, parsed=parsed, now=now
    )
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
            reason=db_text(reason, 64),
            detail=db_text(detail),
            created_at=now,
        )
    )
    session.flush()
    return IngestOutcome("quarantined")
