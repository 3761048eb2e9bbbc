"""SIGTERM and SIGINT as a request to stop: the message in hand is finished and committed, the
session QUITs (so the server applies the DELEs sent so far), and the command exits.

A second request ends the process at once: a server that stopped answering holds the message
in hand for up to ``read_timeout_s``, and an operator who asks twice will not wait that long.
Nothing is lost by it: a message not committed was not deleted, and the server undoes the
DELEs of a session that did not QUIT, so the messages stored in it are found stored and deleted
at the next pass. The pass's spool files are removed by the next pass.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import structlog

log = structlog.get_logger("helpdesk_ingest.stopping")

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Within the block, either signal sets ``stop``, and a second one exits at once; the handlers
    before are restored after."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("stop_forced", signal=name)
            # The shell's convention for a process ended by a signal.
            os._exit(128 + signum)
        log.info("stop_requested", signal=name)
        stop.set()

    previous = {number: signal.signal(number, request_stop) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
