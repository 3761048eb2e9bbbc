"""A spooled content into one bytes column, a piece at a time, never whole in this process.

The row is first written with the column empty; this fills it in. SQLite has incremental blob
I/O for this (a zero-filled blob of the final size, then written in place). PostgreSQL has no
such thing for bytea, so the pieces go into a large object inside the server, which then copies
it into the column and drops it, all in the caller's transaction. That writes the value twice:
up to ``POSTGRESQL_INLINE_BYTES`` a spooled value is read back instead and sent in its row's
INSERT, which costs about twice its size in memory for a moment and half the time.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from helpdesk_ingest.spool import Content, SpooledBytes
from helpdesk_ingest.store.models import QuarantinedMessage, RawMessage

POSTGRESQL_INLINE_BYTES = 8 * 1024 * 1024


def for_statement(session: Session, content: Content) -> Content:
    """``content`` as this database takes it best: a small spooled value read back on PostgreSQL."""
    if (
        isinstance(content, SpooledBytes)
        and content.size <= POSTGRESQL_INLINE_BYTES
        and session.get_bind().dialect.name == "postgresql"
    ):
        return content.read()
    return content


def inline_part(content: Content) -> bytes:
    """What goes into the row's INSERT: the bytes themselves, or nothing yet when spooled."""
    return content if isinstance(content, bytes) else b""


def add_with_content(
    session: Session, row: RawMessage | QuarantinedMessage, content: Content
) -> None:
    """Add ``row`` holding ``content``: in its INSERT when in memory, written after when spooled."""
    content = for_statement(session, content)
    row.content = inline_part(content)
    session.add(row)
    if isinstance(content, SpooledBytes):
        session.flush()
        model = type(row)
        fill_column(session, model.content, model.id == row.id, content)


def fill_column(
    session: Session,
    column: InstrumentedAttribute[bytes],
    where: ColumnElement[bool],
    content: SpooledBytes,
) -> None:
    """Write ``content`` into ``column`` of the one row ``where`` selects."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _fill_sqlite(session, column, where, content)
    elif dialect == "postgresql":
        _fill_postgresql(session, column, where, content)
    else:
        raise NotImplementedError(f"database {dialect} is not supported")


def _fill_sqlite(
    session: Session,
    column: InstrumentedAttribute[bytes],
    where: ColumnElement[bool],
    content: SpooledBytes,
) -> None:
    model: Any = column.class_
    table = model.__table__
    session.execute(update(model).where(where).values({column.key: func.zeroblob(content.size)}))
    rowid = session.scalar(select(text("rowid")).select_from(table).where(where))
    if rowid is None:
        raise LookupError(f"no {table.name} row to write {column.key} into")
    sqlite = session.connection().connection.driver_connection
    with sqlite.blobopen(table.name, column.key, rowid) as blob:  # type: ignore[union-attr]
        for chunk in content.chunks():
            blob.write(chunk)


def _fill_postgresql(
    session: Session,
    column: InstrumentedAttribute[bytes],
    where: ColumnElement[bool],
    content: SpooledBytes,
) -> None:
    model: Any = column.class_
    oid = session.scalar(text("SELECT lo_create(0)"))
    offset = 0
    for chunk in content.chunks():
        session.execute(
            text("SELECT lo_put(CAST(:oid AS oid), :offset, :chunk)"),
            {"oid": oid, "offset": offset, "chunk": chunk},
        )
        offset += len(chunk)
    lo_get = text("lo_get(CAST(:oid AS oid))").bindparams(oid=oid)
    session.execute(update(model).where(where).values({column.key: lo_get}))
    session.execute(text("SELECT lo_unlink(CAST(:oid AS oid))"), {"oid": oid})
