"""Building the runtime: workers started beforehand are stopped when the runtime cannot be built."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr

from helpdesk_ingest.config import Settings
from helpdesk_ingest.runtime import build_runtime
from helpdesk_ingest.spool import Content
from helpdesk_ingest.store.database import make_engine
from helpdesk_ingest.store.migrations import upgrade_to_head
from helpdesk_ingest.store.schema import SchemaNotReady
from helpdesk_ingest.workers import Preparation
from tests.support.loaded import modules_loaded


class RecordingPreparer:
    def __init__(self) -> None:
        self.closed = False

    def start(self) -> None:
        pass

    def submit(self, raws: Sequence[Content]) -> Preparation:
        raise AssertionError("nothing is prepared while the runtime is built")

    def close(self) -> None:
        self.closed = True


def _settings(tmp_path: Path) -> Settings:
    return Settings(database_url=SecretStr(f"sqlite:///{tmp_path / 'helpdesk.db'}"))


def test_a_preparer_given_is_closed_when_the_schema_is_not_ready(tmp_path: Path) -> None:
    preparer = RecordingPreparer()

    with pytest.raises(SchemaNotReady):
        build_runtime(_settings(tmp_path), preparer=preparer)

    assert preparer.closed


def test_a_preparer_given_is_the_runtimes(tmp_path: Path) -> None:
    preparer = RecordingPreparer()

    runtime = build_runtime(_settings(tmp_path), migrate=True, preparer=preparer)
    try:
        assert runtime.preparer is preparer
        assert not preparer.closed
    finally:
        runtime.close()
    assert preparer.closed


# Builds the runtime the way `run` and `poll` do.
_BUILD_RUNTIME = """
from pydantic import SecretStr
from helpdesk_ingest.config import Settings
from helpdesk_ingest.runtime import build_runtime

url = SecretStr({url!r})
build_runtime(Settings(database_url=url, migrate_on_start=True, parse_workers=1)).close()
"""


def test_a_start_on_a_migrated_database_loads_no_migration_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    engine.dispose()

    assert modules_loaded(_BUILD_RUNTIME.format(url=url), ["alembic"]) == []
