"""Connections the daemon must refuse, and a mailbox held by another session, end to end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from helpdesk_ingest.check import check_mailbox
from helpdesk_ingest.config import MailboxSettings, Settings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.runtime import build_runtime

MAIL = (
    b"From: a@example.org\r\nTo: support@example.com\r\nSubject: hello\r\n"
    b"Message-ID: <r1@example.org>\r\n\r\nbody\r\n"
)


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def mailbox_for(server: DevPop3Server, *, host: str | None = None) -> MailboxSettings:
    return MailboxSettings(
        name="support",
        host=host or server.host,
        port=server.port,
        security=server.security,
        username="support",
        password=SecretStr("secret"),
        ca_file=server.ca_pem_path,
        connect_timeout_s=5,
        read_timeout_s=5,
    )


def poll_once(tmp_path: Path, mailbox: MailboxSettings) -> str:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'helpdesk.db'}"), mailboxes=[mailbox]
    )
    runtime = build_runtime(settings, migrate=True)
    try:
        result = runtime.poll(mailbox)
    finally:
        runtime.engine.dispose()
    assert result.outcome == "failed"
    assert result.error is not None
    return result.error


def test_server_without_stls_is_refused_before_any_credential(tmp_path: Path) -> None:
    with DevPop3Server([MAIL], security="starttls", faults=Faults(no_stls=True)) as server:
        error = poll_once(tmp_path, mailbox_for(server))
        assert "Pop3TlsError" in error
        assert "STLS" in error
        assert "USER" not in server.commands_seen
        assert "PASS" not in server.commands_seen
        assert server.messages() == [MAIL]


def test_wrong_host_name_is_refused(tmp_path: Path) -> None:
    # The development server's certificate names 127.0.0.1 only; "localhost" reaches the same
    # socket but must not be accepted under that name.
    with DevPop3Server([MAIL]) as server:
        error = poll_once(tmp_path, mailbox_for(server, host="localhost"))
        assert "Pop3TlsError" in error
        assert "USER" not in server.commands_seen
        assert server.messages() == [MAIL]


def test_check_reports_a_mailbox_held_by_another_session_as_in_use() -> None:
    with DevPop3Server([MAIL]) as server:
        mailbox = mailbox_for(server)
        with open_mailbox(mailbox):
            line = check_mailbox(mailbox)
        assert line.ok
        assert "in use by another session" in line.text
        assert server.messages() == [MAIL]


def test_check_reports_tls_and_counts_without_changing_anything() -> None:
    with DevPop3Server([MAIL, MAIL]) as server:
        line = check_mailbox(mailbox_for(server))
        assert line.ok
        assert "TLSv1." in line.text
        assert "2 messages" in line.text
        assert server.messages() == [MAIL, MAIL]
        assert "DELE" not in server.commands_seen
