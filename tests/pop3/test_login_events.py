"""Each kind of login refusal is its own log event, with the settings-driven connection."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.pop3 import Pop3AuthError, Pop3InUseError, Pop3LoginDelayError, Pop3ServerError
from tests.pop3.conftest import PASSWORD

StartServer = Callable[..., DevPop3Server]


def settings_for(
    server: DevPop3Server, password: str = PASSWORD, **extra: object
) -> MailboxSettings:
    return MailboxSettings.model_validate(
        {
            "name": "support",
            "host": server.host,
            "port": server.port,
            "security": server.security,
            "username": "support",
            "password": password,
            "ca_file": server.ca_pem_path,
            "connect_timeout_s": 5,
            "read_timeout_s": 5,
            **extra,
        }
    )


def test_successful_login_names_the_mechanism(start_server: StartServer) -> None:
    server = start_server()
    with capture_logs() as logs, open_mailbox(settings_for(server)) as session:
        assert session.mechanism == "PLAIN"
    assert {"event": "pop3_logged_in", "mailbox": "support", "mechanism": "PLAIN"}.items() <= (
        logs[0].items()
    )


@pytest.mark.parametrize(
    ("faults", "password", "kind", "event"),
    [
        (Faults(), "wrong", Pop3AuthError, "pop3_auth_failed"),
        (Faults(in_use=True), PASSWORD, Pop3InUseError, "pop3_in_use"),
        (Faults(login_delay=True), PASSWORD, Pop3LoginDelayError, "pop3_login_delay"),
    ],
)
def test_refusals_are_distinct_events(
    start_server: StartServer,
    faults: Faults,
    password: str,
    kind: type[Pop3ServerError],
    event: str,
) -> None:
    server = start_server(faults=faults)
    with capture_logs() as logs, pytest.raises(kind):
        open_mailbox(settings_for(server, password, auth="user"))
    assert [entry["event"] for entry in logs] == [event]
    assert logs[0]["suggested_retry_s"] > 0
    assert logs[0]["log_level"] == "warning"


def test_xoauth2_from_settings_with_a_token_command(start_server: StartServer) -> None:
    server = start_server(sasl_mechanisms=("XOAUTH2",), oauth_token="cmd-token")
    settings = MailboxSettings.model_validate(
        {
            "name": "m365",
            "host": server.host,
            "port": server.port,
            "username": "support",
            "auth": "xoauth2",
            "ca_file": server.ca_pem_path,
            "oauth": {
                "token_command": [sys.executable, "-c", "print('cmd-token')"],
                "two_step": True,
            },
        }
    )
    with capture_logs() as logs, open_mailbox(settings) as session:
        assert session.mechanism == "XOAUTH2"
    assert server.auth_forms == ["XOAUTH2 two-step"]
    assert [entry["event"] for entry in logs] == ["oauth_token_refreshed", "pop3_logged_in"]


def test_oauth_mechanisms_need_an_oauth_table() -> None:
    with pytest.raises(ValueError, match="oauth"):
        MailboxSettings(name="m", host="h", username="u", auth="oauthbearer")
