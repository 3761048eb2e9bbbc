"""One poller per mailbox across every daemon sharing a PostgreSQL database.

Before a pass connects to the POP3 server it takes a session-level advisory lock, keyed by the
mailbox name, on a connection of its own, and holds it until the pass is over. A replica that
finds the lock taken skips the mailbox for this run: another daemon is draining it.

The lock is in PostgreSQL's one-key (bigint) space; the store's two-key locks (Message-ID,
migrations) live in a separate space and never collide with it. SQLite has no such lock: with
SQLite, run a single daemon.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

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

    SQLite yields True: a single daemon is the supported limit there. Errors reaching the
    database propagate (as SQLAlchemyError) before anything is yielded.
    """
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
