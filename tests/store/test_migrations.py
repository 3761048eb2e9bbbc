"""Alembic owns the schema: head is reachable on both dialects and agrees with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from helpdesk_ingest.store.migrations import (
    SchemaNotReady,
    head_revision,
    require_current_schema,
    schema_status,
    script_location,
    upgrade_to_head,
)
from helpdesk_ingest.store.models import Base


def test_script_location_is_the_checkout_folder() -> None:
    assert (script_location() / "env.py").is_file()
    assert head_revision()


def test_fresh_database_is_not_ready(engine: Engine) -> None:
    status = schema_status(engine)
    assert status.current is None
    assert not status.is_current
    with pytest.raises(SchemaNotReady, match="helpdesk-ingest migrate"):
        require_current_schema(engine)


def test_upgrade_to_head_creates_every_table(engine: Engine) -> None:
    upgrade_to_head(engine)

    status = schema_status(engine)
    assert status.current == status.head == head_revision()
    assert status.is_current
    require_current_schema(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade_to_head(engine)
    upgrade_to_head(engine)
    assert schema_status(engine).is_current


def test_models_and_migrations_agree(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
