"""The daemon: one APScheduler job per mailbox, each job one call to ``poll_mailbox``.

Jobs never overlap for one mailbox (``max_instances=1``) and missed runs collapse into one
(``coalesce``). Each run comes up to ``jitter_s`` late, at random: daemons started together
drift apart, so that with several replicas each one finds some mailboxes free to poll.
SIGTERM or SIGINT sets the stop flag: the message in hand is finished and committed, the session
QUITs, and the process exits 0.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.stopping import stop_on_signals

log = structlog.get_logger("helpdesk_ingest.scheduler")

PollJob = Callable[[threading.Event], PollResult]
# Told of every pass; returns how long to wait before the next one when that is not the regular
# interval (after a failure, or when a pass left a backlog).
AfterPoll = Callable[[PollResult], float | None]


def _guarded(
    name: str,
    job: PollJob,
    stop: threading.Event,
    after_poll: AfterPoll | None = None,
    reschedule: Callable[[str, float], None] | None = None,
) -> Callable[[], None]:
    def run() -> None:
        try:
            result = job(stop)
        except Exception:
            # A bug must not kill the job for good: log it loudly and let the next run try again.
            log.exception("poll_crashed", mailbox=name)
            result = PollResult(name, "failed", error="poll crashed")
        delay_s = after_poll(result) if after_poll is not None else None
        if delay_s is not None and reschedule is not None and not stop.is_set():
            reschedule(name, delay_s)

    return run


def run_daemon(
    jobs: Mapping[str, PollJob],
    poll_interval_s: float,
    stop: threading.Event | None = None,
    install_signal_handlers: bool = True,
    after_poll: AfterPoll | None = None,
    jitter_s: float = 0.0,
) -> int:
    """Poll every mailbox every ``poll_interval_s`` until asked to stop; returns the exit code."""
    stop = stop or threading.Event()
    with stop_on_signals(stop) if install_signal_handlers else contextlib.nullcontext():
        return _run_until_stopped(jobs, poll_interval_s, stop, after_poll, jitter_s)


def _run_until_stopped(
    jobs: Mapping[str, PollJob],
    poll_interval_s: float,
    stop: threading.Event,
    after_poll: AfterPoll | None,
    jitter_s: float,
) -> int:
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(jobs)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )

    def reschedule(name: str, delay_s: float) -> None:
        # Backoff moves a failing mailbox's next pass out, a backlog moves it in; the others keep
        # their schedule.
        scheduler.modify_job(
            f"poll:{name}", next_run_time=datetime.now(UTC) + timedelta(seconds=delay_s)
        )

    for name, job in jobs.items():
        scheduler.add_job(
            _guarded(name, job, stop, after_poll, reschedule),
            "interval",
            seconds=poll_interval_s,
            jitter=jitter_s or None,
            id=f"poll:{name}",
            name=f"poll {name}",
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    log.info(
        "daemon_started",
        mailboxes=sorted(jobs),
        poll_interval_s=poll_interval_s,
        jitter_s=round(jitter_s, 3),
    )
    stop.wait()
    log.info("daemon_stopping")
    # Running polls see the stop flag after their current message, QUIT and return.
    scheduler.shutdown(wait=True)
    log.info("daemon_stopped")
    return 0
