"""SIGTERM and SIGINT as a request to stop: the message in hand is finished and committed, the
session QUITs (so the server applies the DELEs sent so far), and the command exits."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import structlog

log = structlog.get_logger("helpdesk_ingest.stopping")

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, either signal sets ``stop``; the handlers before are restored after."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    previous = {number: signal.signal(number, request_stop) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
