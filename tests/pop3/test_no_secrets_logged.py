"""No password, token or SASL exchange in any log event or exception, failed or successful."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.devserver import DevPop3Server
from helpdesk_ingest.pop3 import Pop3Error
from tests.pop3.conftest import PASSWORD
from tests.pop3.secret_leaks import exception_texts, leaks

StartServer = Callable[..., DevPop3Server]
TOKEN = "ya29.a0AfH6SMBx-token-value-1234567890"
WRONG_PASSWORD = "wrong-horse-battery-staple"
WRONG_TOKEN = "ya29.a0AfH6SMBx-wrong-token-0987654321"


def settings(server: DevPop3Server, auth: str, secret: str) -> MailboxSettings:
    fields: dict[str, Any] = {
        "name": f"leak-{auth}",
        "host": server.host,
        "port": server.port,
        "username": "support",
        "auth": auth,
        "ca_file": server.ca_pem_path,
    }
    if auth in ("xoauth2", "oauthbearer"):
        fields["oauth"] = {"token_command": [sys.executable, "-c", f"print({secret!r})"]}
    else:
        fields["password"] = secret
    return MailboxSettings.model_validate(fields)


@pytest.mark.parametrize(
    ("auth", "good", "bad"),
    [
        ("plain", PASSWORD, WRONG_PASSWORD),
        ("user", PASSWORD, WRONG_PASSWORD),
        ("auto", PASSWORD, WRONG_PASSWORD),
        ("xoauth2", TOKEN, WRONG_TOKEN),
        ("oauthbearer", TOKEN, WRONG_TOKEN),
    ],
)
def test_no_secret_in_logs_or_errors(
    start_server: StartServer, auth: str, good: str, bad: str
) -> None:
    server = start_server(sasl_mechanisms=("PLAIN", "XOAUTH2", "OAUTHBEARER"), oauth_token=TOKEN)
    errors: list[str] = []
    with capture_logs() as events:
        with pytest.raises(Pop3Error) as caught:
            open_mailbox(settings(server, auth, bad))
        errors += exception_texts(caught.value)
        with open_mailbox(settings(server, auth, good)) as session:
            session.stat()
    assert {event["event"] for event in events} >= {"pop3_auth_failed", "pop3_logged_in"}
    assert leaks(events, errors, [good, bad]) == []
