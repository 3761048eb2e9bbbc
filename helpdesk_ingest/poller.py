"""One pass over one mailbox: RETR, parse, store in one transaction, COMMIT, and only then DELE.

A message still on the server is, by definition, not yet safely stored. Every path through this
module keeps that true: DELE is sent only after the transaction holding the message committed,
and QUIT (which makes the server apply the DELEs) is always safe because of that.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.hygiene import classify
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import ParseLimits, parse_message
from helpdesk_ingest.pop3 import Pop3Error, Pop3ServerError, Pop3Session
from helpdesk_ingest.routing import RoutingRule, route
from helpdesk_ingest.store.attempts import record_failed_attempt
from helpdesk_ingest.store.ingest import (
    DEFAULT_POLICY,
    IngestOutcome,
    IngestPolicy,
    ingest_message,
    quarantine_message,
)
from helpdesk_ingest.store.polls import finish_poll_run, start_poll_run

log = structlog.get_logger("helpdesk_ingest.poller")

# "skipped": another daemon holds the mailbox's lock and is polling it.
PollOutcome = Literal["ok", "failed", "interrupted", "skipped"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollOptions:
    """What one pass may do; built from Settings by the CLI."""

    queue: str
    ticket_tag_pattern: re.Pattern[str]
    checkpoint_every: int = 100
    max_messages: int = 1000
    routing_rules: tuple[RoutingRule, ...] = ()
    policy: IngestPolicy = DEFAULT_POLICY
    # Failed ingest transactions of one message (over passes) before it goes to quarantine.
    store_attempts: int = 3
    parse_limits: ParseLimits = field(default_factory=ParseLimits)


@dataclass
class PollCounts:
    fetched: int = 0
    ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    deleted: int = 0
    bytes: int = 0
    deferred: int = 0
    # Messages whose ingest failed in this pass: not tried again before the next pass.
    deferred_hashes: set[str] = field(default_factory=set)

    def count(self, outcome: IngestOutcome) -> None:
        if outcome.kind == "ingested":
            self.ingested += 1
        elif outcome.kind == "duplicate":
            self.duplicates += 1
        else:
            self.quarantined += 1


@dataclass(frozen=True)
class PollResult:
    mailbox: str
    outcome: PollOutcome
    counts: PollCounts = field(default_factory=PollCounts)
    left_on_server: int | None = None
    error: str | None = None
    duration_s: float = 0.0
    # What made a failed pass fail, so the scheduler can wait as long as that kind of failure
    # deserves (a refused login much longer than a dropped connection).
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def succeeded(self) -> bool:
        return self.outcome != "failed"


class DatabaseUnavailable(Exception):
    """The database could not take a message; it stays on the server for the next pass."""


class MessageDeferred(Exception):
    """The ingest transaction failed for this message; it stays on the server for a later pass."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"ingest failed {attempts} time(s)")
        self.attempts = attempts


def is_database_outage(exc: BaseException) -> bool:
    """True when the error says the database is unreachable, not that this message is bad."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def ingest_parsed(
    session: Session,
    mailbox: str,
    raw: bytes,
    sha256: str,
    parsed: ParsedMessage,
    options: PollOptions,
) -> IngestOutcome:
    """Classify, route and store one parsed message inside the caller's transaction."""
    return ingest_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=sha256,
        parsed=parsed,
        queue=options.queue,
        ticket_tag_pattern=options.ticket_tag_pattern,
        now=utc_now(),
        classification=classify(raw, parsed, options.policy.hygiene),
        decision=route(options.routing_rules, mailbox, parsed),
        policy=options.policy,
    )


def store_one(
    sessions: sessionmaker[Session],
    mailbox: str,
    raw: bytes,
    sha256: str,
    options: PollOptions,
) -> IngestOutcome:
    """Parse and store one message in one committed transaction; quarantine what cannot be stored.

    Raises DatabaseUnavailable when nothing could be committed; then the caller must not DELE.
    """
    parsed = parse_message(raw, options.parse_limits)
    try:
        with sessions.begin() as session:
            if isinstance(parsed, ParseFailure):
                return quarantine_message(
                    session,
                    mailbox=mailbox,
                    raw=raw,
                    sha256=sha256,
                    reason=parsed.reason,
                    detail=parsed.detail,
                    now=utc_now(),
                )
            return ingest_parsed(session, mailbox, raw, sha256, parsed, options)
    except Exception as exc:
        if is_database_outage(exc):
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


