"""An inbound article and its attachments, from one parsed message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk_ingest.message import Address, Attachment, ParsedMessage
from helpdesk_ingest.spool import SpooledBytes
from helpdesk_ingest.store.concurrency import insert_if_absent
from helpdesk_ingest.store.large_values import fill_column, inline_part
from helpdesk_ingest.store.models import (
    CONTENT_TYPE_LENGTH,
    EMAIL_LENGTH,
    FILENAME_LENGTH,
    MESSAGE_ID_LENGTH,
    NAME_LENGTH,
    Article,
    Blob,
    Contact,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.models import Attachment as AttachmentRow
from helpdesk_ingest.store.values import db_text, stored_message_id


def _addresses(addresses: tuple[Address, ...]) -> list[dict[str, str]]:
    return [{"name": address.name, "email": address.email} for address in addresses]


def _add_attachment(session: Session, article: Article, attachment: Attachment) -> None:
    content = attachment.content
    new_blob = {
        "sha256": attachment.sha256,
        "size": attachment.size,
        "content": inline_part(content),
    }
    if insert_if_absent(session, Blob, new_blob) and isinstance(content, SpooledBytes):
        fill_column(session, Blob.content, Blob.sha256 == attachment.sha256, content)
    session.add(
        AttachmentRow(
            article_id=article.id,
            blob_sha256=attachment.sha256,
            filename=db_text(attachment.filename, FILENAME_LENGTH),
            content_type=db_text(attachment.content_type, CONTENT_TYPE_LENGTH),
            size=attachment.size,
            inline=attachment.inline,
            content_id=db_text(attachment.content_id, MESSAGE_ID_LENGTH),
        )
    )


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
) -> Article:
    sender = parsed.from_address
    article = Article(
        ticket_id=ticket.id,
        direction="inbound",
        raw_message_id=raw_row.id,
        contact_id=contact.id if contact else None,
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
        defects=list(parsed.defects),
        flags=flags or [],
        is_auto_reply=is_auto_reply,
        is_bounce=is_bounce,
        created_at=now,
    )
    session.add(article)
    session.flush()
    for attachment in parsed.attachments:
        _add_attachment(session, article, attachment)
    session.flush()
    return article
