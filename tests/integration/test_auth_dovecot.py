"""Every password mechanism Dovecot offers logs in and drains a mailbox; wrong passwords are
refused with nothing deleted."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from helpdesk_ingest.config import MailboxSettings
from helpdesk_ingest.connect import open_mailbox
from helpdesk_ingest.pop3 import (
    Endpoint,
    PasswordAuthenticator,
    Pop3AuthError,
    Pop3Session,
    choose_mechanism,
)
from helpdesk_ingest.pop3.auth import PasswordMechanism
from tests.pop3.secret_leaks import exception_texts, leaks
from tests.support.dovecot import DovecotServer

MECHANISMS: list[PasswordMechanism] = [
    "plain",
    "login",
    "cram-md5",
    "scram-sha-1",
    "scram-sha-256",
    "apop",
    "user",
]


def mail(number: int) -> bytes:
    return (
        f"From: c{number}@example.org\r\nSubject: Help {number}\r\n\r\nBody {number}\r\n".encode()
    )


def endpoint(dovecot: DovecotServer, security: str = "tls") -> Endpoint:
    port = dovecot.pop3s_port if security == "tls" else dovecot.pop3_port
    return Endpoint(
        dovecot.host,
        port,
        "tls" if security == "tls" else "starttls",
        ca_file=dovecot.ca_file,
        connect_timeout_s=10,
        read_timeout_s=10,
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_each_mechanism_logs_in_and_drains_the_mailbox(
    dovecot: DovecotServer, mechanism: PasswordMechanism
) -> None:
    account = dovecot.new_mailbox()
    messages = [mail(1), mail(2)]
    for raw in messages:
        dovecot.deliver(account, raw)

    with Pop3Session.connect(endpoint(dovecot)) as session:
        session.login(PasswordAuthenticator(account.username, account.password, mechanism))
        assert session.mechanism == mechanism.upper()
        count, _ = session.stat()
        assert [session.retr(n) for n in range(1, count + 1)] == messages
        for number in range(1, count + 1):
            session.dele(number)
        session.quit()

    assert dovecot.count(account) == 0


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_auto_picks_scram_sha_256_after_tls(dovecot: DovecotServer, security: str) -> None:
    account = dovecot.new_mailbox()
    with Pop3Session.connect(endpoint(dovecot, security)) as session:
        assert choose_mechanism(session.capabilities) == "SCRAM-SHA-256"
        session.login(PasswordAuthenticator(account.username, account.password))
        assert session.mechanism == "SCRAM-SHA-256"
        assert session.stat() == (0, 0)


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_is_refused_and_nothing_is_deleted(
    dovecot: DovecotServer, mechanism: PasswordMechanism
) -> None:
    account = dovecot.new_mailbox()
    dovecot.deliver(account, mail(1))
    wrong = account.password + "-wrong"

    with Pop3Session.connect(endpoint(dovecot)) as session:
        with pytest.raises(Pop3AuthError) as caught:
            session.login(PasswordAuthenticator(account.username, wrong, mechanism))
        assert wrong not in str(caught.value)
        assert account.password not in str(caught.value)

    assert dovecot.count(account) == 1


@pytest.mark.parametrize("mechanism", [*MECHANISMS, "auto"])
def test_no_secret_in_logs_or_errors(dovecot: DovecotServer, mechanism: str) -> None:
    account = dovecot.new_mailbox()
    wrong = account.password + "-wrong"

    def settings(password: str) -> MailboxSettings:
        return MailboxSettings(
            name="dovecot",
            host=dovecot.host,
            port=dovecot.pop3s_port,
            username=account.username,
            password=SecretStr(password),
            auth=mechanism,
            ca_file=dovecot.ca_file,
        )

    errors: list[str] = []
    with capture_logs() as events:
        with pytest.raises(Pop3AuthError) as caught:
            open_mailbox(settings(wrong))
        errors += exception_texts(caught.value)
        with open_mailbox(settings(account.password)) as session:
            session.stat()
    assert [event["event"] for event in events] == ["pop3_auth_failed", "pop3_logged_in"]
    assert leaks(events, errors, [account.password, wrong]) == []
