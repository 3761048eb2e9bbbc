"""PostgreSQL becomes unreachable in the middle of a pass: nothing uncommitted is deleted, and
the running daemon recovers by itself once the database is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, make_url, select, text

from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article, RawMessage
from tests.integration.crash_matrix import numbered_mail, write_config
from tests.support.dovecot import DovecotServer


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def stored(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            raw = session.scalar(select(func.count()).select_from(RawMessage)) or 0
            articles = session.scalar(select(func.count()).select_from(Article)) or 0
            return raw, articles
    finally:
        engine.dispose()


def set_reachable(admin: Engine, database: str, reachable: bool) -> None:
    with admin.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(reachable).lower()}')
        )
        if not reachable:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )


def test_daemon_survives_a_database_outage_mid_pass(
    tmp_path: Path, postgres_url: str, postgres_server: Engine, dovecot: DovecotServer
) -> None:
    total = 60
    account = dovecot.new_mailbox()
    for number in range(1, total + 1):
        dovecot.deliver(account, numbered_mail(number))
    config = write_config(tmp_path / "outage.toml", postgres_url, dovecot, account)
    database = make_url(postgres_url).database
    assert database is not None
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as log_file:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "helpdesk_ingest", "--config", str(config), "run"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_for(lambda: b'"message_handled"' in log_path.read_bytes(), 60, "the first message")
        set_reachable(postgres_server, database, reachable=False)
        try:
            wait_for(
                lambda: (
                    b'"database_unavailable"' in log_path.read_bytes()
                    or b"poll_failed" in log_path.read_bytes()
                ),
                60,
                "the daemon to notice the outage",
            )
            time.sleep(1.0)
            left_during_outage = dovecot.count(account)
        finally:
            set_reachable(postgres_server, database, reachable=True)
        raw_after_outage, _ = stored(postgres_url)
        # Whatever left the server was committed first.
        assert total - left_during_outage <= raw_after_outage
        assert left_during_outage > 0
        wait_for(lambda: dovecot.count(account) == 0, 90, "the daemon to drain the mailbox")
        assert daemon.poll() is None, "the daemon must keep running through the outage"
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert stored(postgres_url) == (total, total)
