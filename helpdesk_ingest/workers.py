"""Worker processes that prepare (parse, classify) messages while the daemon stores others.

Parsing is pure CPU in Python, so threads would take turns on one core; separate processes use
them all. A group goes to the workers in a few batches, not message by message: every task
costs the daemon's process a wake-up to hand it over and one to take its result back, and
while the daemon is busy storing, workers fed one message at a time sat waiting for their next
one. Results come back in the order the messages were handed in. A worker that dies (a
crash in a C extension, the OOM killer) costs no message: the pool is rebuilt, the messages it
held are prepared again one at a time, and one that kills its worker twice is quarantined.

This is the daemon's side; what runs inside a worker is in ``worker_process``.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Protocol

import structlog

from helpdesk_ingest.prepared import PreparedMessage, PrepareSettings, prepare_failed
from helpdesk_ingest.spool import Content, size_of
from helpdesk_ingest.worker_process import (
    PrepareTask,
    prepare_batch,
    prepare_message,
    ready,
    worker_started,
)

if TYPE_CHECKING:
    # Only named: the pool loads no settings code (a program may start it before reading them).
    from helpdesk_ingest.config import Settings

log = structlog.get_logger("helpdesk_ingest.workers")

# Workers are spawned as fresh interpreters, never forked: the daemon runs threads (scheduler,
# HTTP listener), and a fork copies their locks in whatever state they are in. Spawned, they
# are the daemon's own children, which lets them notice when it dies.
_START_METHOD = "spawn"


def default_worker_count() -> int:
    """One worker per CPU this process may use; the daemon's own process stores meanwhile."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# A group is cut into this many batches per worker: more than one, so a worker that drew a
# batch of large messages does not leave the others idle at the end of the group.
BATCHES_PER_WORKER = 2


def batches(count: int, workers: int) -> list[range]:
    """``count`` positions cut into consecutive batches, about two per worker."""
    size = -(-count // (workers * BATCHES_PER_WORKER)) or 1
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


class Preparation(Protocol):
    def results(self) -> list[PreparedMessage]: ...

    def settle(self) -> None:
        """Wait until no worker is busy with these messages any more (results unused)."""


class Preparer(Protocol):
    def start(self) -> None:
        """Get ready for the first group without waiting for it (idempotent)."""

    def submit(self, raws: Sequence[Content]) -> Preparation: ...

    def close(self) -> None: ...


class _Done:
    def __init__(self, prepared: list[PreparedMessage]) -> None:
        self._prepared = prepared

    def results(self) -> list[PreparedMessage]:
        return self._prepared

    def settle(self) -> None:
        pass


class InlinePreparer:
    """Prepares in the calling thread: for tests, one-off tools and `parse_workers = 0`."""

    def __init__(self, settings: PrepareSettings) -> None:
        self.settings = settings

    def start(self) -> None:
        pass

    def submit(self, raws: Sequence[Content]) -> Preparation:
        # Within the CPU limit where the pass runs in the main thread (`poll`); a MemoryError
        # gives up the message as in a worker, not the pass.
        return _Done(prepare_batch(prepare_message, raws, self.settings))

    def close(self) -> None:
        pass


class _Pending:
    def __init__(
        self,
        pool: WorkerPool,
        executor: ProcessPoolExecutor,
        raws: Sequence[Content],
        futures: list[tuple[range, Future[list[PreparedMessage]]]],
    ) -> None:
        self._pool = pool
        self._executor = executor
        self._raws = raws
        self._futures = futures

    def results(self) -> list[PreparedMessage]:
        prepared = []
        broken = False
        for positions, future in self._futures:
            try:
                prepared.extend(future.result())
                continue
            except BrokenProcessPool:
                pass
            if not broken:
                broken = True
                log.error("workers_broken", messages=len(self._raws))
                # Retire the pool these were handed to before anything is tried again, so
                # the tries alone below run in a working pool and a death there names its message.
                self._pool._replace(self._executor)
            prepared.extend(self._pool.prepare_alone(self._raws[i]) for i in positions)
        return prepared

    def settle(self) -> None:
        wait([future for _, future in self._futures])


class WorkerPool:
    """A lazily started pool of ``workers`` processes; safe to share between poll threads."""

    def __init__(
        self, settings: PrepareSettings, workers: int, task: PrepareTask = prepare_message
    ) -> None:
        if workers < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {workers}")
        self.settings = settings
        self.workers = workers
        # A module-level function, as the workers import it by name.
        self.task = task
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the workers now, while the daemon logs in, not when the first group waits.

        A fresh interpreter takes a few hundred milliseconds to start and import the parser.
        """
        with self._lock:
            started = self._executor is not None
        if not started:
            executor = self._running()
            for _ in range(self.workers):
                executor.submit(ready)

    def _running(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context(_START_METHOD),
                    initializer=worker_started,
                    initargs=(os.getpid(), self.settings.limits.max_memory_mb),
                )
                log.debug("workers_started", workers=self.workers)
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def submit(self, raws: Sequence[Content]) -> Preparation:
        executor = self._running()
        try:
            futures = [
                (
                    positions,
                    executor.submit(
                        prepare_batch, self.task, [raws[i] for i in positions], self.settings
                    ),
                )
                for positions in batches(len(raws), self.workers)
            ]
        except BrokenProcessPool:
            self._replace(executor)
            return _Done([self.prepare_alone(raw) for raw in raws])
        return _Pending(self, executor, raws, futures)

    def prepare_alone(self, raw: Content) -> PreparedMessage:
        """After a worker died: this message by itself in a fresh pool, so a crash names it."""
        for attempt in (1, 2):
            executor = self._running()
            try:
                return executor.submit(prepare_batch, self.task, [raw], self.settings).result()[0]
            except BrokenProcessPool:
                log.error("worker_died", attempt=attempt, size=size_of(raw))
                self._replace(executor)
        return prepare_failed(
            raw, "parser-crash", "the worker process preparing this message died twice"
        )

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def make_preparer(settings: PrepareSettings, workers: int) -> Preparer:
    """A worker pool, or preparation in the calling thread when ``workers`` is 0."""
    if workers == 0:
        return InlinePreparer(settings)
    return WorkerPool(settings, workers)


def preparer_for(settings: Settings) -> Preparer:
    """The preparer ``settings`` ask for (``parse_workers``), not started yet."""
    workers = settings.parse_workers
    return make_preparer(
        PrepareSettings(
            settings.parse_limits,
            settings.hygiene.own_mail(),
            settings.spool_over_bytes,
            settings.fallback_charset,
        ),
        default_worker_count() if workers is None else workers,
    )
