"""What runs inside a parse worker: its start, the tasks it is handed, its watch on the daemon.

Apart from the pool (``workers``), which the daemon runs and which logs: a worker imports the
module of every function it is handed, and with this one it loads the parser and the standard
library only, not the logging library (structlog, about a tenth of a second of CPU at each
start). Nothing here logs; the daemon logs what becomes of the workers.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Sequence

from helpdesk_ingest.collector import freeze_loaded_objects
from helpdesk_ingest.cpu_limit import CpuLimitExceeded, cpu_limit
from helpdesk_ingest.memory import return_large_buffers_to_the_system
from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings, prepare_failed
from helpdesk_ingest.spool import Content

# How often a worker checks that the daemon that started it is still alive.
ORPHAN_CHECK_S = 0.5

PrepareTask = Callable[[Content, PrepareSettings], PreparedMessage]


def worker_started(daemon_pid: int, memory_mb: int | None = None) -> None:
    """The workers' initializer; ``memory_mb`` bounds the worker's address space."""
    # Ctrl-C reaches every process of the terminal's group; the daemon alone decides what it
    # means, and stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_mb is not None:
        _limit_address_space(memory_mb * 1024 * 1024)
    return_large_buffers_to_the_system()
    threading.Thread(
        target=_exit_when_orphaned, args=(daemon_pid,), name="orphan-watch", daemon=True
    ).start()
    # The parser, loaded now rather than by the first message, and kept until the worker exits.
    import helpdesk_ingest.prepare  # noqa: F401

    freeze_loaded_objects()


def _limit_address_space(limit: int) -> None:
    # Past it an allocation fails: Python raises MemoryError, which gives up the message being
    # prepared (prepare_within_limit), where without a bound a message that makes the parser
    # build without end (found so far: a part per lone CR of a report, an object per counted
    # value of a damaged winmail.dat) would take the host's memory, and the OOM killer might
    # choose the database. A C extension that aborts on a failed allocation kills only its
    # worker, which is replaced.
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def prepare_message(raw: Content, settings: PrepareSettings) -> PreparedMessage:
    """The preparation, named here so that handing it to a worker does not load the parser in
    the daemon: pickling a function imports the module it lives in."""
    from helpdesk_ingest.prepare import prepare

    return prepare(raw, settings)


def prepare_batch(
    task: PrepareTask, raws: Sequence[Content], settings: PrepareSettings
) -> list[PreparedMessage]:
    """``task`` for each message of a batch, each within its CPU limit."""
    return [prepare_within_limit(task, raw, settings) for raw in raws]


def prepare_within_limit(
    task: PrepareTask, raw: Content, settings: PrepareSettings
) -> PreparedMessage:
    """``task`` for one message, given up once it has used ``max_cpu_s`` of CPU: a message that
    would hold its worker for hours (input on which some parsing takes time in the square of its
    length) goes to quarantine instead of holding up the mailbox's pass. So does one whose
    preparation runs out of the worker's memory (``max_memory_mb``)."""
    limits = settings.limits
    try:
        with cpu_limit(limits.max_cpu_s):
            return task(raw, settings)
    except CpuLimitExceeded:
        return prepare_failed(
            raw,
            "over-cpu-limit",
            f"preparing it used more than {limits.max_cpu_s:g} s of CPU (max_parse_cpu_s)",
        )
    except MemoryError:
        return prepare_failed(
            raw,
            "over-memory-limit",
            "preparing it needed more memory than a parse worker may have "
            f"({limits.max_memory_mb} MiB, max_parse_memory_mb)",
        )


def ready() -> None:
    """A task that does nothing: receiving it has made the worker start, and its initializer
    load the parser."""


def _exit_when_orphaned(daemon_pid: int) -> None:
    # A daemon killed outright (SIGKILL, the OOM killer) cannot stop its workers; they would
    # linger holding its log pipes. Orphaned, a worker is re-parented, and exits.
    while os.getppid() == daemon_pid:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(0)
