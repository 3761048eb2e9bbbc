"""Store fixtures: each store test runs on a SQLite file and a throw-away PostgreSQL database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.message import Address, ParsedMessage
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head
from tests.support.databases import migrated_sessions

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SENT_AT = datetime(2026, 11, 2, 9, 58, tzinfo=UTC)


def _unreachable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine]:
    server_url = os.environ.get("HELPDESK_TEST_DATABASE_URL", DEFAULT_SERVER_URL)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        _unreachable(type(exc).__name__)
    yield admin
    admin.dispose()


@pytest.fixture
def store_postgres_url(_postgres_admin: Engine) -> Iterator[str]:
    name = f"hi_store_{secrets.token_hex(6)}"
    with _postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(str(_postgres_admin.url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with _postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, un-migrated database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'helpdesk.sqlite3'}"
    url: str = request.getfixturevalue("store_postgres_url")
    return url


@pytest.fixture
def engine(store_database_url: str) -> Iterator[Engine]:
    engine = make_engine(store_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    upgrade_to_head(engine)
    return make_sessionmaker(engine)


@pytest.fixture
def pg_sessions(store_postgres_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated PostgreSQL database alone, for what only PostgreSQL does."""
    with migrated_sessions(store_postgres_url) as sessions:
        yield sessions


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One open transaction, rolled back at the end, as the poller would hold it."""
    with sessions() as session, session.begin():
        yield session


MakeMessage = Callable[..., ParsedMessage]


@pytest.fixture
def make_message() -> MakeMessage:
    """ParsedMessage values built directly, so the store is tested without the parser."""

    def make(
        message_id: str = "<first@example.org>",
        subject: str = "Printer on fire",
        sender: str = "alice@example.org",
        **kwargs: Any,
    ) -> ParsedMessage:
        kwargs.setdefault("to", (Address("Support", "support@example.com"),))
        kwargs.setdefault("body_text", "It is on fire.")
        kwargs.setdefault("date", SENT_AT)
        return ParsedMessage(
            message_id=message_id,
            message_id_synthetic=False,
            subject=subject,
            from_address=Address("Alice", sender),
            **kwargs,
        )

    return make
