"""Which revision the database's schema is at, read without loading the migrations.

Loading alembic and its migration scripts takes a noticeable share of the daemon's start, and a
database already at this code's revision, the usual case, needs none of it: the revision is one
row of alembic's own table. ``SCHEMA_HEAD`` is the revision the newest migration makes; a test
holds it equal to what alembic finds in the scripts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, String, column, inspect, select, table

SCHEMA_HEAD = "0007"

_VERSION_TABLE = table("alembic_version", column("version_num", String))


class SchemaNotReady(Exception):
    """The database is not at the schema this code expects."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str = SCHEMA_HEAD

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    def require_current(self) -> None:
        if self.is_current:
            return
        state = "is not migrated" if self.current is None else f"is at revision {self.current}"
        raise SchemaNotReady(
            f"the database {state}; this version needs revision {self.head}: "
            "run `helpdesk-ingest migrate` (or set migrate_on_start = true)"
        )


def current_revision(connection: Connection) -> str | None:
    """The revision alembic recorded; None in a database it never migrated."""
    if not inspect(connection).has_table(_VERSION_TABLE.name):
        return None
    revisions = connection.scalars(select(_VERSION_TABLE.c.version_num)).all()
    if len(revisions) > 1:
        # The migrations form one line; several heads mean someone else's branch was applied.
        raise SchemaNotReady(f"the database records several revisions: {', '.join(revisions)}")
    return revisions[0] if revisions else None


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as connection:
        return SchemaStatus(current=current_revision(connection))
