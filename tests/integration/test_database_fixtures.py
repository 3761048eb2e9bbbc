"""The database fixtures hand out empty, private databases and clean up after themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, make_url, text

from tests.support.databases import throwaway_database


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("round_", [1, 2])
def test_database_url_starts_empty_and_writable(engine: Engine, round_: int) -> None:
    assert inspect(engine).get_table_names() == []
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE marker (round INTEGER)"))
        connection.execute(text("INSERT INTO marker VALUES (:round)"), {"round": round_})
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT round FROM marker")) == round_


def test_sqlite_url_is_a_file_under_the_test_directory(sqlite_url: str, tmp_path: Path) -> None:
    url = make_url(sqlite_url)
    assert url.get_backend_name() == "sqlite"
    assert url.database == f"{tmp_path}/helpdesk.db"


def test_postgres_url_is_a_fresh_database_each_time(postgres_url: str) -> None:
    name = make_url(postgres_url).database
    assert name is not None
    assert name.startswith("hi_")
    assert name != "test"


def test_throwaway_database_is_dropped_even_with_a_connection_open(
    postgres_server: Engine,
) -> None:
    def databases() -> set[str]:
        with postgres_server.connect() as connection:
            return set(connection.scalars(text("SELECT datname FROM pg_database")))

    with throwaway_database(postgres_server) as url:
        name = make_url(url).database
        assert name in databases()
        lingering = create_engine(url).connect()
    assert name not in databases()
    lingering.invalidate()
    lingering.close()
