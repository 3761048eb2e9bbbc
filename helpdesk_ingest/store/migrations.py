"""Alembic is the only way the schema changes; these helpers run it on the caller's engine.

Reading the revision the database is at needs none of this: see store.schema."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

from alembic import command
from helpdesk_ingest.store.schema import SchemaNotReady

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def script_location() -> Path:
    # An installed wheel carries the migrations inside the package; a checkout has them at the
    # repository root, where the `alembic` command finds them too.
    bundled = _PACKAGE_DIR / "_alembic"
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / "alembic"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise SchemaNotReady("no migrations found at " + str(script_location()))
    return head


# Two-key advisory lock taken while migrating, so replicas starting together migrate one by one.
MIGRATION_LOCK = (0x48444D49, 0)


def upgrade_to_head(engine: Engine) -> None:
    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A migration that rebuilds a table (SQLite cannot reorder or alter columns in
            # place) drops the old one while other rows still refer to it. SQLite allows that
            # only with reference checks off, which must be set outside a transaction; the
            # references are checked as a whole once the migrations have run instead.
            _set_foreign_keys(connection, enabled=False)
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(select(func.pg_advisory_xact_lock(*MIGRATION_LOCK)))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite:
                    _require_valid_references(connection)
        finally:
            if sqlite:
                _set_foreign_keys(connection, enabled=True)


def _set_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    connection.commit()


def _require_valid_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise SchemaNotReady(
            f"migrating would leave {len(broken)} rows referring to missing rows "
            f"(tables {', '.join(tables)}); restore the backup taken before upgrading"
        )
