"""Alembic owns the schema: head is reachable on both dialects and agrees with the models."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from alembic import command
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.ingest import ingest_message, quarantine_message
from helpdesk_ingest.store.migrations import head_revision, script_location, upgrade_to_head
from helpdesk_ingest.store.models import Article, Base, QuarantinedMessage, RawMessage
from helpdesk_ingest.store.schema import (
    SCHEMA_HEAD,
    SchemaNotReady,
    schema_status,
)
from tests.store.conftest import SENT_AT, MakeMessage


def test_script_location_is_the_checkout_folder() -> None:
    assert (script_location() / "env.py").is_file()
    assert head_revision()


def test_the_schema_head_is_the_newest_migration() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_a_database_behind_names_its_revision(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        assert MigrationContext.configure(connection).get_current_revision() == "0005"

    status = schema_status(engine)

    assert (status.current, status.is_current) == ("0005", False)
    with pytest.raises(SchemaNotReady, match="is at revision 0005; this version needs revision"):
        status.require_current()


def test_fresh_database_is_not_ready(engine: Engine) -> None:
    status = schema_status(engine)
    assert status.current is None
    assert not status.is_current
    with pytest.raises(SchemaNotReady, match="helpdesk-ingest migrate"):
        status.require_current()


def test_upgrade_to_head_creates_every_table(engine: Engine) -> None:
    upgrade_to_head(engine)

    status = schema_status(engine)
    assert status.current == status.head == head_revision()
    assert status.is_current
    status.require_current()
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


@pytest.mark.postgres
def test_postgresql_compresses_mail_bytes_with_lz4(store_postgres_url: str) -> None:
    engine = make_engine(store_postgres_url)
    upgrade_to_head(engine)
    with engine.connect() as connection:
        methods = connection.execute(
            text(
                "SELECT attrelid::regclass::text, attcompression FROM pg_attribute "
                "WHERE attname = 'content' AND attrelid::regclass::text = ANY(:tables)"
            ),
            {"tables": ["raw_messages", "quarantine", "blobs"]},
        ).all()
    engine.dispose()
    assert sorted(methods) == [("blobs", "l"), ("quarantine", "l"), ("raw_messages", "l")]


@pytest.mark.postgres
def test_postgresql_compresses_article_text_with_lz4(store_postgres_url: str) -> None:
    engine = make_engine(store_postgres_url)
    upgrade_to_head(engine)
    query = text(
        "SELECT attname, attcompression FROM pg_attribute "
        "WHERE attrelid = 'articles'::regclass AND attname = ANY(:columns)"
    )
    columns = ["body_text", "body_html", "reply_text", "quoted_text", "signature", "references"]
    with engine.connect() as connection:
        methods = dict(connection.execute(query, {"columns": columns}).tuples().all())
    engine.dispose()
    assert methods == dict.fromkeys(columns, "l")


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    upgrade_to_head(engine)
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert schema_status(engine).current is None
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    upgrade_to_head(engine)
    assert schema_status(engine).is_current


def test_alembic_command_line_works_in_a_checkout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    repository = script_location().parent
    for arguments in (["upgrade", "head"], ["check"]):
        completed = subprocess.run(
            [sys.executable, "-m", "alembic", "-x", f"url={url}", *arguments],
            cwd=repository,
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
    engine = make_engine(url)
    try:
        assert schema_status(engine).is_current
    finally:
        engine.dispose()


def test_0006_keeps_every_row_and_reference_of_the_mail_tables(
    engine: Engine, make_message: MakeMessage
) -> None:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        stored = ingest_message(
            session,
            mailbox="support",
            raw=b"the raw bytes",
            sha256="a" * 64,
            parsed=make_message(),
            queue="support",
            ticket_tag_pattern=re.compile(r"\[#(?P<number>\d+)\]"),
            now=SENT_AT,
        )
        held = quarantine_message(
            session,
            mailbox="support",
            raw=b"not mail",
            sha256="b" * 64,
            reason="unparseable",
            detail="no header section",
            now=SENT_AT,
        )
    assert (stored.kind, held.kind) == ("ingested", "quarantined")

    upgrade_to_head(engine)

    with sessions() as session:
        article = session.scalars(select(Article)).one()
        assert article.raw_message_id is not None
        raw = session.get(RawMessage, article.raw_message_id)
        assert raw is not None
        assert (raw.content, raw.ticket_id) == (b"the raw bytes", article.ticket_id)
        quarantined = session.scalars(select(QuarantinedMessage)).one()
        assert (quarantined.content, quarantined.reason) == (b"not mail", "unparseable")
    if engine.dialect.name == "sqlite":
        for table in ("raw_messages", "quarantine"):
            columns = [column["name"] for column in inspect(engine).get_columns(table)]
            assert columns[-1] == "content"
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            # Turned off for the rebuild, and on again for everyone after.
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
