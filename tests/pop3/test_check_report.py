"""`check` reports TLS, the certificate and its expiry, capabilities and the login mechanism."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import trustme

from helpdesk_ingest.check import check_mailbox, days_to_expiry
from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.devserver import DevPop3Server
from tests.pop3.conftest import PASSWORD

StartServer = Callable[..., DevPop3Server]
MAIL = b"Subject: x\r\n\r\nbody\r\n"


def mailbox_for(server: DevPop3Server) -> MailboxSettings:
    return MailboxSettings(
        name="support",
        host=server.host,
        port=server.port,
        username="support",
        password=PASSWORD,
        ca_file=server.ca_pem_path,
    )


def test_report_names_everything_and_changes_nothing(start_server: StartServer) -> None:
    server = start_server([MAIL])
    line = check_mailbox(mailbox_for(server))
    assert line.ok
    assert not line.warning
    for part in ("TLSv1.", "issued by", "days)", "key pin sha256/", "SASL PLAIN"):
        assert part in line.text
    assert "logged in with PLAIN" in line.text
    assert f"1 messages, {len(MAIL)} octets" in line.text
    assert line.render().startswith("ok  ")
    assert "DELE" not in server.commands_seen
    assert server.messages() == [MAIL]


def test_a_certificate_near_its_end_is_a_warning(start_server: StartServer, ca: trustme.CA) -> None:
    soon = ca.issue_cert("127.0.0.1", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    server = start_server(certificate=soon)
    line = check_mailbox(mailbox_for(server))
    assert line.ok
    assert line.warning
    assert "(4 days)" in line.text
    assert line.render().startswith("WARN")


def test_days_to_expiry() -> None:
    certificate = {"notAfter": "Jan 31 00:00:00 2030 GMT"}
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    assert days_to_expiry(certificate, now) == 30
    assert days_to_expiry(certificate, now + 40 * 86400) == -10
    assert days_to_expiry({}) is None
