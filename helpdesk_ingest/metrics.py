"""Prometheus metrics of the poller, on a registry of the daemon's own (none at import time)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.store.quarantine_ops import pending_by_reason

PREFIX = "helpdesk_ingest"
# Poll passes range from an empty mailbox (milliseconds) to a long backlog (minutes).
POLL_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


def _error_type(result: PollResult) -> str | None:
    # The poller reports a mailbox failure as "ExceptionType: message".
    if result.error is None or ":" not in result.error:
        return None
    return result.error.split(":", 1)[0]


class PollMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        by_mailbox = ["mailbox"]

        def counter(name: str, text: str, labels: list[str] = by_mailbox) -> Counter:
            return Counter(f"{PREFIX}_{name}", text, labels, registry=self.registry)

        def gauge(name: str, text: str) -> Gauge:
            return Gauge(f"{PREFIX}_{name}", text, by_mailbox, registry=self.registry)

        self.fetched = counter("messages_fetched", "Messages downloaded (RETR).")
        self.ingested = counter("messages_ingested", "Messages stored as a ticket or article.")
        self.duplicates = counter("messages_duplicate", "Messages found already stored.")
        self.quarantined = counter("messages_quarantined", "Messages put in quarantine.")
        self.deleted = counter("messages_deleted", "Messages deleted on the server (DELE).")
        self.bytes = counter("fetched_bytes", "Bytes of messages downloaded.")
        self.polls = counter("polls", "Poll passes by outcome.", ["mailbox", "outcome"])
        self.auth_failures = counter("auth_failures", "Logins the server refused.")
        self.duration = Histogram(
            f"{PREFIX}_poll_duration_seconds",
            "Duration of one poll pass.",
            by_mailbox,
            buckets=POLL_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_success = gauge(
            "last_success_timestamp_seconds", "Unix time of the last successful pass."
        )
        self.left_on_server = gauge(
            "messages_left_on_server", "Messages on the server after the last pass."
        )
        self.consecutive_failures = gauge(
            "consecutive_failures", "Failed passes in a row (0 after a success)."
        )

    def record(self, result: PollResult, consecutive_failures: int) -> None:
        mailbox = result.mailbox
        self.polls.labels(mailbox, result.outcome).inc()
        self.consecutive_failures.labels(mailbox).set(consecutive_failures)
        if result.outcome == "skipped":
            return
        counts = result.counts
        self.fetched.labels(mailbox).inc(counts.fetched)
        self.ingested.labels(mailbox).inc(counts.ingested)
        self.duplicates.labels(mailbox).inc(counts.duplicates)
        self.quarantined.labels(mailbox).inc(counts.quarantined)
        self.deleted.labels(mailbox).inc(counts.deleted)
        self.bytes.labels(mailbox).inc(counts.bytes)
        self.duration.labels(mailbox).observe(result.duration_s)
        if result.left_on_server is not None:
            self.left_on_server.labels(mailbox).set(result.left_on_server)
        if result.succeeded:
            self.last_success.labels(mailbox).set(datetime.now(UTC).timestamp())
        elif _error_type(result) == "Pop3AuthError":
            self.auth_failures.labels(mailbox).inc()


class QuarantineCollector(Collector):
    """Unreleased quarantined messages by mailbox and reason, read from the database at scrape.

    Read from the database rather than counted in memory, so it covers every replica and
    survives restarts; it is empty when the database is unreachable.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{PREFIX}_quarantine_pending",
            "Quarantined messages not yet released, by mailbox and reason.",
            labels=["mailbox", "reason"],
        )
        try:
            with self._sessions() as session:
                rows = pending_by_reason(session)
        except SQLAlchemyError:
            rows = []
        for mailbox, reason, count in rows:
            family.add_metric([mailbox, reason], count)
        yield family
