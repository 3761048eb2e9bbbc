"""The ingest transaction's body: dedupe, thread, contact, ticket, article, attachments, raw bytes.

These functions add and flush; the caller owns the transaction and commits it. A group's
messages are staged one after another and written by one flush at the end (store.pending), so
what a staged message becomes (its ticket's number, its article's id) is known only then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk_ingest.hygiene.settings import HygieneSettings
from helpdesk_ingest.hygiene.verdict import CUSTOMER, Classification
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
from helpdesk_ingest.store.pending import TICKET_NUMBER_OFFSET, PendingWrites
from helpdesk_ingest.store.ratelimit import (
    RATE_LIMIT_REASON,
    reply_loop_on_ticket,
    sender_over_limit,
)
from helpdesk_ingest.store.threading import ThreadMatch, find_thread
from helpdesk_ingest.store.threading_settings import FollowUpSettings
from helpdesk_ingest.store.values import db_text, stored_message_id

__all__ = [
    "TICKET_NUMBER_OFFSET",
    "IngestOutcome",
    "IngestPolicy",
    "Staged",
    "find_stored",
    "ingest_message",
    "quarantine_message",
    "stage_message",
    "stage_quarantine",
]


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
class Staged:
    """A message added to the transaction; its outcome, once the transaction has flushed."""

    kind: Literal["ingested", "duplicate", "quarantined"]
    ticket: Ticket | None = None
    new_ticket: bool = False
    article: Article | None = None
    reason: str | None = None

    def outcome(self) -> IngestOutcome:
        ticket, article = self.ticket, self.article
        return IngestOutcome(
            self.kind,
            ticket_number=ticket.number if ticket else None,
            new_ticket=self.new_ticket,
            article_id=article.id if article else None,
            reason=self.reason,
            ticket_id=ticket.id if ticket else None,
        )


@dataclass(frozen=True)
class IngestPolicy:
    """The settings that shape the ingest transaction beyond the mailbox's queue."""

    hygiene: HygieneSettings = field(default_factory=HygieneSettings)
    follow_up: FollowUpSettings = field(default_factory=FollowUpSettings)


DEFAULT_POLICY = IngestPolicy()


def find_stored(session: Session, mailbox: str, sha256: str) -> IngestOutcome | None:
    """What became of these exact bytes from this mailbox before, if they were stored."""
    staged = _staged_before(session, mailbox, sha256)
    return None if staged is None else staged.outcome()


def _staged_before(session: Session, mailbox: str, sha256: str) -> Staged | None:
    raw = session.execute(
        select(RawMessage.id, Ticket)
        .outerjoin(Ticket, Ticket.id == RawMessage.ticket_id)
        .where(RawMessage.mailbox == mailbox, RawMessage.sha256 == sha256)
    ).first()
    if raw is not None:
        return Staged("duplicate", ticket=raw.Ticket)
    # A released row is history: its message was re-ingested (`quarantine retry`) or is being.
    quarantined = session.scalar(
        select(QuarantinedMessage.id).where(
            QuarantinedMessage.mailbox == mailbox,
            QuarantinedMessage.sha256 == sha256,
            QuarantinedMessage.released_at.is_(None),
        )
    )
    if quarantined is not None:
        return Staged("quarantined")
    return None


def _stored_before(
    session: Session, mailbox: str, sha256: str, lookups: GroupLookups | None
) -> Staged | None:
    if lookups is None:
        return _staged_before(session, mailbox, sha256)
    before = lookups.stored.get(sha256)
    if before is None:
        return None
    if before.quarantined:
        return Staged("quarantined")
    return Staged("duplicate", ticket=before.ticket)


def _inbound_article_ticket(
    session: Session, message_id: str, lookups: GroupLookups | None
) -> Ticket | None:
    """The ticket of an inbound article with this Message-ID, if there is one."""
    if lookups is not None:
        return lookups.inbound.get(message_id)
    lock_message_id(session, message_id)
    return session.scalars(
        select(Ticket)
        .join(Article, Ticket.id == Article.ticket_id)
        .where(Article.message_id == message_id, Article.direction == "inbound")
    ).first()


