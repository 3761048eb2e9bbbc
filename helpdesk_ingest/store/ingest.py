"""The ingest transaction's body: dedupe, thread, contact, ticket, article, attachments, raw bytes.

These functions add and flush; the caller owns the transaction and commits it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.hygiene import Classification, HygieneSettings
from helpdesk_ingest.hygiene.classify import CUSTOMER
from helpdesk_ingest.message import ParsedMessage
from helpdesk_ingest.routing.rules import NO_ROUTE, RouteDecision
from helpdesk_ingest.spool import Content, size_of
from helpdesk_ingest.store.articles import add_inbound_article
from helpdesk_ingest.store.bounces import mark_undeliverable
from helpdesk_ingest.store.concurrency import lock_message_id
from helpdesk_ingest.store.contacts import upsert_contact
from helpdesk_ingest.store.large_values import add_with_content
from helpdesk_ingest.store.lookups import GroupLookups
from helpdesk_ingest.store.models import (
    Article,
    Contact,
    QuarantinedMessage,
    RawMessage,
    Ticket,
)
from helpdesk_ingest.store.ratelimit import (
    RATE_LIMIT_REASON,
    reply_loop_on_ticket,
    sender_over_limit,
)
from helpdesk_ingest.store.threading import FollowUpSettings, ThreadMatch, find_thread
from helpdesk_ingest.store.values import db_text, stored_message_id

# Ticket numbers are the row id plus this offset: unique under concurrent writers without a
# sequence (SQLite has none) and far enough from 1 not to look like a list position.
TICKET_NUMBER_OFFSET = 1000


@dataclass(frozen=True)
class IngestOutcome:
    kind: Literal["ingested", "duplicate", "quarantined"]
    ticket_number: int | None = None
    new_ticket: bool = False
    article_id: int | None = None
    # Why a message went to quarantine; left out of equality so outcomes compare by effect.
    reason: str | None = field(default=None, compare=False)
    ticket_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class IngestPolicy:
    """The settings that shape the ingest transaction beyond the mailbox's queue."""

    hygiene: HygieneSettings = field(default_factory=HygieneSettings)
    follow_up: FollowUpSettings = field(default_factory=FollowUpSettings)


DEFAULT_POLICY = IngestPolicy()


def find_stored(session: Session, mailbox: str, sha256: str) -> IngestOutcome | None:
    """What became of these exact bytes from this mailbox before, if they were stored."""
    raw = session.execute(
        select(RawMessage.id, Ticket.number)
        .outerjoin(Ticket, Ticket.id == RawMessage.ticket_id)
        .where(RawMessage.mailbox == mailbox, RawMessage.sha256 == sha256)
    ).first()
    if raw is not None:
        return IngestOutcome("duplicate", ticket_number=raw.number)
    # A released row is history: its message was re-ingested (`quarantine retry`) or is being.
    quarantined = session.scalar(
        select(QuarantinedMessage.id).where(
            QuarantinedMessage.mailbox == mailbox,
            QuarantinedMessage.sha256 == sha256,
            QuarantinedMessage.released_at.is_(None),
        )
    )
    if quarantined is not None:
        return IngestOutcome("quarantined")
    return None


def _stored_before(
    session: Session, mailbox: str, sha256: str, lookups: GroupLookups | None
) -> IngestOutcome | None:
    if lookups is None:
        return find_stored(session, mailbox, sha256)
    before = lookups.stored.get(sha256)
    if before is None:
        return None
    if before.quarantined:
        return IngestOutcome("quarantined")
    return IngestOutcome("duplicate", ticket_number=before.ticket_number)


def _inbound_article_ticket(
    session: Session, message_id: str, lookups: GroupLookups | None
) -> tuple[int, int | None] | None:
    """The ticket (id, number) of an inbound article with this Message-ID, if there is one."""
    if lookups is not None:
        return lookups.inbound.get(message_id)
    lock_message_id(session, message_id)
    row = session.execute(
        select(Article.ticket_id, Ticket.number)
        .join(Ticket, Ticket.id == Article.ticket_id)
        .where(Article.message_id == message_id, Article.direction == "inbound")
    ).first()
    return None if row is None else (row.ticket_id, row.number)


