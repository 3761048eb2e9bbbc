"""Which ticket a message follows up on, if any."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.store.models import MESSAGE_ID_LENGTH, Article, Ticket
from helpdesk_ingest.store.values import db_text

DEFAULT_TICKET_TAG = r"\[#(?P<number>\d+)\]"


def ticket_by_message_ids(session: Session, message_ids: list[str]) -> Ticket | None:
    """The ticket of the first listed Message-ID that names a stored article (any direction)."""
    if not message_ids:
        return None
    rows = session.execute(
        select(Article.message_id, Article.ticket_id).where(Article.message_id.in_(message_ids))
    ).all()
    ticket_of = {message_id: ticket_id for message_id, ticket_id in rows}
    for message_id in message_ids:
        if message_id in ticket_of:
            return session.get(Ticket, ticket_of[message_id])
    return None


def ticket_by_tag(session: Session, subject: str, pattern: re.Pattern[str]) -> Ticket | None:
    for match in pattern.finditer(subject):
        number = match.group("number")
        if number and number.isdigit():
            ticket = session.scalars(select(Ticket).where(Ticket.number == int(number))).first()
            if ticket is not None:
                return ticket
    return None


def find_ticket(
    session: Session, parsed: ParsedMessage, ticket_tag_pattern: re.Pattern[str]
) -> Ticket | None:
    """In-Reply-To first, then References newest first, then a ticket tag in the subject.

    Each rule is one function, so a rule such as "trust a tag only from a ticket participant"
    can be added between them.
    """
    candidates = [
        db_text(message_id, MESSAGE_ID_LENGTH)
        for message_id in (*parsed.in_reply_to, *reversed(parsed.references))
    ]
    return ticket_by_message_ids(session, candidates) or ticket_by_tag(
        session, parsed.subject, ticket_tag_pattern
    )
