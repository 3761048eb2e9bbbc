"""Building the runtime: workers started beforehand are stopped when the runtime cannot be built."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr

from helpdesk_ingest.config import Settings
from helpdesk_ingest.runtime import build_runtime
from helpdesk_ingest.spool import Content
from helpdesk_ingest.store.migrations import SchemaNotReady
from helpdesk_ingest.workers import Preparation


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
