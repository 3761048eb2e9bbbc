"""Which ticket a message follows up on, if any, by the documented follow-up rules.

The rules run in order and the first that names a ticket wins:

1. In-Reply-To, then References newest first, naming any stored article (inbound or outbound).
2. A ticket tag in the subject, trusted only from the ticket's requester or a previous
   participant; anyone else gets a new ticket linked to the named one.
3. Optionally, the same sender with the same normalised subject within a window.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.store.models import Article, Contact, Ticket
from helpdesk_ingest.store.threading_settings import FollowUpSettings
from helpdesk_ingest.store.values import stored_message_id

DEFAULT_TICKET_TAG = r"\[#(?P<number>\d+)\]"
# Reply and forward prefixes in the languages support mail most often arrives in.
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|antw|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_RECENT_ARTICLES = 50
# Message-IDs of In-Reply-To and References a message is threaded by, newest first. Mail
# clients keep a few dozen; a message may carry tens of thousands (its header section allows
# 256 KB), and a group's lookup asks for all of its messages' at once: four such messages made
# more query parameters than PostgreSQL takes, and the pass failed again at every try.
MAX_THREAD_REFERENCES = 100


Rule = Literal["message-id", "ticket-tag", "same-subject"]


@dataclass(frozen=True)
class ThreadMatch:
    """The ticket to add to (``ticket``) or, with ``ticket`` None, the one to link a new one to."""

    ticket: Ticket | None
    rule: Rule | None = None
    linked: Ticket | None = None


def normalise_subject(subject: str) -> str:
    """The subject without reply and forward prefixes, a ticket tag or extra white space."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject).split()).casefold()


def thread_message_ids(
    parsed: ParsedMessage, extra_message_ids: Sequence[str | None] = ()
) -> list[str]:
    """The Message-IDs that may name a message's ticket, in the order the first rule tries
    them: In-Reply-To, then References newest first (``MAX_THREAD_REFERENCES`` of them), then
    ``extra_message_ids`` (a bounce's original)."""
    named = (*parsed.in_reply_to, *reversed(parsed.references))
    listed = (*itertools.islice(named, MAX_THREAD_REFERENCES), *extra_message_ids)
    return [stored_message_id(message_id) for message_id in listed if message_id]


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


def is_participant(session: Session, ticket: Ticket, contact: Contact | None) -> bool:
    """The contact asked on this ticket or wrote an article on it before."""
    if contact is None:
        return False
    if inspect(contact).pending:
        # Made by this transaction and not written yet: the comparisons below need its id.
        session.flush()
    if ticket.requester_id == contact.id:
        return True
    wrote = session.scalar(
        select(Article.id)
        .where(Article.ticket_id == ticket.id, Article.contact_id == contact.id)
        .limit(1)
    )
    return wrote is not None


def ticket_by_same_subject(
    session: Session, contact: Contact, subject: str, since: datetime
) -> Ticket | None:
    wanted = normalise_subject(subject)
    if not wanted:
        return None
    recent = session.execute(
        select(Article.ticket_id, Ticket.subject)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.contact_id == contact.id, Article.created_at >= since)
        .order_by(Article.id.desc())
        .limit(_RECENT_ARTICLES)
    ).all()
    for ticket_id, ticket_subject in recent:
        if normalise_subject(ticket_subject) == wanted:
            return session.get(Ticket, ticket_id)
    return None


def find_thread(
    session: Session,
    parsed: ParsedMessage,
    contact: Contact | None,
    *,
    ticket_tag_pattern: re.Pattern[str],
    settings: FollowUpSettings,
    extra_message_ids: tuple[str, ...] = (),
    now: datetime,
    known: dict[str, Ticket] | None = None,
) -> ThreadMatch:
    """Apply the follow-up rules in order; ``extra_message_ids`` (a bounce's original) go last.

    ``known`` (a group's lookups) maps every Message-ID the message may name to its article's
    ticket, so the first rule asks nothing of the database.
    """
    candidates = thread_message_ids(parsed, extra_message_ids)
    if known is None:
        ticket = ticket_by_message_ids(session, candidates)
    else:
        ticket = next((known[i] for i in candidates if i in known), None)
    if ticket is not None:
        return ThreadMatch(ticket, "message-id")
    tagged = ticket_by_tag(session, parsed.subject, ticket_tag_pattern)
    if tagged is not None:
        trusted = not settings.trust_tag_from_participants_only or is_participant(
            session, tagged, contact
        )
        return ThreadMatch(tagged, "ticket-tag") if trusted else ThreadMatch(None, linked=tagged)
    if settings.same_subject_window_h is not None and contact is not None:
        since = now - timedelta(hours=settings.same_subject_window_h)
        ticket = ticket_by_same_subject(session, contact, parsed.subject, since)
        if ticket is not None:
            return ThreadMatch(ticket, "same-subject")
    return ThreadMatch(None)
