"""Engine set-up: SQLite pragmas, the database directory, PostgreSQL's connection limits, aware
timestamps on every dialect."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.store import database
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.models import PollRun


def test_sqlite_file_gets_its_directory_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "helpdesk.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        assert path.is_file()
    finally:
        engine.dispose()


def test_timestamps_come_back_aware_in_utc(sessions: sessionmaker[Session]) -> None:
    cest = timezone(timedelta(hours=2))
    with sessions.begin() as session:
        run = PollRun(mailbox="support", started_at=datetime(2026, 6, 1, 12, 0, tzinfo=cest))
        session.add(run)
    with sessions() as session:
        stored = session.get_one(PollRun, run.id)
        assert stored.started_at == datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
        assert stored.started_at.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add(PollRun(mailbox="support", started_at=datetime(2026, 6, 1, 12, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_plain_postgresql_url_uses_psycopg_3() -> None:
    engine = make_engine("postgresql://helpdesk@db.invalid/helpdesk")
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping
    finally:
        engine.dispose()


def test_database_errors_do_not_quote_mail_contents(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as connection, pytest.raises(SQLAlchemyError) as caught:
            connection.execute(
                text("SELECT * FROM no_such_table WHERE a = :a"), {"a": "secret body"}
            )
    finally:
        engine.dispose()
    assert "secret body" not in str(caught.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that takes TCP connections and never answers, as a stopped server does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_postgresql_that_does_not_answer_fails_the_connection_in_time(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg's shortest connect timeout is 2 s; the default, 10 s, would only slow the test.
    limits = {**database.POSTGRESQL_CONNECTION_DEFAULTS, "connect_timeout": "2"}
    monkeypatch.setattr(database, "POSTGRESQL_CONNECTION_DEFAULTS", limits)
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{silent_server}/test")
    errors: list[Exception] = []

    def connect() -> None:
        try:
            engine.connect()
        except Exception as exc:
            errors.append(exc)

    # In a thread, so that a connection waiting for good fails the test instead of hanging it.
    attempt = threading.Thread(target=connect, daemon=True)
    started = time.monotonic()
    attempt.start()
    attempt.join(timeout=15)
    waited_s = time.monotonic() - started
    assert not attempt.is_alive(), "still waiting for a server that does not answer"
    engine.dispose()
    assert len(errors) == 1
    assert isinstance(errors[0], SQLAlchemyError)
    assert "timeout" in str(errors[0])
    assert waited_s < 8.0


def test_postgresql_connection_limits_are_defaults_the_url_may_override() -> None:
    engine = make_engine("postgresql://u@127.0.0.1/db?connect_timeout=3&application_name=desk")
    try:
        assert dict(engine.url.query) == {
            **database.POSTGRESQL_CONNECTION_DEFAULTS,
            "connect_timeout": "3",
            "application_name": "desk",
        }
    finally:
        engine.dispose()
