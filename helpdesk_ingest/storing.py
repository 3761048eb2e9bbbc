"""Messages into the database in committed transactions: a whole group, or one by one.

The callers send DELE only for messages whose transaction returned here: an exception means
nothing of that group (or message) may be deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.hygiene.verdict import Classification
from helpdesk_ingest.message import ParseFailure
from helpdesk_ingest.poll_options import PollOptions
from helpdesk_ingest.prepared import PreparedMessage
from helpdesk_ingest.routing import route
from helpdesk_ingest.spool import Content
from helpdesk_ingest.store.attempts import record_failed_attempt
from helpdesk_ingest.store.ingest import (
    IngestOutcome,
    Staged,
    quarantine_message,
    stage_message,
    stage_quarantine,
)
from helpdesk_ingest.store.lookups import GroupLookups, GroupMessage, look_up_group
from helpdesk_ingest.store.outage import DatabaseUnavailable, database_is_away
from helpdesk_ingest.store.pending import PendingWrites

log = structlog.get_logger("helpdesk_ingest.storing")


def utc_now() -> datetime:
    return datetime.now(UTC)


class MessageDeferred(Exception):
    """The ingest transaction failed for this message; it stays on the server for a later pass."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"ingest failed {attempts} time(s)")
        self.attempts = attempts


@dataclass(frozen=True)
class Downloaded:
    """One message of the open session, downloaded and prepared, not yet stored."""

    number: int
    raw: Content
    prepared: PreparedMessage


def store_prepared(
    session: Session, mailbox: str, raw: Content, prepared: PreparedMessage, options: PollOptions
) -> IngestOutcome:
    """Route and store one prepared message in the caller's transaction."""
    return _store_in(session, mailbox, [(raw, prepared)], options)[0]


def _verdict(prepared: PreparedMessage) -> Classification:
    if prepared.classification is None:
        # ``prepare`` classifies every message it parsed: this is a bug, not the message's fault.
        raise TypeError(f"message {prepared.sha256[:12]} was parsed but never classified")
    return prepared.classification


def _stage(
    session: Session,
    mailbox: str,
    raw: Content,
    prepared: PreparedMessage,
    options: PollOptions,
    pending: PendingWrites,
    lookups: GroupLookups | None = None,
) -> Staged:
    now = lookups.now if lookups else utc_now()
    parsed = prepared.parsed
    if isinstance(parsed, ParseFailure):
        return stage_quarantine(
            session,
            mailbox=mailbox,
            raw=raw,
            sha256=prepared.sha256,
            reason=parsed.reason,
            detail=parsed.detail,
            now=now,
            lookups=lookups,
        )
    return stage_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=prepared.sha256,
        parsed=parsed,
        queue=options.queue,
        ticket_tag_pattern=options.ticket_tag_pattern,
        now=now,
        classification=_verdict(prepared),
        decision=route(options.routing_rules, mailbox, parsed),
        policy=options.policy,
        pending=pending,
        lookups=lookups,
    )


def _store_in(
    session: Session,
    mailbox: str,
    messages: Sequence[tuple[Content, PreparedMessage]],
    options: PollOptions,
    lookups: GroupLookups | None = None,
) -> list[IngestOutcome]:
    """Stage each message, then write them all in one flush: few statements for many rows."""
    pending = PendingWrites()
    staged = [
        _stage(session, mailbox, raw, prepared, options, pending, lookups)
        for raw, prepared in messages
    ]
    pending.flush(session)
    return [each.outcome() for each in staged]


def _store_all_in(
    session: Session, mailbox: str, group: Sequence[Downloaded], options: PollOptions
) -> list[IngestOutcome]:
    described = [
        GroupMessage(
            message.prepared.sha256,
            None if isinstance(message.prepared.parsed, ParseFailure) else message.prepared.parsed,
            message.prepared.classification.original_message_id
            if message.prepared.classification
            else None,
        )
        for message in group
    ]
    limits = options.policy.hygiene.rate_limits
    lookups = look_up_group(session, mailbox, described, limits, utc_now())
    messages = [(message.raw, message.prepared) for message in group]
    return _store_in(session, mailbox, messages, options, lookups)


def store_group(
    sessions: sessionmaker[Session],
    mailbox: str,
    group: Sequence[Downloaded],
    options: PollOptions,
) -> list[IngestOutcome | MessageDeferred]:
    """Store a group of messages in one committed transaction; one outcome per message.

    Raises DatabaseUnavailable when nothing could be committed; then the caller must not DELE.
    When the group's transaction fails for any other reason, each message is stored by itself,
    so one bad message costs only itself: it is deferred or, after repeated failures,
    quarantined, and the others go through.
    """
    if len(group) > 1:
        try:
            with sessions.begin() as session:
                return list(_store_all_in(session, mailbox, group, options))
        except Exception as exc:
            if database_is_away(exc, sessions):
                raise DatabaseUnavailable(exc.__class__.__name__) from exc
            log.warning("group_store_failed", messages=len(group), error=type(exc).__name__)
    outcomes: list[IngestOutcome | MessageDeferred] = []
    for message in group:
        try:
            outcomes.append(store_one(sessions, mailbox, message, options))
        except MessageDeferred as deferred:
            outcomes.append(deferred)
    return outcomes


def store_one(
    sessions: sessionmaker[Session],
    mailbox: str,
    message: Downloaded,
    options: PollOptions,
) -> IngestOutcome:
    """Store one message in one committed transaction; quarantine what cannot be stored.

    Raises DatabaseUnavailable when nothing could be committed; then the caller must not DELE.
    Raises MessageDeferred when the transaction failed and the message should be tried again.
    """
    raw, sha256 = message.raw, message.prepared.sha256
    try:
        with sessions.begin() as session:
            return store_prepared(session, mailbox, raw, message.prepared, options)
    except Exception as exc:
        if database_is_away(exc, sessions):
            raise DatabaseUnavailable(exc.__class__.__name__) from exc
        log.exception("message_store_failed", sha256=sha256[:12])
        # Only the type: the text of a database error can quote the message's contents.
        error = type(exc).__name__
    try:
        with sessions.begin() as session:
            attempts = record_failed_attempt(
                session, mailbox=mailbox, sha256=sha256, error=error, now=utc_now()
            )
        if attempts < options.store_attempts:
            # Perhaps a passing fault: leave the message on the server and try it next pass.
            raise MessageDeferred(attempts)
        # The database is up but keeps refusing this message: keep its bytes where operators see
        # them rather than retrying it forever in front of every message behind it.
        with sessions.begin() as session:
            return quarantine_message(
                session,
                mailbox=mailbox,
                raw=raw,
                sha256=sha256,
                reason="store-error",
                detail=(
                    f"the ingest transaction failed {attempts} times, last with {error}; "
                    "see the message_store_failed log events"
                ),
                now=utc_now(),
            )
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(exc.__class__.__name__) from exc
