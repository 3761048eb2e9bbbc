"""Killed at every protocol step and at random moments: each message stored once, none left."""

from __future__ import annotations

from pathlib import Path

from tests.integration.crash_matrix import run_matrix
from tests.support.dovecot import DovecotServer


def test_crash_matrix_loses_and_duplicates_nothing(
    tmp_path: Path, database_url: str, dovecot: DovecotServer
) -> None:
    result = run_matrix(dovecot, database_url, tmp_path, messages=40, random_kills=8, seed=7)
    assert result.kills >= 8
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.stored_raw == result.delivered
    assert result.stored_articles == result.delivered
    assert result.left_on_server == 0
    assert result.spool_leftovers == 0
