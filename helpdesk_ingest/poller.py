"""One pass over one mailbox: RETR, parse, store in one transaction, COMMIT, and only then DELE.

A message still on the server is, by definition, not yet safely stored. Every path through this
module keeps that true: DELE is sent only after the transaction holding the message committed,
and QUIT (which makes the server apply the DELEs) is always safe because of that.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.hygiene import Classification, classify
from helpdesk_ingest.message import ParsedMessage, ParseFailure
from helpdesk_ingest.parsing import ParseLimits
from helpdesk_ingest.pop3 import Pop3Error, Pop3Session
from helpdesk_ingest.prepare import PreparedMessage, PrepareSettings
from helpdesk_ingest.routing import RoutingRule, route
from helpdesk_ingest.store.attempts import record_failed_attempt
from helpdesk_ingest.store.ingest import (
    DEFAULT_POLICY,
    IngestOutcome,
    IngestPolicy,
    ingest_message,
    quarantine_message,
)
from helpdesk_ingest.store.lookups import GroupLookups, GroupMessage, look_up_group
from helpdesk_ingest.store.polls import finish_poll_run, start_poll_run
from helpdesk_ingest.workers import InlinePreparer, Preparation, Preparer

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
    # Messages stored in one transaction and then deleted together: one COMMIT and one round
    # trip of DELEs per group instead of per message. The invariant holds per group.
    group_size: int = 32
    # A group's bytes, as LIST reports them: what one group may hold in memory.
    group_bytes: int = 4 * 1024 * 1024

    def prepare_settings(self) -> PrepareSettings:
        return PrepareSettings(self.parse_limits, self.policy.hygiene)


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
    classification: Classification | None = None,
    lookups: GroupLookups | None = None,
) -> IngestOutcome:
    """Classify (unless done already), route and store one message in the caller's transaction.

    With ``lookups`` (a group's), the message is stored at the group's ``now``.
    """
    return ingest_message(
        session,
        mailbox=mailbox,
        raw=raw,
        sha256=sha256,
        parsed=parsed,
        queue=options.queue,
        ticket_tag_pattern=options.ticket_tag_pattern,
        now=lookups.now if lookups else utc_now(),
        classification=classification or classify(raw, parsed, options.policy.hygiene),
        decision=route(options.routing_rules, mailbox, parsed),
        policy=options.policy,
        lookups=lookups,
    )


@dataclass(frozen=True)
class Downloaded:
    """One message of the open session, downloaded and prepared, not yet stored."""

    number: int
    raw: bytes
    prepared: PreparedMessage


def _store_in(
    session: Session,
    mailbox: str,
    message: Downloaded,
    options: PollOptions,
    lookups: GroupLookups | None = None,
) -> IngestOutcome:
    prepared = message.prepared
    if isinstance(prepared.parsed, ParseFailure):
        return quarantine_message(
            session,
            mailbox=mailbox,
            raw=message.raw,
            sha256=prepared.sha256,
            reason=prepared.parsed.reason,
            detail=prepared.parsed.detail,
            now=lookups.now if lookups else utc_now(),
            lookups=lookups,
        )
    return ingest_parsed(
        session,
        mailbox,
        message.raw,
        prepared.sha256,
        prepared.parsed,
        options,
        prepared.classification,
        lookups,
    )


def _store_all_in(
    session: Session, mailbox: str, group: Sequence[Downloaded], options: PollOptions
) -> list[IngestOutcome | MessageDeferred]:
    described = [
        GroupMessage(
            message.prepared.sha256,
            None if isinstance(message.prepared.parsed, ParseFailure) else message.prepared.parsed,
        )
        for message in group
    ]
    limits = options.policy.hygiene.rate_limits
    lookups = look_up_group(session, mailbox, described, limits, utc_now())
    return [_store_in(session, mailbox, message, options, lookups) for message in group]


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
                return _store_all_in(session, mailbox, group, options)
        except Exception as exc:
            if is_database_outage(exc):
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
            return _store_in(session, mailbox, message, options)
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


@dataclass
class _InFlight:
    """A group downloaded from the server whose preparation may still be running."""

    numbers: list[int]
    raws: tuple[bytes, ...]
    preparation: Preparation
    started: float
    # The group's size as LIST reported it.
    listed_bytes: int


def plan_groups(
    listing: Sequence[tuple[int, int]], options: PollOptions
) -> list[list[tuple[int, int]]]:
    """Split (number, size) pairs into groups of at most ``group_size`` messages and, unless a
    single message is larger, ``group_bytes`` bytes: the sizes from LIST bound what one group
    holds in memory before anything is downloaded."""
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    current_bytes = 0
    for number, size in listing:
        if current and (
            len(current) >= options.group_size or current_bytes + size > options.group_bytes
        ):
            groups.append(current)
            current, current_bytes = [], 0
        current.append((number, size))
        current_bytes += size
    if current:
        groups.append(current)
    return groups


def _download(
    pop: Pop3Session,
    group: list[tuple[int, int]],
    preparer: Preparer,
    options: PollOptions,
    counts: PollCounts,
) -> _InFlight:
    started = time.perf_counter()
    for number, size in group:
        if size > options.parse_limits.max_message_bytes:
            # Still downloaded, so its bytes are kept; the parser reads only its headers.
            log.warning(
                "message_over_size_limit",
                number=number,
                size=size,
                limit=options.parse_limits.max_message_bytes,
            )
    numbers = [number for number, _ in group]
    raws = pop.retr_many(numbers)
    counts.fetched += len(raws)
    counts.bytes += sum(len(raw) for raw in raws)
    listed_bytes = sum(size for _, size in group)
    return _InFlight(numbers, raws, preparer.submit(raws), started, listed_bytes)


def _store_then_delete(
    pop: Pop3Session,
    flight: _InFlight,
    sessions: sessionmaker[Session],
    mailbox: str,
    options: PollOptions,
    counts: PollCounts,
) -> None:
    """COMMIT the group, then DELE exactly the messages that transaction stored."""
    downloaded = [
        Downloaded(number, raw, prepared)
        for number, raw, prepared in zip(
            flight.numbers, flight.raws, flight.preparation.results(), strict=True
        )
        if prepared.sha256 not in counts.deferred_hashes
    ]
    outcomes = store_group(sessions, mailbox, downloaded, options)
    stored: list[tuple[Downloaded, IngestOutcome]] = []
    for message, outcome in zip(downloaded, outcomes, strict=True):
        if isinstance(outcome, MessageDeferred):
            counts.deferred += 1
            counts.deferred_hashes.add(message.prepared.sha256)
            log.warning(
                "message_deferred",
                number=message.number,
                size=len(message.raw),
                sha256=message.prepared.sha256[:12],
                attempts=outcome.attempts,
                limit=options.store_attempts,
            )
        else:
            counts.count(outcome)
            stored.append((message, outcome))
    # The transaction holding these messages has committed: only now may the server forget them.
    refused = pop.dele_many([message.number for message, _ in stored])
    elapsed_ms = round((time.perf_counter() - flight.started) * 1000, 1)
    for message, outcome in stored:
        if message.number in refused:
            # Stored but still on the server: the next pass finds it stored and deletes it then.
            log.warning(
                "message_delete_refused",
                number=message.number,
                response=str(refused[message.number]),
            )
        else:
            counts.deleted += 1
        log.info(
            "message_handled",
            number=message.number,
            size=len(message.raw),
            sha256=message.prepared.sha256[:12],
            outcome=outcome.kind,
            reason=outcome.reason,
            ticket=outcome.ticket_number,
            new_ticket=outcome.new_ticket,
            group_ms=elapsed_ms,
        )


def _drain_one_session(
    pop: Pop3Session,
    sessions: sessionmaker[Session],
    mailbox: str,
    options: PollOptions,
    counts: PollCounts,
    budget: int,
    stop: threading.Event,
    preparer: Preparer,
) -> tuple[int, int]:
    """Handle up to ``budget`` messages; returns (messages listed, messages handled).

    Up to two groups are in flight: while the workers prepare one, this thread stores the one
    before it; unless both together would exceed twice ``group_bytes`` (big messages), then the
    waiting group is stored first. On a stop request the group being stored is finished; one only
    downloaded is left on the server, untouched.
    """
    listing = pop.list()
    handled = 0
    waiting: deque[_InFlight] = deque()

    def store_oldest() -> None:
        nonlocal handled
        flight = waiting.popleft()
        _store_then_delete(pop, flight, sessions, mailbox, options, counts)
        handled += len(flight.numbers)

    for group in plan_groups(listing[:budget], options):
        group_bytes = sum(size for _, size in group)
        if waiting and waiting[0].listed_bytes + group_bytes > 2 * options.group_bytes:
            store_oldest()
        if stop.is_set():
            break
        waiting.append(_download(pop, group, preparer, options, counts))
        if len(waiting) > 1:
            store_oldest()
    if waiting and not stop.is_set():
        store_oldest()
    return len(listing), handled


def poll_mailbox(
    mailbox: str,
    open_session: Callable[[], Pop3Session],
    sessions: sessionmaker[Session],
    options: PollOptions,
    stop: threading.Event | None = None,
    preparer: Preparer | None = None,
) -> PollResult:
    """Drain one mailbox in sessions of at most ``checkpoint_every`` messages.

    Each session ends with QUIT, so the deletes of a long backlog become durable on the server
    as the pass goes instead of all at the very end. ``preparer`` parses and classifies (a pool
    of worker processes, shared by the mailboxes); without one, this thread does it.
    """
    stop = stop or threading.Event()
    preparer = preparer or InlinePreparer(options.prepare_settings())
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
            mailbox, open_session, sessions, options, counts, stop, preparer
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
    preparer: Preparer,
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
                    pop, sessions, mailbox, options, counts, budget, stop, preparer
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
