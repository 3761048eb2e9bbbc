"""What the ingest transaction asks of the database for each message, asked once per group.

Before the first message of a group is stored, one query each finds which of the group's raw
messages are stored already, which of its Message-IDs have an inbound article, which articles
its In-Reply-To and References name, which of its senders are contacts and how many articles
each sent within the rate-limit window; and the group's Message-ID locks are taken together, in
a fixed order. The answers are then kept current as the group's messages are stored in the same
transaction, so every message sees exactly what it would have seen by asking: the group shares
one ``now``. The answers hold ORM objects, not ids, because the group's new rows get their ids
only at its flush (store.pending).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk_ingest.hygiene.settings import RateLimits
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.store.concurrency import lock_message_ids
from helpdesk_ingest.store.contacts import stored_email
from helpdesk_ingest.store.models import (
    Article,
    Contact,
    QuarantinedMessage,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.values import stored_message_id


@dataclass(frozen=True)
class GroupMessage:
    """What the lookups need to know of one message of the group."""

    sha256: str
    parsed: ParsedMessage | None
    # The Message-ID of the mail a bounce returns, which threads it after the message's own.
    original_message_id: str | None = None


@dataclass(frozen=True)
class StoredBefore:
    """These exact bytes were stored before: as a raw message (with its ticket) or quarantined."""

    quarantined: bool
    ticket: Ticket | None = None


@dataclass
class GroupLookups:
    now: datetime
    stored: dict[str, StoredBefore] = field(default_factory=dict)
    # Message-ID of an inbound article → its ticket.
    inbound: dict[str, Ticket] = field(default_factory=dict)
    # Message-ID of any article (inbound or outbound) the group's messages refer to → its ticket.
    threads: dict[str, Ticket] = field(default_factory=dict)
    # Contacts by stored address, including those this group makes.
    contacts: dict[str, Contact] = field(default_factory=dict)
    # Inbound articles within the per-sender window, by stored address of their contact, and
    # from everyone within the global window.
    recent_by_sender: Counter[str] = field(default_factory=Counter)
    recent_total: int = 0

    def note_raw(self, sha256: str, ticket: Ticket | None) -> None:
        self.stored[sha256] = StoredBefore(quarantined=False, ticket=ticket)

    def note_quarantined(self, sha256: str) -> None:
        self.stored[sha256] = StoredBefore(quarantined=True)

    def note_article(self, message_id: str, ticket: Ticket, contact: Contact | None) -> None:
        self.inbound.setdefault(message_id, ticket)
        self.threads.setdefault(message_id, ticket)
        if contact is not None:
            self.recent_by_sender[contact.email] += 1
        self.recent_total += 1


def look_up_group(
    session: Session,
    mailbox: str,
    messages: Sequence[GroupMessage],
    limits: RateLimits,
    now: datetime,
) -> GroupLookups:
    """Take the group's Message-ID locks, then ask the database about all its messages at once."""
    parsed = [message.parsed for message in messages if message.parsed is not None]
    message_ids = sorted({stored_message_id(p.message_id) for p in parsed})
    lock_message_ids(session, message_ids)
    lookups = GroupLookups(now)
    _find_stored(session, lookups, mailbox, [message.sha256 for message in messages])
    _find_inbound(session, lookups, message_ids)
    _find_threads(session, lookups, sorted({i for m in messages for i in thread_candidates(m)}))
    emails = sorted(
        {
            stored_email(p.from_address.email)
            for p in parsed
            if p.from_address and p.from_address.email
        }
    )
    _find_contacts(session, lookups, emails)
    _count_recent(session, lookups, limits, now)
    return lookups


def thread_candidates(message: GroupMessage) -> list[str]:
    """The Message-IDs that may name a message's ticket, in the order the follow-up rule
    tries them: In-Reply-To, then References newest first, then a bounce's original."""
    parsed = message.parsed
    if parsed is None:
        return []
    listed = (*parsed.in_reply_to, *reversed(parsed.references), message.original_message_id)
    return [stored_message_id(message_id) for message_id in listed if message_id]


def _find_stored(session: Session, lookups: GroupLookups, mailbox: str, shas: list[str]) -> None:
    rows = session.execute(
        select(RawMessage.sha256, Ticket)
        .outerjoin(Ticket, Ticket.id == RawMessage.ticket_id)
        .where(RawMessage.mailbox == mailbox, RawMessage.sha256.in_(shas))
    )
    for sha256, ticket in rows:
        lookups.note_raw(sha256, ticket)
    # A released row is history: its message was re-ingested (`quarantine retry`) or is being.
    held = session.scalars(
        select(QuarantinedMessage.sha256).where(
            QuarantinedMessage.mailbox == mailbox,
            QuarantinedMessage.sha256.in_(shas),
            QuarantinedMessage.released_at.is_(None),
        )
    )
    for sha256 in held:
        lookups.stored.setdefault(sha256, StoredBefore(quarantined=True))


def _find_inbound(session: Session, lookups: GroupLookups, message_ids: list[str]) -> None:
    if not message_ids:
        return
    rows = session.execute(
        select(Article.message_id, Ticket)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id.in_(message_ids), Article.direction == "inbound")
    )
    for message_id, ticket in rows:
        lookups.inbound.setdefault(message_id, ticket)


def _find_threads(session: Session, lookups: GroupLookups, message_ids: list[str]) -> None:
    if not message_ids:
        return
    rows = session.execute(
        select(Article.message_id, Ticket)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id.in_(message_ids))
    )
    for message_id, ticket in rows:
        lookups.threads.setdefault(message_id, ticket)


def _find_contacts(session: Session, lookups: GroupLookups, emails: list[str]) -> None:
    if emails:
        for contact in session.scalars(select(Contact).where(Contact.email.in_(emails))):
            lookups.contacts[contact.email] = contact


def _count_recent(
    session: Session, lookups: GroupLookups, limits: RateLimits, now: datetime
) -> None:
    inbound = Article.direction == "inbound"
    per_sender = limits.per_sender
    email_of = {contact.id: email for email, contact in lookups.contacts.items()}
    if per_sender is not None and email_of:
        since = now - timedelta(seconds=per_sender.window_s)
        rows = session.execute(
            select(Article.contact_id, func.count(Article.id))
            .where(inbound, Article.created_at >= since, Article.contact_id.in_(email_of))
            .group_by(Article.contact_id)
        )
        for contact_id, counted in rows:
            if contact_id is not None:
                lookups.recent_by_sender[email_of[contact_id]] = counted
    if limits.global_ is not None:
        since = now - timedelta(seconds=limits.global_.window_s)
        counted = session.scalar(
            select(func.count(Article.id)).where(inbound, Article.created_at >= since)
        )
        lookups.recent_total = counted or 0
