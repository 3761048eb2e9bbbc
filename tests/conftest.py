"""Session services for the whole suite: a private Dovecot and throw-away databases."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.support.databases import migrated_sessions, reachable_admin, throwaway_database
from tests.support.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary, start_dovecot

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Fixtures whose presence means a test needs that service; the markers let `-m` select them.
POSTGRES_FIXTURES = frozenset({"postgres_url", "postgres_server", "store_postgres_url"})
DOVECOT_FIXTURES = frozenset({"dovecot"})


def _missing(service: str, reason: str) -> NoReturn:
    """CI must have every service; a developer machine may lack one."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{service} is required in CI: {reason}", pytrace=False)
    pytest.skip(f"{service} unavailable: {reason}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
        if fixtures & DOVECOT_FIXTURES:
            item.add_marker(pytest.mark.dovecot)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    binary = dovecot_binary()
    if binary is None:
        _missing("Dovecot", f"no dovecot binary; {INSTALL_HINT}")
    # Not under pytest's tmp dir: that is private to the caller, and Dovecot's
    # unprivileged processes must reach the passdb and the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    try:
        server = start_dovecot(root, binary)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'helpdesk.db'}"


@pytest.fixture
def sqlite_sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database, for the poller against a fake mailbox."""
    with migrated_sessions(sqlite_url) as sessions:
        yield sessions


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on a server where tests may create databases."""
    configured = os.environ.get("HELPDESK_TEST_DATABASE_URL")
    admin = reachable_admin(configured or DEFAULT_POSTGRES_URL)
    if admin is not None:
        yield admin
        admin.dispose()
        return
    if configured:
        _missing("PostgreSQL", "HELPDESK_TEST_DATABASE_URL does not answer")
    with _postgres_container() as container_url:
        admin = reachable_admin(container_url)
        if admin is None:
            _missing("PostgreSQL", "the PostgreSQL container does not answer")
        yield admin
        admin.dispose()


@contextlib.contextmanager
def _postgres_container() -> Iterator[str]:
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg").start()
    except Exception as exc:
        _missing(
            "PostgreSQL",
            f"nothing answers at {DEFAULT_POSTGRES_URL} and no container could start "
            f"({type(exc).__name__}); set HELPDESK_TEST_DATABASE_URL",
        )
    try:
        yield str(container.get_connection_url())
    finally:
        container.stop()


@pytest.fixture
def postgres_url(postgres_server: Engine) -> Iterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    with throwaway_database(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """The same test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url
    url: str = request.getfixturevalue("postgres_url")
    return url
