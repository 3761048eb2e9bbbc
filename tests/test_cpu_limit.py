"""The CPU bound of a piece of work in the main thread."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from helpdesk_ingest.cpu_limit import CpuLimitExceeded, cpu_limit


def _spin_cpu(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_work_past_its_cpu_time_is_stopped() -> None:
    started = time.process_time()
    with pytest.raises(CpuLimitExceeded), cpu_limit(0.2):
        _spin_cpu(30)

    # The kernel counts the timer's CPU time by its clock ticks, not to the microsecond.
    assert 0.1 <= time.process_time() - started < 5


def test_the_guards_of_the_work_do_not_catch_it() -> None:
    # The parser turns any Exception of a message into a parse failure; this must pass them.
    caught: list[Exception] = []

    def guarded() -> None:
        try:
            _spin_cpu(30)
        except Exception as exc:
            caught.append(exc)

    with pytest.raises(CpuLimitExceeded), cpu_limit(0.1):
        guarded()
    assert caught == []


def test_work_within_its_cpu_time_runs_to_its_end_and_the_timer_is_gone() -> None:
    before = signal.getsignal(signal.SIGPROF)
    with cpu_limit(5):
        _spin_cpu(0.05)

    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGPROF) is before


def test_sleeping_uses_no_cpu_time() -> None:
    with cpu_limit(1.0):
        time.sleep(1.5)


def test_outside_the_main_thread_the_work_runs_unbounded() -> None:
    finished = []

    def work() -> None:
        with cpu_limit(0.01):
            _spin_cpu(0.1)
        finished.append(True)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()

    assert finished == [True]
