"""One pass over one mailbox: RETR, parse, store in one transaction, COMMIT, and only then DELE.

A message still on the server is, by definition, not yet safely stored. Every path through this
module keeps that true: DELE is sent only after the transaction holding the message committed,
and QUIT (which makes the server apply the DELEs) is always safe because of that.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.poll_options import PollOptions
from helpdesk_ingest.pop3 import Pop3Error, Pop3ServerError, Pop3Session
from helpdesk_ingest.spool import Content, Spool, SpoolError, size_of
from helpdesk_ingest.store.ingest import IngestOutcome
from helpdesk_ingest.store.outage import DatabaseUnavailable
from helpdesk_ingest.store.polls import finish_poll_run, start_poll_run
from helpdesk_ingest.storing import (
    Downloaded,
    MessageDeferred,
    store_group,
    utc_now,
)
from helpdesk_ingest.workers import InlinePreparer, Preparation, Preparer

log = structlog.get_logger("helpdesk_ingest.poller")

__all__ = ["PollCounts", "PollOptions", "PollOutcome", "PollResult", "poll_mailbox"]

# Groups downloaded and not yet stored: the one this thread stores, and two more that the
# workers prepare meanwhile. With only one more, the workers often had nothing left to do
# before this thread came back for it, and this thread then waited for them.
GROUPS_IN_FLIGHT = 3

# "skipped": another daemon holds the mailbox's lock and is polling it.
PollOutcome = Literal["ok", "failed", "interrupted", "skipped"]


@dataclass
class PollCounts:
    fetched: int = 0
    ingested: int = 0
    duplicates: int = 0
    quarantined: int = 0
    deleted: int = 0
    bytes: int = 0
    deferred: int = 0
    # Messages the server refused to send (RETR answered -ERR); left on it.
    refused: int = 0
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
    # The pass stopped at max_messages_per_poll with more messages waiting: a backlog, whose
    # next pass should not wait for the regular interval.
    more_waiting: bool = False

    @property
    def succeeded(self) -> bool:
        return self.outcome != "failed"


@dataclass
class _InFlight:
    """A group downloaded from the server whose preparation may still be running."""

    numbers: list[int]
    raws: tuple[Content, ...]
    preparation: Preparation
    started: float
    # The group's size as LIST reported it.
    listed_bytes: int
    # Messages of the group the server refused to send, left on it.
    refused: int = 0

    def release(self) -> None:
        """Remove the group's spooled files: stored, or left on the server, it is done with."""
        for raw in self.raws:
            Spool.release(raw)


def _listed_size(group: Sequence[tuple[int, int]]) -> int:
    """The size of a group of (number, size) pairs, as LIST reported it."""
    return sum(size for _, size in group)


def _listed_size_of(flights: deque[_InFlight]) -> int:
    return sum(flight.listed_bytes for flight in flights)


def plan_groups(
    listing: Sequence[tuple[int, int]], options: PollOptions
) -> list[list[tuple[int, int]]]:
    """Split (number, size) pairs into groups of at most ``group_size`` messages and
    ``group_bytes`` bytes: the sizes from LIST bound what one group holds in memory before
    anything is downloaded. A message to be spooled is a group by itself."""
    groups: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    current_bytes = 0
    for number, size in listing:
        spooled = size > options.spool_over_bytes
        if current and (
            spooled
            or len(current) >= options.group_size
            or current_bytes + size > options.group_bytes
        ):
            groups.append(current)
            current, current_bytes = [], 0
        current.append((number, size))
        current_bytes += size
        if spooled:
            groups.append(current)
            current, current_bytes = [], 0
    if current:
        groups.append(current)
    return groups


def _retrieve(
    pop: Pop3Session, group: list[tuple[int, int]], options: PollOptions, spool: Spool
) -> tuple[dict[int, Content], dict[int, Pop3ServerError]]:
    """The group's messages by number, and the server's refusals to send some of them."""
    if len(group) == 1 and group[0][1] > options.spool_over_bytes:
        number = group[0][0]
        try:
            return {number: spool.receive(lambda write: pop.retr_into(number, write))}, {}
        except Pop3ServerError as exc:
            return {}, {number: exc}
    retrieved = pop.retr_many([number for number, _ in group])
    return dict(retrieved.bodies), retrieved.refused


