"""Faults a real server rarely makes, through the whole poll: each leaves a clear log event,
loses nothing, duplicates nothing, and the next pass recovers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import func, select

from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.logs import configure_logging
from helpdesk_ingest.poller import PollResult
from helpdesk_ingest.runtime import Runtime, build_runtime
from helpdesk_ingest.store.models import Article, RawMessage

TOTAL = 4


def mail(number: int) -> bytes:
    return (
        f"From: c{number}@example.org\r\nTo: support@example.com\r\nSubject: case {number}\r\n"
        f"Message-ID: <fault-{number}@example.org>\r\n\r\nbody {number}\r\n"
    ).encode()


@dataclass(frozen=True)
class FaultCase:
    name: str
    faults: Faults
    first_outcome: str
    event: str
    detail: str


CASES = [
    FaultCase(
        "dropped after RETR",
        Faults(drop_after_retr={2}),
        "failed",
        "mailbox_error",
        "Pop3ConnectionError",
    ),
    FaultCase(
        "-ERR on DELE", Faults(err_on_dele={1}), "ok", "message_delete_refused", "refused DELE"
    ),
    FaultCase("stalled RETR", Faults(stall_on_retr={3}), "failed", "mailbox_error", "no answer"),
    FaultCase(
        "garbage greeting",
        Faults(garbage_greeting=True),
        "failed",
        "mailbox_error",
        "Pop3ProtocolError",
    ),
    FaultCase(
        "over-long line",
        Faults(overlong_greeting=True),
        "failed",
        "mailbox_error",
        "longer than",
    ),
    FaultCase("[IN-USE]", Faults(in_use=True), "failed", "pop3_in_use", "IN-USE"),
    FaultCase(
        "[LOGIN-DELAY]", Faults(login_delay=True), "failed", "pop3_login_delay", "LOGIN-DELAY"
    ),
    FaultCase("no CAPA, no UIDL", Faults(no_capa=True, no_uidl=True), "ok", "poll_finished", "ok"),
]


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def stored(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessions() as session:
        raw = session.scalar(select(func.count()).select_from(RawMessage)) or 0
        articles = session.scalar(select(func.count()).select_from(Article)) or 0
    return raw, articles


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault_then_recovery(tmp_path: Path, case: FaultCase, log_stream: io.StringIO) -> None:
    messages = [mail(number) for number in range(1, TOTAL + 1)]
    with DevPop3Server(messages, faults=case.faults) as server:
        mailbox = MailboxSettings(
            name="support",
            host=server.host,
            port=server.port,
            username="support",
            password=SecretStr("secret"),
            ca_file=server.ca_pem_path,
            read_timeout_s=1,
            connect_timeout_s=5,
        )
        settings = Settings(
            database_url=SecretStr(f"sqlite:///{tmp_path / 'helpdesk.db'}"), mailboxes=[mailbox]
        )
        runtime = build_runtime(settings, migrate=True)
        try:
            first: PollResult = runtime.poll(mailbox)
            assert first.outcome == case.first_outcome
            matching = [event for event in events(log_stream) if event["event"] == case.event]
            assert matching, f"no {case.event} event"
            assert case.detail in json.dumps(matching)
            raw_count, _ = stored(runtime)
            # Nothing left the server that is not stored.
            assert TOTAL - len(server.messages()) <= raw_count

            server.faults.drop_after_retr.clear()
            server.faults.err_on_dele.clear()
            server.faults.stall_on_retr.clear()
            server.faults.garbage_greeting = False
            server.faults.overlong_greeting = False
            server.faults.in_use = False
            server.faults.login_delay = False
            second = runtime.poll(mailbox)
            assert second.outcome == "ok"
            assert server.messages() == []
            assert stored(runtime) == (TOTAL, TOTAL)
        finally:
            runtime.engine.dispose()
