"""Per-mailbox backoff: a failing mailbox is retried later and later, but never given up.

The delay doubles with each failure in a row, up to a ceiling, and is jittered ("equal jitter":
half fixed, half random) so that replicas and mailboxes failing together do not retry in step.
A failure the POP3 client could name (refused login, TLS, [IN-USE], [LOGIN-DELAY], [SYS/TEMP],
[SYS/PERM]) waits as long as ``pop3.retry`` decides for that kind, because retrying a refused
login every minute only locks the account; a dropped connection follows the configured policy.
A pass that failed at the database follows it too, but its pauses stop growing at the poll
interval: the mail server is spared nothing by waiting longer (such a pass logs in no more often
than a healthy daemon does, if at all), and tickets resume within one interval of the database's
return instead of up to ``backoff_max_s`` later. Each failure is logged at error level with the
count of failures in a row; one success resets it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import structlog

from helpdesk_ingest.pop3.errors import Pop3Error
from helpdesk_ingest.pop3.retry import RetryDecision, retry_decision
from helpdesk_ingest.store.outage import is_database_failure

# The fallback decision of pop3.retry: trouble of no particular kind, left to BackoffPolicy.
_UNCLASSIFIED = "pop3_unavailable"
DATABASE_UNAVAILABLE = "database_unavailable"

log = structlog.get_logger("helpdesk_ingest.backoff")


@dataclass(frozen=True)
class BackoffPolicy:
    base_s: float = 30.0
    max_s: float = 900.0
    # The longest pause after a pass that failed at the database; the daemon's is its poll
    # interval (runtime.backoff_policy). None: no shorter than after any other failure.
    database_max_s: float | None = None

    def delay_s(self, failures: int, rng: random.Random, *, max_s: float | None = None) -> float:
        """The pause after ``failures`` (≥ 1) failures in a row, at most ``max_s`` if given."""
        cap_s = self.max_s if max_s is None else min(self.max_s, max_s)
        ceiling = min(cap_s, self.base_s * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass
class FailureTracker:
    """Consecutive failures of each mailbox, shared by the scheduler and `/healthz`."""

    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    rng: random.Random = field(default_factory=random.Random)
    _failures: dict[str, int] = field(default_factory=dict)
    _mutex: threading.Lock = field(default_factory=threading.Lock)

    def succeeded(self, mailbox: str) -> None:
        with self._mutex:
            previous = self._failures.pop(mailbox, 0)
        if previous:
            log.info("mailbox_recovered", mailbox=mailbox, failures_before=previous)

    def failed(
        self, mailbox: str, error: str | None, exception: BaseException | None = None
    ) -> float:
        """Count one more failure; returns how long to wait before the next attempt."""
        with self._mutex:
            failures = self._failures.get(mailbox, 0) + 1
            self._failures[mailbox] = failures
            decision = self._decide(exception, failures)
            delay = decision.delay_s if decision else self.policy.delay_s(failures, self.rng)
        log.error(
            "mailbox_failing",
            mailbox=mailbox,
            consecutive_failures=failures,
            retry_in_s=round(delay, 1),
            error=error,
            kind=decision.event if decision else None,
            reason=decision.reason if decision else None,
        )
        return delay

    def _decide(self, exception: BaseException | None, failures: int) -> RetryDecision | None:
        """The decision for a failure of a known kind; None for the policy's."""
        if is_database_failure(exception):
            delay = self.policy.delay_s(failures, self.rng, max_s=self.policy.database_max_s)
            return RetryDecision(
                True,
                delay,
                "database unreachable; retried within a poll interval",
                DATABASE_UNAVAILABLE,
            )
        if not isinstance(exception, Pop3Error):
            return None
        decision = retry_decision(exception, failures, rng=self.rng)
        if decision.event == _UNCLASSIFIED:
            return None
        if not decision.retry:
            # Never given up (an operator may fix the settings behind the daemon's back), but
            # not back before the longest pause either.
            return RetryDecision(True, self.policy.max_s, decision.reason, decision.event)
        return decision

    def consecutive_failures(self, mailbox: str) -> int:
        with self._mutex:
            return self._failures.get(mailbox, 0)

    def snapshot(self) -> dict[str, int]:
        with self._mutex:
            return dict(self._failures)
