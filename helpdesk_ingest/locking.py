"""One poller per mailbox across every process sharing a database.

Before a pass connects to the POP3 server it takes a lock keyed by the mailbox name and holds it
until the pass is over. A process that finds the lock taken skips the mailbox for this run:
another is draining it.

On PostgreSQL the lock is a session-level advisory lock on a connection of its own, in
PostgreSQL's one-key (bigint) space; the store's two-key locks (Message-ID, migrations) live in a
separate space and never collide with it. SQLite has no such lock, and its database is a file on
one machine: there the lock is an exclusive ``flock`` on a file beside the database's, one per
mailbox, which the kernel releases when its holder exits, however it exits. So a ``poll`` from
cron that finds a ``run`` (or a slower ``poll``) draining a mailbox skips it, as a replica does
on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

log = structlog.get_logger("helpdesk_ingest.locking")

_KEY_PREFIX = b"helpdesk-ingest mailbox:"


def mailbox_lock_key(mailbox: str) -> int:
    """A stable signed 64-bit key for ``mailbox``; the same on every replica and every run."""
    digest = hashlib.sha256(_KEY_PREFIX + mailbox.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def mailbox_lock(engine: Engine, mailbox: str) -> Iterator[bool]:
    """Yield True while this process holds the mailbox's lock, False if another holds it.

    Errors reaching a PostgreSQL database propagate (as SQLAlchemyError) before anything is
    yielded. An SQLite database in memory, or known by a URI, has no file to lock beside: True.
    """
    if engine.dialect.name == "sqlite":
        lock_file = sqlite_lock_file(engine.url.database, mailbox)
        if lock_file is None:
            yield True
            return
        with _file_lock(lock_file, mailbox) as held:
            yield held
        return
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = mailbox_lock_key(mailbox)
    # Autocommit, so the connection does not sit "idle in transaction" for the whole pass.
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        held = bool(connection.scalar(select(func.pg_try_advisory_lock(key))))
        try:
            yield held
        finally:
            if held:
                _unlock(connection, key, mailbox)
    finally:
        connection.close()


def _unlock(connection: Connection, key: int, mailbox: str) -> None:
    try:
        connection.scalar(select(func.pg_advisory_unlock(key)))
    except SQLAlchemyError as exc:
        # Never hand a connection that may still hold the lock back to the pool: closing it for
        # good makes PostgreSQL release the lock.
        connection.invalidate()
        log.warning("mailbox_unlock_failed", mailbox=mailbox, error=type(exc).__name__)


def sqlite_lock_file(database: str | None, mailbox: str) -> Path | None:
    """The file whose lock stands for ``mailbox``'s, beside the SQLite database ``database``."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = mailbox_lock_key(mailbox) & 0xFFFF_FFFF_FFFF_FFFF
    return Path(f"{database}.mailbox-{key:016x}.lock")


@contextmanager
def _file_lock(path: Path, mailbox: str) -> Iterator[bool]:
    descriptor: int | None = None
    try:
        # Never through a symbolic link: the lock is a file of the daemon's own.
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        descriptor = os.open(path, flags, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = True
    except BlockingIOError:
        held = False
    except OSError as exc:
        # No lock to be had: the file cannot be made (then SQLite cannot write its journal
        # there either, and the pass meets the database's own error) or the file system has no
        # locks (some network file systems). The pass goes on unlocked; the store is idempotent,
        # so two processes at once would only do the same work twice.
        log.warning("mailbox_lock_unavailable", mailbox=mailbox, path=str(path), error=str(exc))
        held = True
    try:
        yield held
    finally:
        if descriptor is not None:
            # Closing the file releases its lock.
            os.close(descriptor)
