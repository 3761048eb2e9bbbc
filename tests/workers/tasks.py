"""Preparation tasks for the worker pool tests; module level, so spawned workers import them."""

from __future__ import annotations

import gc
import os
import sys
import time

from helpdesk_ingest.prepare import prepare
from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings

CRASH = b"Subject: kills its worker\r\n\r\nbody\r\n"
SPIN = b"Subject: never done\r\n\r\nbody\r\n"
BLOAT = b"Subject: needs a gigabyte\r\n\r\nbody\r\n"
# Libraries the daemon loads and a worker has no use for.
DAEMON_LIBRARIES = ("pydantic", "pydantic_core", "pydantic_settings", "structlog", "sqlalchemy")


def prepare_or_die(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """Like the real task, except that one message kills the worker process outright."""
    if raw == CRASH:
        os._exit(9)
    return prepare(raw, settings)


def prepare_or_spin(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """Like the real task, except that one message keeps its worker busy for 20 s of CPU (long
    enough to be past a test's limit; not for ever, so a test without the limit ends)."""
    if raw == SPIN:
        end = time.process_time() + 20
        while time.process_time() < end:
            pass
    return prepare(raw, settings)


def prepare_or_bloat(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """Like the real task, except that one message takes a gigabyte of memory to prepare."""
    if raw == BLOAT:
        held = bytearray(1024 * 1024 * 1024)
        held[-1] = 1
    return prepare(raw, settings)


def worker_pid(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """The real task, with the worker's pid as the message's subject."""
    prepared = prepare(raw, settings)
    return PreparedMessage(str(os.getpid()), prepared.parsed, prepared.classification)


def frozen_objects(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """The real task, with the number of objects the worker froze at start as the subject."""
    prepared = prepare(raw, settings)
    return PreparedMessage(str(gc.get_freeze_count()), prepared.parsed, prepared.classification)


def daemon_libraries_loaded(raw: bytes, settings: PrepareSettings) -> PreparedMessage:
    """The real task, with the modules of ``DAEMON_LIBRARIES`` the worker holds as the subject."""
    prepared = prepare(raw, settings)
    loaded = sorted(name for name in sys.modules if name.split(".")[0] in DAEMON_LIBRARIES)
    return PreparedMessage(" ".join(loaded), prepared.parsed, prepared.classification)
