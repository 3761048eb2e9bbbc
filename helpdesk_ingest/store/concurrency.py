"""Writes that stay correct when several daemons share one PostgreSQL database."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Integer, bindparam, func, inspect, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from helpdesk_ingest.store.models import Base

# First key of the two-key advisory locks taken here (migrations.MIGRATION_LOCK uses the same
# first key with second key 0); the one-key (bigint) lock space, where per-mailbox poll locks
# live, never overlaps with it.
MESSAGE_ID_LOCK_SPACE = 0x48444D49  # "HDMI": helpdesk Message-ID

RowT = TypeVar("RowT", bound=Base)


def insert_if_absent(session: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same unique key exists; True if it was inserted.

    That includes a row a concurrent transaction has just inserted: PostgreSQL waits for it to
    commit and then skips the insert, instead of failing this transaction.
    """
    return bool(insert_absent(session, model, [values]))


def insert_absent(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """``insert_if_absent`` for several rows in one statement; the primary keys of those it
    inserted."""
    if not rows:
        return []
    key = inspect(model).primary_key
    statement = _insert(session, model).values(list(rows)).on_conflict_do_nothing().returning(*key)
    return [tuple(row) for row in session.execute(statement)]


def insert_all_absent(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """``insert_if_absent`` for several rows, as one batch of the same short statement."""
    if rows:
        session.execute(_insert(session, model).on_conflict_do_nothing(), list(rows))


def _insert(session: Session, model: type[Base]) -> PgInsert | SqliteInsert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(model)
    if dialect == "sqlite":
        return sqlite_insert(model)
    raise NotImplementedError(f"database {dialect} is not supported")


def insert_returning_if_absent(
    session: Session, model: type[RowT], values: dict[str, Any]
) -> RowT | None:
    """``insert_if_absent``, returning the new row as an ORM object, or None if one existed."""
    statement = _insert(session, model).values(values).on_conflict_do_nothing().returning(model)
    return session.scalars(statement).first()


def lock_message_id(session: Session, message_id: str) -> None:
    """Until this transaction ends, be the only writer handling this Message-ID.

    Two mailboxes polled by two daemons can receive the same mail at the same moment; without
    the lock both would see no article yet and both would add one. SQLite allows a single
    writer at a time already, so only PostgreSQL needs it.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(func.pg_advisory_xact_lock(MESSAGE_ID_LOCK_SPACE, _lock_key(message_id)))
    )


def lock_message_ids(session: Session, message_ids: Sequence[str]) -> None:
    """``lock_message_id`` for several at once, in one statement.

    The locks are taken in ascending key order, the same in every transaction, so two daemons
    locking overlapping sets wait for each other instead of deadlocking.
    """
    if session.get_bind().dialect.name != "postgresql" or not message_ids:
        return
    keys = sorted({_lock_key(message_id) for message_id in message_ids})
    key = (
        func.unnest(bindparam("keys", keys, type_=ARRAY(Integer)))
        .table_valued("key", with_ordinality="ordinal")
        .render_derived()
    )
    session.execute(
        select(func.pg_advisory_xact_lock(MESSAGE_ID_LOCK_SPACE, key.c.key)).order_by(key.c.ordinal)
    )


def _lock_key(message_id: str) -> int:
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big", signed=True)