def handle_message(
    pop: Pop3Session,
    number: int,
    sessions: sessionmaker[Session],
    mailbox: str,
    options: PollOptions,
    counts: PollCounts,
) -> None:
    """RETR → parse → store → COMMIT → DELE, for message ``number`` of the open session."""
    started = time.perf_counter()
    raw = pop.retr(number)
    sha256 = hashlib.sha256(raw).hexdigest()
    counts.fetched += 1
    counts.bytes += len(raw)
    if sha256 in counts.deferred_hashes:
        return
    try:
        outcome = store_one(sessions, mailbox, raw, sha256, options)
    except MessageDeferred as deferred:
        counts.deferred += 1
        counts.deferred_hashes.add(sha256)
        log.warning(
            "message_deferred",
            number=number,
            size=len(raw),
            sha256=sha256[:12],
            attempts=deferred.attempts,
            limit=options.store_attempts,
        )
        return
    counts.count(outcome)
    # The transaction above has committed: only now may the server forget the message.
    try:
        pop.dele(number)
    except Pop3ServerError as exc:
        # Stored but still on the server: the next pass finds it stored and deletes it then.
        log.warning("message_delete_refused", number=number, response=str(exc))
    else:
        counts.deleted += 1
    log.info(
        "message_handled",
        number=number,
        size=len(raw),
        sha256=sha256[:12],
        outcome=outcome.kind,
        reason=outcome.reason,
        ticket=outcome.ticket_number,
        new_ticket=outcome.new_ticket,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _drain_one_session(
    pop: Pop3Session,
    sessions: sessionmaker[Session],
    mailbox: str,
    options: PollOptions,
    counts: PollCounts,
    budget: int,
    stop: threading.Event,
) -> tuple[int, int]:
    """Handle up to ``budget`` messages; returns (messages listed, messages handled)."""
    listing = pop.list()
    handled = 0
    for number, size in listing[:budget]:
        if stop.is_set():
            break
        if size > options.parse_limits.max_message_bytes:
            # Still downloaded, so its bytes are kept; the parser reads only its headers.
            log.warning(
                "message_over_size_limit",
                number=number,
                size=size,
                limit=options.parse_limits.max_message_bytes,
            )
        handle_message(pop, number, sessions, mailbox, options, counts)
        handled += 1
    return len(listing), handled


def poll_mailbox(
    mailbox: str,
    open_session: Callable[[], Pop3Session],
    sessions: sessionmaker[Session],
    options: PollOptions,
    stop: threading.Event | None = None,
) -> PollResult:
    """Drain one mailbox in sessions of at most ``checkpoint_every`` messages.

    Each session ends with QUIT, so the deletes of a long backlog become durable on the server
    as the pass goes instead of all at the very end.
    """
    stop = stop or threading.Event()
    counts = PollCounts()
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(mailbox=mailbox):
        try:
            with sessions.begin() as session:
                run_id = start_poll_run(session, mailbox=mailbox, now=utc_now())
        except SQLAlchemyError as exc:
            log.error("poll_failed", reason="database-unavailable", error=exc.__class__.__name__)
            return PollResult(mailbox, "failed", counts, error="database unavailable")
        log.info("poll_started", poll_run=run_id)
        outcome, left, error, failure = _run_sessions(
            mailbox, open_session, sessions, options, counts, stop
        )
        result = PollResult(
            mailbox, outcome, counts, left, error, round(time.perf_counter() - started, 3), failure
        )
        _record_finish(sessions, run_id, result)
        log_method = log.info if result.succeeded else log.error
        log_method(
            "poll_finished",
            poll_run=run_id,
            outcome=outcome,
            fetched=counts.fetched,
            ingested=counts.ingested,
            duplicates=counts.duplicates,
            quarantined=counts.quarantined,
            deleted=counts.deleted,
            deferred=counts.deferred,
            bytes=counts.bytes,
            left_on_server=left,
            error=error,
            duration_s=result.duration_s,
        )
        return result


def _run_sessions(
    mailbox: str,
    open_session: Callable[[], Pop3Session],
    sessions: sessionmaker[Session],
    options: PollOptions,
    counts: PollCounts,
    stop: threading.Event,
) -> tuple[PollOutcome, int | None, str | None, Exception | None]:
    left: int | None = None
    try:
        while not stop.is_set():
            budget = min(options.checkpoint_every, options.max_messages - counts.fetched)
            if budget <= 0:
                break
            deleted_before = counts.deleted
            with open_session() as pop:
                listed, handled = _drain_one_session(
                    pop, sessions, mailbox, options, counts, budget, stop
                )
                pop.quit()
            left = listed - (counts.deleted - deleted_before)
            if handled:
                log.info("checkpoint", handled=handled, left_on_server=left)
            # Stop when the mailbox is empty, or when a session deleted nothing (the server refuses
            # DELE): reconnecting would only fetch the same messages again.
            if listed <= handled or counts.deleted == deleted_before:
                break
    except DatabaseUnavailable as exc:
        log.error("database_unavailable", error=str(exc))
        return "failed", left, "database unavailable; undeleted messages stay on the server", exc
    except Pop3Error as exc:
        log.error("mailbox_error", error_type=type(exc).__name__, error=str(exc))
        return "failed", left, f"{type(exc).__name__}: {exc}", exc
    return ("interrupted" if stop.is_set() else "ok"), left, None, None


def _record_finish(sessions: sessionmaker[Session], run_id: int, result: PollResult) -> None:
    counts = result.counts
    try:
        with sessions.begin() as session:
            finish_poll_run(
                session,
                run_id,
                outcome=result.outcome,
                fetched=counts.fetched,
                ingested=counts.ingested,
                duplicates=counts.duplicates,
                quarantined=counts.quarantined,
                deleted=counts.deleted,
                error=result.error,
                now=utc_now(),
            )
    except SQLAlchemyError as exc:
        log.warning("poll_run_not_recorded", poll_run=run_id, error=exc.__class__.__name__)
