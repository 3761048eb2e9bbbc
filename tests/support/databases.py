"""Test databases: throw-away PostgreSQL databases on a shared server, migrated sessions."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head


def reachable_admin(url: str) -> Engine | None:
    """An AUTOCOMMIT engine on `url`, or None when nothing answers there."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        admin.dispose()
        return None
    return admin


@contextlib.contextmanager
def migrated_sessions(url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the database at `url`, brought to the newest schema; disposed on exit."""
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextlib.contextmanager
def throwaway_database(admin: Engine) -> Iterator[str]:
    """The URL of a new, empty database, dropped on exit even if connections remain."""
    name = f"hi_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(str(admin.url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
