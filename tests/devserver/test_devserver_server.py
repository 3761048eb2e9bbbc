"""The development server through the project's client: RFC 1939 semantics and bookkeeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import trustme

from helpdesk_ingest.devserver import DevPop3Server, Faults, sample_messages
from helpdesk_ingest.pop3 import (
    Endpoint,
    Pop3ConnectionError,
    Pop3ServerError,
    Pop3Session,
    UserPassAuthenticator,
)

PASSWORD = "devserver-test-password"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server(ca: trustme.CA) -> Iterator[DevPop3Server]:
    with DevPop3Server([b"Subject: one\r\n\r\n1\r\n"], password=PASSWORD, ca=ca) as running:
        yield running


def connect(server: DevPop3Server, *, login: bool = True, read_timeout_s: float = 5) -> Pop3Session:
    endpoint = Endpoint(
        server.host,
        server.port,
        server.security,
        ca_file=server.ca_pem_path,
        connect_timeout_s=5,
        read_timeout_s=read_timeout_s,
    )
    session = Pop3Session.connect(endpoint)
    if login:
        try:
            session.login(UserPassAuthenticator("support", PASSWORD))
        except BaseException:
            session.close()
            raise
    return session


def test_samples_are_served_byte_exact(ca: trustme.CA) -> None:
    samples = sample_messages()
    with DevPop3Server(samples, password=PASSWORD, ca=ca) as server, connect(server) as session:
        assert [session.retr(n) for n, _ in session.list()] == samples
        session.quit()


def test_bare_line_feeds_are_sent_as_crlf(server: DevPop3Server) -> None:
    server.deliver(b"Subject: unix\n\nline\n")

    with connect(server) as session:
        assert session.retr(2) == b"Subject: unix\r\n\r\nline\r\n"
        assert session.list()[1] == (2, len(b"Subject: unix\r\n\r\nline\r\n"))
        session.quit()


def test_mail_delivered_during_a_session_waits_for_the_next(server: DevPop3Server) -> None:
    with connect(server) as session:
        server.deliver(b"Subject: two\r\n\r\n2\r\n")
        assert session.stat()[0] == 1
        session.quit()

    with connect(server) as session:
        assert session.stat()[0] == 2
        session.quit()


def test_single_message_forms_and_errors(server: DevPop3Server) -> None:
    with connect(server) as session:
        assert session.command("LIST 1") == f"1 {len(server.messages()[0])}"
        assert session.command("UIDL 1") == "1 dev-00000001"
        session.dele(1)
        with pytest.raises(Pop3ServerError, match="no such message"):
            session.retr(1)
        with pytest.raises(Pop3ServerError, match="no such message"):
            session.dele(7)
        assert session.list() == []
        session.quit()

    assert server.messages() == []


def test_transaction_commands_need_a_login(server: DevPop3Server) -> None:
    with connect(server, login=False) as session, pytest.raises(Pop3ServerError, match="unknown"):
        session.stat()


def test_commands_seen_never_hold_arguments(server: DevPop3Server) -> None:
    with connect(server) as session:
        session.quit()

    assert server.commands_seen == ["CAPA", "USER", "PASS", "QUIT"]


def test_session_counters(server: DevPop3Server) -> None:
    first = connect(server)
    second = connect(server, login=False)
    first.quit()
    second.quit()

    assert server.sessions_opened == 2
    assert server.max_concurrent_sessions == 2


def test_stop_ends_a_stalled_session_promptly(ca: trustme.CA) -> None:
    server = DevPop3Server(
        [b"Subject: x\r\n\r\nx\r\n"], password=PASSWORD, ca=ca, faults=Faults(stall_on_retr={1})
    )
    server.start()
    session = connect(server, read_timeout_s=30)
    outcome: list[BaseException] = []

    def fetch() -> None:
        try:
            session.retr(1)
        except Pop3ConnectionError as exc:
            outcome.append(exc)

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    fetcher.join(timeout=5)
    session.close()

    assert time.monotonic() - started < 3
    assert len(outcome) == 1
    assert not server.ca_pem_path.exists()
