"""A bound on the CPU time of a piece of work in a process's main thread."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class CpuLimitExceeded(BaseException):
    """The work used its CPU time. A BaseException, so that the parser's guards, which turn any
    Exception of a message into a parse failure, let it through to the caller of ``cpu_limit``."""


def _exceeded(signum: int, frame: FrameType | None) -> None:
    raise CpuLimitExceeded


@contextlib.contextmanager
def cpu_limit(seconds: float) -> Iterator[None]:
    """Raise CpuLimitExceeded in the block once the process has used ``seconds`` more of CPU
    time (user and system, as the kernel counts it for ITIMER_PROF).

    Python runs signal handlers in the main thread only: in any other thread the block runs
    without the bound. Time spent inside one call into a C extension counts, but the exception
    comes only when that call returns.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGPROF, _exceeded)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
