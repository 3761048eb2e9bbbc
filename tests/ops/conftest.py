"""Fixtures of the operations tests: a migrated database and a development POP3 server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head


def customer_mail(number: int) -> bytes:
    return (
        f"From: Customer {number} <customer{number}@example.org>\r\n"
        f"To: support@example.com\r\n"
        f"Subject: Printer {number} is on fire\r\n"
        f"Message-ID: <ops-{number}@example.org>\r\n"
        f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
        f"\r\n"
        f"Please help, case {number}.\r\n"
    ).encode()


def mailbox_toml(server: DevPop3Server, name: str = "support") -> str:
    return (
        "[[mailboxes]]\n"
        f'name = "{name}"\n'
        f'host = "{server.host}"\n'
        f"port = {server.port}\n"
        'username = "support"\n'
        'password = "secret"\n'
        f'ca_file = "{server.ca_pem_path}"\n'
        "connect_timeout_s = 5\n"
        "read_timeout_s = 10\n"
    )


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    """`main` configures logging for the process; undo it for the next test."""
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(migrated_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(migrated_engine)


@pytest.fixture
def devserver() -> Iterator[DevPop3Server]:
    with DevPop3Server() as server:
        yield server


@pytest.fixture
def config_file(tmp_path: Path, database_url: str, devserver: DevPop3Server) -> Path:
    path = tmp_path / "helpdesk-ingest.toml"
    path.write_text(
        f'database_url = "{database_url}"\nlog_format = "json"\n' + mailbox_toml(devserver),
        encoding="utf-8",
    )
    return path
