from __future__ import annotations

import threading
import time

from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.runtime import BACKLOG_PAUSE_S
from helpdesk_ingest.scheduler import run_daemon


class SlowJob:
    """A poll that takes longer than the interval, recording how many runs overlap."""

    def __init__(self, name: str, stop_after: int, global_stop: threading.Event) -> None:
        self.name = name
        self.stop_after = stop_after
        self.global_stop = global_stop
        self.running = 0
        self.max_running = 0
        self.runs = 0
        self.saw_stop_flag: list[bool] = []
        self.lock = threading.Lock()

    def __call__(self, stop: threading.Event) -> PollResult:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.runs += 1
            runs = self.runs
        time.sleep(0.15)
        self.saw_stop_flag.append(stop is self.global_stop)
        with self.lock:
            self.running -= 1
        if runs >= self.stop_after:
            self.global_stop.set()
        return PollResult(self.name, "ok")


def test_runs_never_overlap_and_stop_waits_for_the_running_poll() -> None:
    stop = threading.Event()
    job = SlowJob("support", stop_after=3, global_stop=stop)
    started = time.monotonic()
    code = run_daemon(
        {"support": job}, poll_interval_s=0.02, stop=stop, install_signal_handlers=False
    )
    assert code == 0
    assert job.runs >= 3
    assert job.max_running == 1
    assert job.running == 0  # shutdown waited for the poll in hand
    assert all(job.saw_stop_flag)
    assert time.monotonic() - started < 10


def test_a_crashing_poll_does_not_kill_the_schedule() -> None:
    stop = threading.Event()
    calls = 0

    def crashing(flag: threading.Event) -> PollResult:
        nonlocal calls
        calls += 1
        if calls >= 2:
            stop.set()
        raise RuntimeError("bug")

    code = run_daemon(
        {"support": crashing}, poll_interval_s=0.02, stop=stop, install_signal_handlers=False
    )
    assert code == 0
    assert calls >= 2


def test_mailboxes_poll_independently() -> None:
    stop = threading.Event()
    seen: set[str] = set()
    lock = threading.Lock()

    def job_for(name: str):  # type: ignore[no-untyped-def]
        def job(flag: threading.Event) -> PollResult:
            with lock:
                seen.add(name)
                if seen == {"a", "b"}:
                    stop.set()
            return PollResult(name, "ok")

        return job

    run_daemon(
        {"a": job_for("a"), "b": job_for("b")},
        poll_interval_s=30,
        stop=stop,
        install_signal_handlers=False,
    )
    assert seen == {"a", "b"}


def test_a_backlog_is_polled_again_at_once_not_after_the_interval() -> None:
    stop = threading.Event()
    runs: list[float] = []

    def backlog(flag: threading.Event) -> PollResult:
        runs.append(time.monotonic())
        if len(runs) == 3:
            stop.set()
        return PollResult("support", "ok", more_waiting=len(runs) < 3)

    def after_poll(result: PollResult) -> float | None:
        return BACKLOG_PAUSE_S if result.more_waiting else None

    # Without the backlog's pauses the third pass would come two minutes after the first.
    watchdog = threading.Timer(30, stop.set)
    watchdog.start()
    try:
        run_daemon(
            {"support": backlog},
            poll_interval_s=60,
            stop=stop,
            install_signal_handlers=False,
            after_poll=after_poll,
        )
    finally:
        watchdog.cancel()
    assert len(runs) == 3
    assert runs[2] - runs[0] < 30
