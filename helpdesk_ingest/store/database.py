"""Engine and session factory for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000

# libpq's connection parameters, unless the URL sets its own. Without a connect timeout, a
# PostgreSQL that does not answer (its host gone, its server stopped) holds a pass, and a request
# to stop, as long as the kernel retries, or for good once the TCP connection is up; keepalives
# notice a peer gone while a statement waits for it (the kernel's default is two hours).
POSTGRESQL_CONNECTION_DEFAULTS = {
    "connect_timeout": "10",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets the helpdesk app read while the daemon writes. FULL sync: a COMMIT must be on
        # disk, not only in the OS cache, before the DELE it allows reaches the server.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def make_engine(database_url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql[+psycopg]://…``; connects only when used.

    Statement parameters are kept out of error messages: they are customers' mail, and errors
    end up in the logs.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if url.drivername == "postgresql":
        # psycopg 3 is the driver this package installs; SQLAlchemy would default to psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    defaults = {k: v for k, v in POSTGRESQL_CONNECTION_DEFAULTS.items() if k not in url.query}
    url = url.update_query_dict(defaults)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