def _new_ticket(
    session: Session,
    parsed: ParsedMessage,
    mailbox: str,
    queue: str,
    requester: Contact | None,
    now: datetime,
    decision: RouteDecision,
    linked: Ticket | None,
    pending: PendingWrites,
) -> Ticket:
    ticket = Ticket(
        subject=db_text(parsed.subject),
        status="new",
        priority=decision.priority or "normal",
        queue=decision.queue or queue,
        requester=requester,
        mailbox=mailbox,
        tags=list(decision.tags),
        linked_ticket_id=linked.id if linked else None,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    pending.new_tickets.append(ticket)
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
) -> IngestOutcome:
    """Store one parsed message; idempotent on (mailbox, sha256) and on inbound Message-ID.

    Mail that must not become an article (a routing rule's quarantine, our own mail coming back,
    a storm, an automatic mail answering no ticket) is kept in quarantine with its reason.
    """
    pending = PendingWrites()
    staged = stage_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=sha256,
        parsed=parsed,
        queue=queue,
        ticket_tag_pattern=ticket_tag_pattern,
        now=now,
        classification=classification,
        decision=decision,
        policy=policy,
        pending=pending,
    )
    pending.flush(session)
    return staged.outcome()


def stage_message(
    session: Session,
    *,
    mailbox: str,
    raw: Content,
    sha256: str,
    parsed: ParsedMessage,
    queue: str,
    ticket_tag_pattern: re.Pattern[str],
    now: datetime,
    classification: Classification,
    decision: RouteDecision,
    policy: IngestPolicy,
    pending: PendingWrites,
    lookups: GroupLookups | None = None,
) -> Staged:
    """``ingest_message``'s work, with the rows left in ``pending`` for the caller to flush.

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

    def hold(reason: str, detail: str) -> Staged:
        return stage_quarantine(
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
        known=lookups.threads if lookups else None,
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
    staged = _store_article(
        session,
        mailbox,
        raw,
        sha256,
        parsed,
        queue,
        now,
        classification,
        decision,
        thread,
        contact,
        pending,
    )
    _note_article(lookups, sha256, message_id, staged, contact)
    return staged


def _note_article(
    lookups: GroupLookups | None,
    sha256: str,
    message_id: str,
    staged: Staged,
    contact: Contact | None,
) -> None:
    if lookups is not None and staged.ticket is not None:
        lookups.note_raw(sha256, staged.ticket)
        lookups.note_article(message_id, staged.ticket, contact)


def _same_message_elsewhere(
    session: Session,
    mailbox: str,
    raw: Content,
    sha256: str,
    now: datetime,
    message_id: str,
    lookups: GroupLookups | None,
) -> Staged | None:
    """The same mail reached us through another support address: one article is enough."""
    ticket = _inbound_article_ticket(session, message_id, lookups)
    if ticket is None:
        return None
    _add_raw(session, mailbox, raw, sha256, now, ticket)
    if lookups is not None:
        lookups.note_raw(sha256, ticket)
    return Staged("duplicate", ticket=ticket)


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
    ticket: Ticket | None = None,
) -> RawMessage:
    raw_row = RawMessage(
        mailbox=mailbox,
        sha256=sha256,
        size=size_of(raw),
        received_at=now,
        ticket=ticket,
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
    pending: PendingWrites,
) -> Staged:
    ticket = thread.ticket
    new_ticket = ticket is None
    if ticket is None:
        ticket = _new_ticket(
            session, parsed, mailbox, queue, contact, now, decision, thread.linked, pending
        )
    elif not classification.automatic:
        # An out-of-office or a bounce is no news for the agent: the ticket keeps its place.
        ticket.updated_at = now
    raw_row = _add_raw(session, mailbox, raw, sha256, now, ticket)
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
        pending=pending,
    )
    return Staged("ingested", ticket=ticket, new_ticket=new_ticket, article=article)


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
) -> IngestOutcome:
    """Keep bytes that could not become a ticket; idempotent on (mailbox, sha256)."""
    staged = stage_quarantine(
        session, mailbox=mailbox, raw=raw, sha256=sha256, reason=reason, detail=detail, now=now
    )
    session.flush()
    return staged.outcome()


def stage_quarantine(
    session: Session,
    *,
    mailbox: str,
    raw: Content,
    sha256: str,
    reason: str,
    detail: str,
    now: datetime,
    lookups: GroupLookups | None = None,
) -> Staged:
    """``quarantine_message``'s work, written at the caller's next flush."""
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
        return Staged("quarantined", reason=reason)
    held = QuarantinedMessage(
        mailbox=mailbox,
        sha256=sha256,
        size=size_of(raw),
        reason=db_text(reason, 64),
        detail=db_text(detail),
        created_at=now,
    )
    add_with_content(session, held, raw)
    return Staged("quarantined", reason=reason)
