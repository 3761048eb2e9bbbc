"""A spooled content written into a bytes column in pieces, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.spool import CHUNK_BYTES, Spool
from helpdesk_ingest.store import large_values
from helpdesk_ingest.store.large_values import add_with_content, fill_column, for_statement
from helpdesk_ingest.store.models import Blob, RawMessage

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_a_raw_message_is_filled_in_pieces_and_reads_back_whole(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    spool = Spool(tmp_path)
    # Not a multiple of the piece size, so the last piece is a short one.
    content = spool.write(os.urandom(3 * CHUNK_BYTES + 12345))
    with sessions.begin() as session:
        row = RawMessage(
            mailbox="support", sha256="a" * 64, size=content.size, content=b"", received_at=NOW
        )
        session.add(row)
        session.flush()
        fill_column(session, RawMessage.content, RawMessage.id == row.id, content)
        row_id = row.id
    with sessions.begin() as session:
        stored = session.scalar(select(RawMessage.content).where(RawMessage.id == row_id))
    assert stored == content.read()
    if session.get_bind().dialect.name == "postgresql":
        # The large object that carried the pieces is gone with the transaction's end.
        with sessions.begin() as session:
            left = session.scalar(text("SELECT count(*) FROM pg_largeobject_metadata"))
        assert left == 0


def test_only_the_selected_row_is_filled(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    content = Spool(tmp_path).write(b"attachment bytes " * 100_000)
    with sessions.begin() as session:
        session.add_all(
            [
                Blob(sha256="1" * 64, size=content.size, content=b""),
                Blob(sha256="2" * 64, size=3, content=b"abc"),
            ]
        )
        session.flush()
        fill_column(session, Blob.content, Blob.sha256 == "1" * 64, content)
    with sessions.begin() as session:
        blobs = dict(session.execute(select(Blob.sha256, Blob.content)).tuples().all())
    assert blobs == {"1" * 64: content.read(), "2" * 64: b"abc"}


def test_a_rolled_back_fill_leaves_nothing(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    content = Spool(tmp_path).write(b"x" * (CHUNK_BYTES + 1))
    session = sessions()
    with session.begin():
        session.add(Blob(sha256="3" * 64, size=content.size, content=b""))
        session.flush()
        fill_column(session, Blob.content, Blob.sha256 == "3" * 64, content)
        session.rollback()
    with sessions.begin() as check:
        assert check.scalar(select(Blob.sha256)) is None


def test_a_spooled_value_goes_whole_into_its_insert_only_on_postgresql_and_only_when_small(
    sessions: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(large_values, "POSTGRESQL_INLINE_BYTES", 1000)
    spool = Spool(tmp_path)
    small, large = spool.write(b"s" * 1000), spool.write(b"L" * 1001)
    with sessions.begin() as session:
        on_postgresql = session.get_bind().dialect.name == "postgresql"
        assert for_statement(session, small) == (b"s" * 1000 if on_postgresql else small)
        assert for_statement(session, large) is large
        for number, content in enumerate((small, large)):
            add_with_content(session, raw_row(number, content.size), content)
    with sessions.begin() as session:
        stored = session.scalars(select(RawMessage.content).order_by(RawMessage.id)).all()
    assert stored == [b"s" * 1000, b"L" * 1001]


def raw_row(number: int, size: int) -> RawMessage:
    return RawMessage(mailbox="support", sha256=f"{number:064d}", size=size, received_at=NOW)
