"""Alembic environment: runs on the caller's connection, or on `sqlalchemy.url` from the CLI."""

from __future__ import annotations

import os

from sqlalchemy import Connection, create_engine

from alembic import context
from helpdesk_ingest.store.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    # From a checkout: `alembic -x url=sqlite:///helpdesk.sqlite3 upgrade head`, or the URL the
    # daemon itself would use.
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or context.config.get_main_option("sqlalchemy.url")
        or os.environ.get("HELPDESK_INGEST_DATABASE_URL")
    )
    if not url:
        raise SystemExit(
            "give the database as `alembic -x url=...` or HELPDESK_INGEST_DATABASE_URL, "
            "or run `helpdesk-ingest migrate`"
        )
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
run_migrations_online()
