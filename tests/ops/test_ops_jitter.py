"""Jittered poll timers: runs of one mailbox come up to ``jitter_s`` late, at random."""

from __future__ import annotations

import itertools
import threading
import time

from helpdesk_ingest.config import Settings
from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.scheduler import run_daemon


def run_times(jitter_s: float, runs: int) -> list[float]:
    stop = threading.Event()
    seen: list[float] = []

    def job(flag: threading.Event) -> PollResult:
        seen.append(time.monotonic())
        if len(seen) >= runs:
            stop.set()
        return PollResult("support", "ok")

    run_daemon(
        {"support": job},
        poll_interval_s=0.05,
        stop=stop,
        install_signal_handlers=False,
        jitter_s=jitter_s,
    )
    return seen


def test_jitter_makes_the_gaps_between_runs_uneven() -> None:
    seen = run_times(jitter_s=0.3, runs=10)
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
    # Without jitter every gap is the 0.05 s interval. With it each gap is the interval plus a
    # uniform draw over 0.3 s; nine draws all within 0.05 s of each other happen about once in
    # 200,000 runs (five draws, as this test once took, about once in 300).
    assert max(gaps) - min(gaps) > 0.05
    assert max(gaps) < 0.05 + 0.3 + 0.25


def test_jitter_is_a_fraction_of_the_interval_and_can_be_turned_off() -> None:
    assert Settings().poll_jitter == 0.1
    assert Settings(poll_jitter=0).poll_jitter == 0
