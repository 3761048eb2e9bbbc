"""One poller per mailbox: the advisory lock, and two daemon processes sharing one mailbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select
from structlog.testing import capture_logs

from helpdesk_ingest.config import Settings, load_settings
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.locking import mailbox_lock, mailbox_lock_key, sqlite_lock_file
from helpdesk_ingest.runtime import Runtime
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.migrations import upgrade_to_head
from helpdesk_ingest.store.models import Article, RawMessage
from tests.ops.conftest import customer_mail, mailbox_toml


def test_lock_key_is_stable_and_differs_per_mailbox() -> None:
    assert mailbox_lock_key("support") == mailbox_lock_key("support")
    assert mailbox_lock_key("support") != mailbox_lock_key("billing")
    assert -(2**63) <= mailbox_lock_key("support") < 2**63


def test_lock_excludes_a_second_holder_until_released(database_url: str) -> None:
    mine, theirs = make_engine(database_url), make_engine(database_url)
    try:
        with mailbox_lock(mine, "support") as held:
            assert held
            with mailbox_lock(theirs, "support") as other:
                assert not other
            with mailbox_lock(theirs, "billing") as other_mailbox:
                assert other_mailbox
        with mailbox_lock(theirs, "support") as after_release:
            assert after_release
    finally:
        mine.dispose()
        theirs.dispose()


def test_the_sqlite_lock_is_a_file_beside_the_database(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    database = Path(str(engine.url.database))
    lock_file = sqlite_lock_file(str(database), "support")
    assert lock_file is not None
    assert lock_file.parent == database.parent
    assert lock_file.name.startswith(f"{database.name}.mailbox-")
    assert lock_file != sqlite_lock_file(str(database), "billing")
    with mailbox_lock(engine, "support") as held:
        assert held
        assert lock_file.exists()
    engine.dispose()


def test_a_symbolic_link_in_place_of_the_lock_file_is_not_followed(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    lock_file = sqlite_lock_file(str(engine.url.database), "support")
    assert lock_file is not None
    target = tmp_path / "elsewhere"
    lock_file.symlink_to(target)
    with capture_logs() as logs, mailbox_lock(engine, "support") as held:
        assert held
    assert [entry["event"] for entry in logs] == ["mailbox_lock_unavailable"]
    assert not target.exists()
    engine.dispose()


def test_sqlite_in_memory_has_no_file_to_lock() -> None:
    engine = make_engine("sqlite://")
    with mailbox_lock(engine, "support") as first, mailbox_lock(engine, "support") as second:
        assert (first, second) == (True, True)
    engine.dispose()


def test_a_lock_file_that_cannot_be_made_leaves_the_pass_to_the_database(tmp_path: Path) -> None:
    # Where no file can be made beside the database, SQLite cannot work there either: the lock
    # says so in the log and lets the pass meet the database's own error.
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    # Not make_engine, which would make the database's directory first.
    engine = create_engine(f"sqlite:///{not_a_directory / 'helpdesk.db'}")
    with capture_logs() as logs, mailbox_lock(engine, "support") as held:
        assert held
    assert [entry["event"] for entry in logs] == ["mailbox_lock_unavailable"]
    engine.dispose()


def _runtime_with_one_mail(
    database_url: str, tmp_path: Path, devserver: DevPop3Server
) -> tuple[Settings, Engine, Runtime]:
    """A migrated database, a mailbox "support" on the development server holding one mail, and
    the runtime that polls it."""
    devserver.deliver(customer_mail(1))
    config = tmp_path / "c.toml"
    config.write_text(f'database_url = "{database_url}"\n' + mailbox_toml(devserver))
    settings = load_settings(config)
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    return settings, engine, Runtime(settings, engine, make_sessionmaker(engine))


def test_a_mailbox_locked_by_another_process_is_skipped_on_sqlite(
    sqlite_url: str, tmp_path: Path, devserver: DevPop3Server
) -> None:
    settings, engine, runtime = _runtime_with_one_mail(sqlite_url, tmp_path, devserver)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from helpdesk_ingest.locking import mailbox_lock\n"
            "from helpdesk_ingest.store.database import make_engine\n"
            "with mailbox_lock(make_engine(sys.argv[1]), 'support') as held:\n"
            "    print(held, flush=True)\n"
            "    time.sleep(60)\n",
            sqlite_url,
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"True\n"
        assert runtime.poll(settings.mailbox("support")).outcome == "skipped"
        assert devserver.sessions_opened == 0
        # Killed outright, the holder leaves the lock behind only as a file: the kernel freed it.
        holder.kill()
        holder.wait(timeout=10)
        assert runtime.poll(settings.mailbox("support")).outcome == "ok"
        assert devserver.messages() == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
        engine.dispose()


def test_locked_mailbox_is_skipped_without_a_pop3_session(
    postgres_url: str, tmp_path: Path, devserver: DevPop3Server
) -> None:
    settings, engine, runtime = _runtime_with_one_mail(postgres_url, tmp_path, devserver)
    other = make_engine(postgres_url)
    try:
        with mailbox_lock(other, "support") as held, capture_logs() as logs:
            assert held
            result = runtime.poll(settings.mailbox("support"))
        assert result.outcome == "skipped"
        assert result.succeeded
        assert devserver.sessions_opened == 0
        assert {"event": "mailbox_locked_elsewhere", "mailbox": "support", "log_level": "info"} in [
            {k: v for k, v in entry.items() if k in {"event", "mailbox", "log_level"}}
            for entry in logs
        ]
        # Once the other holder is gone, the next run polls.
        assert runtime.poll(settings.mailbox("support")).outcome == "ok"
        assert devserver.messages() == []
    finally:
        engine.dispose()
        other.dispose()


def _start_daemon(config: Path, log_path: Path, command: str = "run") -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HELPDESK_")}
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "helpdesk_ingest.cli", "--config", str(config), command],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _events(log_path: Path) -> list[dict[str, Any]]:
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _count(engine: Engine, model: type[Any]) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_two_daemons_share_one_mailbox_one_session_at_a_time(
    database_url: str, tmp_path: Path, devserver: DevPop3Server
) -> None:
    total = 60
    for number in range(1, total + 1):
        devserver.deliver(customer_mail(number))
    engine = make_engine(database_url)
    upgrade_to_head(engine)
    config = tmp_path / "daemon.toml"
    # Short intervals and checkpoints make the two daemons contend for the mailbox many times.
    config.write_text(
        f'database_url = "{database_url}"\nlog_format = "json"\n'
        "poll_interval_s = 0.3\ncheckpoint_every = 3\n" + mailbox_toml(devserver)
    )
    logs = [tmp_path / "daemon-a.log", tmp_path / "daemon-b.log"]
    daemons = [_start_daemon(config, path) for path in logs]
    try:
        deadline = time.monotonic() + 60
        while devserver.messages() and time.monotonic() < deadline:
            time.sleep(0.2)
        # A few more rounds in which the daemons find the mailbox empty.
        time.sleep(1.0)
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        exit_codes = [daemon.wait(timeout=30) for daemon in daemons]
    try:
        assert exit_codes == [0, 0]
        assert devserver.messages() == []
        assert devserver.max_concurrent_sessions == 1
        assert _count(engine, RawMessage) == total
        assert _count(engine, Article) == total
        events = [_events(path) for path in logs]
        # The daemons contended for the mailbox, and the lock, not the server's [IN-USE], kept
        # them apart: no login was refused and no pass failed.
        assert any(event["event"] == "poll_finished" for batch in events for event in batch)
        skipped = sum(
            event["event"] == "mailbox_locked_elsewhere" for batch in events for event in batch
        )
        assert skipped > 0
        errors = [event for batch in events for event in batch if event["level"] == "error"]
        assert errors == []
    finally:
        engine.dispose()
