"""Builds the long-lived objects from settings: database engine, session factory, poll jobs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

import structlog
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.backoff import BackoffPolicy, FailureTracker
from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.locking import mailbox_lock
from helpdesk_ingest.memory import return_large_buffers_to_the_system
from helpdesk_ingest.metrics import PollMetrics
from helpdesk_ingest.poller import PollOptions, PollResult, poll_mailbox
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.ingest import IngestPolicy
from helpdesk_ingest.store.schema import schema_status
from helpdesk_ingest.workers import Preparer, preparer_for

log = structlog.get_logger("helpdesk_ingest.runtime")

# After a pass stopped at max_messages_per_poll with more waiting, the pause before the next:
# long enough for the scheduler to see this pass finished, so the next is not skipped as an
# overlap, and short against the pass itself.
BACKLOG_PAUSE_S = 0.2


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    failures: FailureTracker = field(default_factory=FailureTracker)
    metrics: PollMetrics = field(default_factory=PollMetrics)
    # Shared by every mailbox's polls; None: each poll parses in its own thread.
    preparer: Preparer | None = None

    def poll_options(self, mailbox: MailboxSettings) -> PollOptions:
        return PollOptions(
            queue=mailbox.queue,
            ticket_tag_pattern=self.settings.ticket_tag_regex,
            checkpoint_every=self.settings.checkpoint_every,
            max_messages=self.settings.max_messages_per_poll,
            routing_rules=tuple(self.settings.routing),
            policy=IngestPolicy(self.settings.hygiene, self.settings.follow_up),
            store_attempts=self.settings.poison_retry_limit,
            parse_limits=self.settings.parse_limits,
            fallback_charset=self.settings.fallback_charset,
            group_size=self.settings.commit_group_size,
            spool_over_bytes=self.settings.spool_over_bytes,
            spool_dir=self.settings.spool_dir,
        )

    def poll(self, mailbox: MailboxSettings, stop: threading.Event | None = None) -> PollResult:
        """One pass, unless another daemon holds the mailbox's lock (then it is skipped)."""
        if self.preparer is not None:
            self.preparer.start()
        try:
            with mailbox_lock(self.engine, mailbox.name) as held:
                if not held:
                    log.info("mailbox_locked_elsewhere", mailbox=mailbox.name)
                    return PollResult(mailbox.name, "skipped")
                return poll_mailbox(
                    mailbox.name,
                    partial(open_mailbox, mailbox),
                    self.sessions,
                    self.poll_options(mailbox),
                    stop,
                    self.preparer,
                )
        except SQLAlchemyError as exc:
            # Raised only while taking the lock: poll_mailbox handles its own database errors.
            log.error(
                "poll_failed",
                mailbox=mailbox.name,
                reason="database-unavailable",
                error=type(exc).__name__,
            )
            return PollResult(mailbox.name, "failed", error="database unavailable", exception=exc)

    def drain(
        self, mailboxes: Sequence[MailboxSettings], stop: threading.Event | None = None
    ) -> list[PollResult]:
        """A pass over each mailbox, then another over those whose pass stopped at
        ``max_messages_per_poll`` with more messages waiting, until none is left with a backlog;
        each mailbox's last result, in order. For ``poll``, which has no next scheduled pass to
        leave the rest to. Round by round, so that one mailbox's backlog does not hold up the
        others' new mail."""
        stop = stop or threading.Event()
        last: dict[str, PollResult] = {}
        waiting = list(mailboxes)
        while waiting and not stop.is_set():
            backlogs = []
            for mailbox in waiting:
                if stop.is_set():
                    break
                last[mailbox.name] = result = self.poll(mailbox, stop)
                if result.more_waiting:
                    backlogs.append(mailbox)
            waiting = backlogs
        return [last[mailbox.name] for mailbox in mailboxes if mailbox.name in last]

    def observe(self, result: PollResult) -> float | None:
        """Count the pass in the metrics and the backoff; returns the pause before the next pass
        when it is not the regular interval: after a failure, or a backlog's next pass."""
        delay_s = None
        if result.outcome == "failed":
            delay_s = self.failures.failed(result.mailbox, result.error, result.exception)
        elif result.outcome != "skipped":
            self.failures.succeeded(result.mailbox)
            if result.more_waiting:
                delay_s = BACKLOG_PAUSE_S
        self.metrics.record(result, self.failures.consecutive_failures(result.mailbox))
        return delay_s

    def close(self) -> None:
        """Stop the worker processes and close the database connections."""
        if self.preparer is not None:
            self.preparer.close()
        self.engine.dispose()

    def enabled_mailboxes(self) -> list[MailboxSettings]:
        return [mailbox for mailbox in self.settings.mailboxes if mailbox.enabled]


def safe_database_url(url: str) -> str:
    """The URL with any password masked, for logs and reports."""
    return make_url(url).render_as_string(hide_password=True)


def build_runtime(
    settings: Settings, *, migrate: bool = False, preparer: Preparer | None = None
) -> Runtime:
    """Create the engine and check (or bring up) the schema before any mail is touched.

    ``preparer``: one made (and perhaps started) already by ``preparer_for``; it is closed
    here when the runtime cannot be built.
    """
    return_large_buffers_to_the_system()
    preparer = preparer or preparer_for(settings)
    try:
        engine = make_engine(settings.database_url_value)
        status = schema_status(engine)
        if not status.is_current and (migrate or settings.migrate_on_start):
            # Imported here: loading alembic and its scripts takes over a tenth of a second,
            # and is needed only when there is something to migrate.
            from helpdesk_ingest.store.migrations import upgrade_to_head

            upgrade_to_head(engine)
            status = schema_status(engine)
        status.require_current()
    except BaseException:
        preparer.close()
        raise
    return Runtime(
        settings,
        engine,
        make_sessionmaker(engine),
        failures=FailureTracker(policy=backoff_policy(settings)),
        preparer=preparer,
    )


def backoff_policy(settings: Settings) -> BackoffPolicy:
    # A database outage is retried at the regular interval at the longest (backoff.py).
    return BackoffPolicy(
        settings.backoff_base_s, settings.backoff_max_s, database_max_s=settings.poll_interval_s
    )