def _new_ticket(
    session: Session,
    parsed: ParsedMessage,
    mailbox: str,
    queue: str,
    requester_id: int | None,
    now: datetime,
    decision: RouteDecision = NO_ROUTE,
    linked: Ticket | None = None,
) -> Ticket:
    ticket = Ticket(
        subject=db_text(parsed.subject),
        status="new",
        priority=decision.priority or "normal",
        queue=decision.queue or queue,
        requester_id=requester_id,
        mailbox=mailbox,
        tags=list(decision.tags),
        linked_ticket_id=linked.id if linked else None,
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
    raw: Content,
    sha256: str,
    parsed: ParsedMessage,
    queue: str,
    ticket_tag_pattern: re.Pattern[str],
    now: datetime,
    classification: Classification = CUSTOMER,
    decision: RouteDecision = NO_ROUTE,
    policy: IngestPolicy = DEFAULT_POLICY,
    lookups: GroupLookups | None = None,
) -> IngestOutcome:
    """Store one parsed message; idempotent on (mailbox, sha256) and on inbound Message-ID.

    Mail that must not become an article (a routing rule's quarantine, our own mail coming back,
    a storm, an automatic mail answering no ticket) is kept in quarantine with its reason.
    ``lookups`` answers, for a message of a group, what would otherwise be asked per message
    (see store.lookups); it must come from this transaction and share its ``now``.
    """
    stored = _stored_before(session, mailbox, sha256, lookups)
    if stored is not None:
        return stored
    message_id = stored_message_id(parsed.message_id)
    duplicate = _same_message_elsewhere(session, mailbox, raw, sha256, now, message_id, lookups)
    if duplicate is not None:
        return duplicate

    def hold(reason: str, detail: str) -> IngestOutcome:
        return quarantine_message(
            session,
            mailbox=mailbox,
            raw=raw,
            sha256=sha256,
            reason=reason,
            detail=detail,
            now=now,
            lookups=lookups,
        )

    if decision.quarantine:
        return hold("routing", f"routing rule {decision.rule}")
    if classification.kind == "loop":
        return hold("loop", " ".join(classification.flags))
    contact = _sender_contact(session, parsed, now, lookups)
    held = sender_over_limit(session, policy.hygiene.rate_limits, contact, now, lookups)
    if held:
        return hold(RATE_LIMIT_REASON, held)
    thread = find_thread(
        session,
        parsed,
        contact,
        ticket_tag_pattern=ticket_tag_pattern,
        settings=policy.follow_up,
        extra_message_ids=tuple(filter(None, [classification.original_message_id])),
        now=now,
    )
    if classification.kind == "bounce":
        mark_undeliverable(
            session, classification.failed_recipients, classification.dsn_status, now
        )
    ticket = thread.ticket
    if classification.automatic:
        if ticket is not None:
            loop = reply_loop_on_ticket(session, policy.hygiene.rate_limits, ticket, now)
            if loop:
                return hold(RATE_LIMIT_REASON, loop)
        elif not _automatic_opens_ticket(classification, policy.hygiene):
            return hold(classification.kind, " ".join(classification.flags))
    else:
        thread = _follow_up_on(thread, policy.follow_up, now)
    outcome = _store_article(
        session, mailbox, raw, sha256, parsed, queue, now, classification, decision, thread, contact
    )
    _note_article(lookups, sha256, message_id, outcome, contact)
    return outcome


def _note_article(
    lookups: GroupLookups | None,
    sha256: str,
    message_id: str,
    outcome: IngestOutcome,
    contact: Contact | None,
) -> None:
    if lookups is not None:
        lookups.note_raw(sha256, outcome.ticket_number)
        contact_id = contact.id if contact else None
        lookups.note_article(message_id, outcome.ticket_id, outcome.ticket_number, contact_id)


def _same_message_elsewhere(
    session: Session,
    mailbox: str,
    raw: Content,
    sha256: str,
    now: datetime,
    message_id: str,
    lookups: GroupLookups | None,
) -> IngestOutcome | None:
    """The same mail reached us through another support address: one article is enough."""
    same_message = _inbound_article_ticket(session, message_id, lookups)
    if same_message is None:
        return None
    ticket_id, ticket_number = same_message
    _add_raw(session, mailbox, raw, sha256, now, ticket_id)
    session.flush()
    if lookups is not None:
        lookups.note_raw(sha256, ticket_number)
    return IngestOutcome("duplicate", ticket_number=ticket_number)


