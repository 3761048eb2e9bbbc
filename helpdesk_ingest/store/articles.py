"""An inbound article and its attachments, from one parsed message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.store.models import (
    EMAIL_LENGTH,
    NAME_LENGTH,
    Article,
    Contact,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.pending import PendingWrites
from helpdesk_ingest.store.values import db_text, stored_message_id


def _addresses(addresses: tuple[Address, ...]) -> list[dict[str, str]]:
    return [
        {"name": db_text(address.name), "email": db_text(address.email)} for address in addresses
    ]


def add_inbound_article(
    session: Session,
    *,
    ticket: Ticket,
    raw_row: RawMessage,
    contact: Contact | None,
    parsed: ParsedMessage,
    now: datetime,
    flags: list[str] | None = None,
    is_auto_reply: bool = False,
    is_bounce: bool = False,
    pending: PendingWrites,
) -> Article:
    """Add the article (its attachments wait in ``pending``); the rows get ids at its flush."""
    sender = parsed.from_address
    article = Article(
        ticket=ticket,
        direction="inbound",
        raw_message=raw_row,
        contact=contact,
        message_id=stored_message_id(parsed.message_id),
        in_reply_to=db_text(" ".join(parsed.in_reply_to)) or None,
        references=db_text(" ".join(parsed.references)) or None,
        from_address=db_text(sender.email, EMAIL_LENGTH) if sender else None,
        from_name=db_text(sender.name, NAME_LENGTH) if sender else None,
        to_addresses=_addresses(parsed.to),
        cc_addresses=_addresses(parsed.cc),
        subject=db_text(parsed.subject),
        body_text=db_text(parsed.body_text),
        body_html=db_text(parsed.body_html),
        reply_text=db_text(parsed.reply_text) or None,
        quoted_text=db_text(parsed.quoted_text) or None,
        signature=db_text(parsed.signature) or None,
        sent_at=parsed.date,
        # A defect may quote what the message wrote (a charset's name, NUL and all).
        defects=[db_text(defect) for defect in parsed.defects],
        flags=flags or [],
        is_auto_reply=is_auto_reply,
        is_bounce=is_bounce,
        created_at=now,
    )
    session.add(article)
    pending.attachments.extend((article, attachment) for attachment in parsed.attachments)
    return article
