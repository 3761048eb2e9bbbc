"""`poll`, for cron: it drains a backlog in passes back to back, and a stop request ends it
cleanly (the group in hand is stored and deleted, the session QUITs)."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from helpdesk_ingest.cli import main
from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.devserver.faults import Faults
from helpdesk_ingest.devserver.server import DevPop3Server
from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.runtime import Runtime
from helpdesk_ingest.store.database import make_engine, make_sessionmaker
from helpdesk_ingest.store.models import Article
from tests.ops.conftest import customer_mail, mailbox_toml
from tests.ops.test_ops_locking import _events, _start_daemon


def stored_message_ids(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Article.message_id)))


def test_poll_drains_a_backlog_in_passes_back_to_back(
    config_file: Path,
    sessions: sessionmaker[Session],
    devserver: DevPop3Server,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for number in range(1, 6):
        devserver.deliver(customer_mail(number))
    config_file.write_text(
        "max_messages_per_poll = 2\ncheckpoint_every = 2\n" + config_file.read_text()
    )
    assert main(["--config", str(config_file), "poll"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finished = [event for event in events if event["event"] == "poll_finished"]
    assert [(event["fetched"], event["more_waiting"]) for event in finished] == [
        (2, True),
        (2, True),
        (1, False),
    ]
    assert devserver.messages() == []
    assert sorted(stored_message_ids(sessions)) == sorted(
        f"<ops-{number}@example.org>" for number in range(1, 6)
    )


def test_poll_drains_several_backlogs_round_by_round(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # One mailbox's backlog must not hold up another's new mail until it is all drained.
    with DevPop3Server() as first, DevPop3Server() as second:
        for number in range(1, 4):
            first.deliver(customer_mail(number))
            second.deliver(customer_mail(100 + number))
        config = tmp_path / "poll.toml"
        config.write_text(
            f'database_url = "{sqlite_url}"\nlog_format = "json"\nmigrate_on_start = true\n'
            "max_messages_per_poll = 2\n"
            + mailbox_toml(first, "first")
            + mailbox_toml(second, "second")
        )
        assert main(["--config", str(config), "poll"]) == 0
        assert (first.messages(), second.messages()) == ([], [])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    finished = [event for event in events if event["event"] == "poll_finished"]
    assert [(event["mailbox"], event["fetched"]) for event in finished] == [
        ("first", 2),
        ("second", 2),
        ("first", 1),
        ("second", 1),
    ]


def test_poll_stops_between_groups_on_sigterm_and_loses_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    total = 1000
    with DevPop3Server([customer_mail(number) for number in range(total)]) as server:
        config = tmp_path / "poll.toml"
        config.write_text(
            f'database_url = "{sqlite_url}"\nlog_format = "json"\nmigrate_on_start = true\n'
            "max_messages_per_poll = 10\ncheckpoint_every = 10\ncommit_group_size = 5\n"
            + mailbox_toml(server)
        )
        log_path = tmp_path / "poll.log"
        process = _start_daemon(config, log_path, command="poll")
        try:
            deadline = time.monotonic() + 60
            # The raw text: the line being written may be cut short.
            while time.monotonic() < deadline and "poll_finished" not in log_path.read_text():
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=60)
        finally:
            process.kill()
        left = len(server.messages())
    events = _events(log_path)
    assert exit_code == 0
    assert [event["signal"] for event in events if event["event"] == "stop_requested"] == [
        "SIGTERM"
    ]
    engine = make_engine(sqlite_url)
    try:
        stored = stored_message_ids(make_sessionmaker(engine))
    finally:
        engine.dispose()
    # Stopped before the end of the backlog; every message either stored once and gone from the
    # server, or still there.
    assert left > 0
    assert max(Counter(stored).values()) == 1
    assert len(stored) + left == total


def test_a_second_stop_request_ends_a_pass_held_up_by_a_silent_server(
    sqlite_url: str, tmp_path: Path
) -> None:
    messages = [customer_mail(1), customer_mail(2)]
    # The server stops answering at the first RETR; the pass would wait read_timeout_s (10 s).
    with DevPop3Server(messages, faults=Faults(stall_on_retr={1})) as server:
        config = tmp_path / "poll.toml"
        config.write_text(
            f'database_url = "{sqlite_url}"\nlog_format = "json"\nmigrate_on_start = true\n'
            + mailbox_toml(server)
        )
        log_path = tmp_path / "poll.log"
        process = _start_daemon(config, log_path, command="poll")
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(
                command.startswith("RETR") for command in server.commands_seen
            ):
                time.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            # The first request waits for the message in hand.
            assert process.poll() is None
            asked_twice = time.monotonic()
            process.send_signal(signal.SIGTERM)
            exit_code = process.wait(timeout=30)
            waited_s = time.monotonic() - asked_twice
        finally:
            process.kill()
        left = server.messages()
    assert exit_code == 128 + signal.SIGTERM
    assert waited_s < 5.0
    events = [event["event"] for event in _events(log_path)]
    assert events.index("stop_requested") < events.index("stop_forced")
    assert left == messages


def _scripted_runtime(
    monkeypatch: pytest.MonkeyPatch, backlogs: dict[str, int], stop_after: int | None = None
) -> tuple[Runtime, list[str], threading.Event]:
    """A runtime whose passes only report: a mailbox has ``backlogs[name]`` more passes to go."""
    calls: list[str] = []
    stop = threading.Event()

    def scripted_pass(
        self: Runtime, mailbox: MailboxSettings, stop_flag: threading.Event | None = None
    ) -> PollResult:
        calls.append(mailbox.name)
        if stop_after is not None and len(calls) == stop_after:
            stop.set()
        backlogs[mailbox.name] -= 1
        return PollResult(mailbox.name, "ok", more_waiting=backlogs[mailbox.name] > 0)

    monkeypatch.setattr(Runtime, "poll", scripted_pass)
    settings = Settings(
        mailboxes=[
            MailboxSettings(name=name, host="127.0.0.1", username="u", password=SecretStr("p"))
            for name in backlogs
        ]
    )
    engine = make_engine("sqlite://")
    return Runtime(settings, engine, make_sessionmaker(engine)), calls, stop


def test_drain_goes_round_by_round_until_no_backlog_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime, calls, stop = _scripted_runtime(monkeypatch, {"a": 3, "b": 1, "c": 2})
    results = runtime.drain(runtime.settings.mailboxes, stop)
    assert calls == ["a", "b", "c", "a", "c", "a"]
    assert [(result.mailbox, result.more_waiting) for result in results] == [
        ("a", False),
        ("b", False),
        ("c", False),
    ]


def test_drain_starts_no_pass_once_asked_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, calls, stop = _scripted_runtime(monkeypatch, {"a": 3, "b": 3}, stop_after=1)
    results = runtime.drain(runtime.settings.mailboxes, stop)
    assert calls == ["a"]
    assert [result.mailbox for result in results] == ["a"]
