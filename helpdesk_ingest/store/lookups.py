"""What the ingest transaction asks of the database for each message, asked once per group.

Before the first message of a group is stored, the group's Message-ID locks are taken together,
in a fixed order, and three queries answer for all its messages: which of its raw messages are
stored already (or held in quarantine); which articles have its Message-IDs (inbound: the same
mail seen through another address) or the ones its In-Reply-To and References name; and which
of its senders are contacts, with how many articles each sent within the rate-limit window (a
fourth counts everyone's when the global limit is on). The answers are then kept current as the
group's messages are stored in the same transaction, so every message sees exactly what it would
have seen by asking: the group shares one ``now``. The answers hold ORM objects, not ids,
because the group's new rows get their ids only at its flush (store.pending)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from helpdesk_ingest.hygiene.settings import RateLimits, SlidingWindow
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
from helpdesk_ingest.store.threading import thread_message_ids
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
    candidates = {i for message in messages for i in thread_candidates(message)}
    _find_articles(session, lookups, set(message_ids), candidates)
    emails = sorted(
        {
            stored_email(p.from_address.email)
            for p in parsed
            if p.from_address and p.from_address.email
        }
    )
    _find_contacts(session, lookups, emails, limits.per_sender, now)
    _count_everyone(session, lookups, limits.global_, now)
    return lookups


def thread_candidates(message: GroupMessage) -> list[str]:
    """The Message-IDs that may name a message's ticket (``threading.thread_message_ids``)."""
    if message.parsed is None:
        return []
    return thread_message_ids(message.parsed, [message.original_message_id])


def _find_stored(session: Session, lookups: GroupLookups, mailbox: str, shas: list[str]) -> None:
    raw = select(RawMessage.sha256, RawMessage.ticket_id, literal(False).label("held")).where(
        RawMessage.mailbox == mailbox, RawMessage.sha256.in_(shas)
    )
    # A released row is history: its message was re-ingested (`quarantine retry`) or is being.
    held = select(QuarantinedMessage.sha256, null(), literal(True)).where(
        QuarantinedMessage.mailbox == mailbox,
        QuarantinedMessage.sha256.in_(shas),
        QuarantinedMessage.released_at.is_(None),
    )
    rows: list[tuple[str, int | None, bool]] = [
        (sha256, ticket_id, bool(quarantined))
        for sha256, ticket_id, quarantined in session.execute(union_all(raw, held))
    ]
    ticket_ids = {ticket_id for _, ticket_id, quarantined in rows if ticket_id and not quarantined}
    tickets = _tickets_by_id(session, ticket_ids)
    # Stored as a raw message counts over held in quarantine.
    for sha256, ticket_id, quarantined in sorted(rows, key=lambda row: row[2]):
        if not quarantined:
            lookups.note_raw(sha256, tickets.get(ticket_id) if ticket_id else None)
        else:
            lookups.stored.setdefault(sha256, StoredBefore(quarantined=True))


def _tickets_by_id(session: Session, ticket_ids: set[int]) -> dict[int, Ticket]:
    if not ticket_ids:
        return {}
    found = session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    return {ticket.id: ticket for ticket in found}


def _find_articles(
    session: Session, lookups: GroupLookups, own_ids: set[str], candidates: set[str]
) -> None:
    """The tickets of inbound articles with the group's own Message-IDs (the same mail seen
    through another address) and of any articles its messages name, in one query."""
    wanted = sorted(own_ids | candidates)
    if not wanted:
        return
    rows = session.execute(
        select(Article.message_id, Article.direction, Ticket)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id.in_(wanted))
    )
    for message_id, direction, ticket in rows:
        if direction == "inbound" and message_id in own_ids:
            lookups.inbound.setdefault(message_id, ticket)
        if message_id in candidates:
            lookups.threads.setdefault(message_id, ticket)


def _find_contacts(
    session: Session,
    lookups: GroupLookups,
    emails: list[str],
    per_sender: SlidingWindow | None,
    now: datetime,
) -> None:
    """The senders that are contacts, each with its inbound articles in the per-sender window."""
    if not emails:
        return
    if per_sender is None:
        recent: ColumnElement[int] = literal(0)
    else:
        since = now - timedelta(seconds=per_sender.window_s)
        recent = (
            select(func.count(Article.id))
            .where(
                Article.contact_id == Contact.id,
                Article.direction == "inbound",
                Article.created_at >= since,
            )
            .correlate(Contact)
            .scalar_subquery()
        )
    for contact, counted in session.execute(
        select(Contact, recent).where(Contact.email.in_(emails))
    ):
        lookups.contacts[contact.email] = contact
        if counted:
            lookups.recent_by_sender[contact.email] = counted


def _count_everyone(
    session: Session, lookups: GroupLookups, window: SlidingWindow | None, now: datetime
) -> None:
    if window is not None:
        since = now - timedelta(seconds=window.window_s)
        counted = session.scalar(
            select(func.count(Article.id)).where(
                Article.direction == "inbound", Article.created_at >= since
            )
        )
        lookups.recent_total = counted or 0