def _download(
    pop: Pop3Session,
    group: list[tuple[int, int]],
    preparer: Preparer,
    options: PollOptions,
    counts: PollCounts,
    spool: Spool,
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
    bodies, refused = _retrieve(pop, group, options, spool)
    for number, size in group:
        if number in refused:
            # The server will not send it (Dovecot, for a message file it cannot read): it stays
            # there, and the messages behind it are not held up.
            counts.refused += 1
            log.error(
                "message_retrieve_refused", number=number, size=size, response=str(refused[number])
            )
    raws = tuple(bodies.values())
    counts.fetched += len(raws)
    counts.bytes += sum(size_of(raw) for raw in raws)
    return _InFlight(
        list(bodies), raws, preparer.submit(raws), started, _listed_size(group), len(refused)
    )


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
                size=size_of(message.raw),
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
            size=size_of(message.raw),
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
    spool: Spool,
) -> tuple[int, int]:
    """Handle up to ``budget`` messages; returns (messages listed, messages handled).

    Up to ``GROUPS_IN_FLIGHT`` groups are in flight: while the workers prepare the newer ones,
    this thread stores the oldest; unless together they would exceed that many times
    ``group_bytes`` (big messages), then the oldest are stored first. On a stop request the
    group being stored is finished; those only downloaded are left on the server, untouched.
    """
    listing = pop.list()
    handled = 0
    waiting: deque[_InFlight] = deque()

    def store_oldest() -> None:
        nonlocal handled
        flight = waiting.popleft()
        try:
            _store_then_delete(pop, flight, sessions, mailbox, options, counts)
        finally:
            flight.release()
        handled += len(flight.numbers) + flight.refused

    bound = GROUPS_IN_FLIGHT * options.group_bytes
    try:
        for group in plan_groups(listing[:budget], options):
            while waiting and _listed_size_of(waiting) + _listed_size(group) > bound:
                store_oldest()
            if stop.is_set():
                break
            waiting.append(_download(pop, group, preparer, options, counts, spool))
            if len(waiting) == GROUPS_IN_FLIGHT:
                store_oldest()
        while waiting and not stop.is_set():
            store_oldest()
    finally:
        for flight in waiting:
            # Left on the server: once its worker is done with the files, they can go.
            flight.preparation.settle()
            flight.release()
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
            return PollResult(
                mailbox, "failed", counts, error="database unavailable", exception=exc
            )
        log.info("poll_started", poll_run=run_id)
        end = _run_sessions(mailbox, open_session, sessions, options, counts, stop, preparer)
        result = PollResult(
            mailbox,
            end.outcome,
            counts,
            end.left,
            end.error,
            round(time.perf_counter() - started, 3),
            end.failure,
            end.more_waiting,
        )
        _record_finish(sessions, run_id, result)
        log_method = log.info if result.succeeded else log.error
        log_method(
            "poll_finished",
            poll_run=run_id,
            outcome=result.outcome,
            fetched=counts.fetched,
            ingested=counts.ingested,
            duplicates=counts.duplicates,
            quarantined=counts.quarantined,
            deleted=counts.deleted,
            deferred=counts.deferred,
            refused=counts.refused,
            bytes=counts.bytes,
            left_on_server=result.left_on_server,
            more_waiting=result.more_waiting,
            error=result.error,
            duration_s=result.duration_s,
        )
        return result


@dataclass(frozen=True)
class _PassEnd:
    outcome: PollOutcome
    left: int | None
    error: str | None = None
    failure: Exception | None = None
    more_waiting: bool = False


def _run_sessions(
    mailbox: str,
    open_session: Callable[[], Pop3Session],
    sessions: sessionmaker[Session],
    options: PollOptions,
    counts: PollCounts,
    stop: threading.Event,
    preparer: Preparer,
) -> _PassEnd:
    left: int | None = None
    more_waiting = False
    try:
        with Spool(options.spool_dir) as spool:
            while not stop.is_set():
                budget = min(options.checkpoint_every, options.max_messages - counts.fetched)
                if budget <= 0:
                    # Cut short: the session before listed more than it handled (else the loop
                    # had ended below), and max_messages_per_poll is at least 1.
                    more_waiting = True
                    break
                deleted_before = counts.deleted
                with open_session() as pop:
                    listed, handled = _drain_one_session(
                        pop, sessions, mailbox, options, counts, budget, stop, preparer, spool
                    )
                    pop.quit()
                left = listed - (counts.deleted - deleted_before)
                if handled:
                    log.info("checkpoint", handled=handled, left_on_server=left)
                # Stop when the mailbox is empty, or when a session deleted nothing (the server
                # refuses DELE): reconnecting would only fetch the same messages again.
                if listed <= handled or counts.deleted == deleted_before:
                    break
    except SpoolError as exc:
        # Disk full or the directory gone: the message being downloaded stays on the server.
        log.error("spool_failed", error=str(exc))
        return _PassEnd("failed", left, f"SpoolError: {exc}", exc)
    except DatabaseUnavailable as exc:
        log.error("database_unavailable", error=str(exc))
        return _PassEnd(
            "failed", left, "database unavailable; undeleted messages stay on the server", exc
        )
    except Pop3Error as exc:
        log.error("mailbox_error", error_type=type(exc).__name__, error=str(exc))
        return _PassEnd("failed", left, f"{type(exc).__name__}: {exc}", exc)
    if stop.is_set():
        return _PassEnd("interrupted", left)
    # Only a pass cut short by max_messages_per_poll: one that left messages behind for another
    # reason (deferred, or DELE refused) waits for the regular interval before trying them again.
    return _PassEnd("ok", left, more_waiting=more_waiting)


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