def _sender_contact(
    session: Session, parsed: ParsedMessage, now: datetime, lookups: GroupLookups | None
) -> Contact | None:
    sender = parsed.from_address
    if not (sender and sender.email):
        return None
    return upsert_contact(session, sender, now, lookups.contacts if lookups else None)


def _add_raw(
    session: Session,
    mailbox: str,
    raw: Content,
    sha256: str,
    now: datetime,
    ticket_id: int | None = None,
) -> RawMessage:
    raw_row = RawMessage(
        mailbox=mailbox,
        sha256=sha256,
        size=size_of(raw),
        received_at=now,
        ticket_id=ticket_id,
    )
    add_with_content(session, raw_row, raw)
    return raw_row


def _automatic_opens_ticket(classification: Classification, hygiene: HygieneSettings) -> bool:
    if classification.kind == "bounce":
        return hygiene.bounce_opens_ticket
    return hygiene.auto_reply_opens_ticket


def _follow_up_on(thread: ThreadMatch, settings: FollowUpSettings, now: datetime) -> ThreadMatch:
    """A customer's follow-up reopens a closed ticket, or after a while starts a linked one."""
    ticket = thread.ticket
    if ticket is None or ticket.status not in settings.closed_statuses:
        return thread
    if now - ticket.updated_at > timedelta(days=settings.reopen_within_days):
        return ThreadMatch(None, linked=ticket)
    ticket.status = "open"
    return thread


def _store_article(
    session: Session,
    mailbox: str,
    raw: Content,
    sha256: str,
    parsed: ParsedMessage,
    queue: str,
    now: datetime,
    classification: Classification,
    decision: RouteDecision,
    thread: ThreadMatch,
    contact: Contact | None,
) -> IngestOutcome:
    ticket = thread.ticket
    new_ticket = ticket is None
    if ticket is None:
        requester_id = contact.id if contact else None
        ticket = _new_ticket(
            session, parsed, mailbox, queue, requester_id, now, decision, thread.linked
        )
    elif not classification.automatic:
        # An out-of-office or a bounce is no news for the agent: the ticket keeps its place.
        ticket.updated_at = now
    # Added once the ticket has its id, so the row is inserted complete rather than updated.
    raw_row = _add_raw(session, mailbox, raw, sha256, now, ticket.id)
    session.flush()
    # What the classifier found goes into the article's INSERT: no second statement to add it.
    article = add_inbound_article(
        session,
        ticket=ticket,
        raw_row=raw_row,
        contact=contact,
        parsed=parsed,
        now=now,
        flags=[*classification.flags, *_bounce_flags(classification)],
        is_auto_reply=classification.kind == "auto-reply",
        is_bounce=classification.kind == "bounce",
    )
    return IngestOutcome(
        "ingested",
        ticket_number=ticket.number,
        new_ticket=new_ticket,
        article_id=article.id,
        ticket_id=ticket.id,
    )


def _bounce_flags(classification: Classification) -> list[str]:
    status = [f"status:{classification.dsn_status}"] if classification.dsn_status else []
    return status + [f"failed:{address}" for address in classification.failed_recipients]


def quarantine_message(
    session: Session,
    *,
    mailbox: str,
    raw: Content,
    sha256: str,
    reason: str,
    detail: str,
    now: datetime,
    lookups: GroupLookups | None = None,
) -> IngestOutcome:
    """Keep bytes that could not become a ticket; idempotent on (mailbox, sha256)."""
    stored = _stored_before(session, mailbox, sha256, lookups)
    if stored is not None:
        return stored
    if lookups is not None:
        lookups.note_quarantined(sha256)
    released = session.scalar(
        select(QuarantinedMessage).where(
            QuarantinedMessage.mailbox == mailbox, QuarantinedMessage.sha256 == sha256
        )
    )
    if released is not None:
        # A retried message held again: the one row per message is back in quarantine.
        released.released_at = None
        released.reason = db_text(reason, 64)
        released.detail = db_text(detail)
        session.flush()
        return IngestOutcome("quarantined", reason=reason)
    held = QuarantinedMessage(
        mailbox=mailbox,
        sha256=sha256,
        size=size_of(raw),
        reason=db_text(reason, 64),
        detail=db_text(detail),
        created_at=now,
    )
    add_with_content(session, held, raw)
    session.flush()
    return IngestOutcome("quarantined", reason=reason)
