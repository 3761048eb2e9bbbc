"""Fixtures for the POP3 client tests: the development server with a throw-away CA."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
import trustme

from helpdesk_ingest.devserver import DevPop3Server, Faults
from helpdesk_ingest.pop3 import Endpoint, Pop3Session, UserPassAuthenticator

PASSWORD = "correct-horse-battery-staple"
LOGIN = UserPassAuthenticator(username="support", password=PASSWORD)

StartServer = Callable[..., DevPop3Server]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def start_server(ca: trustme.CA) -> Iterator[StartServer]:
    """Start a development server; every one started is stopped after the test."""
    started: list[DevPop3Server] = []

    def start(
        messages: list[bytes] | None = None,
        *,
        security: Literal["tls", "starttls"] = "tls",
        faults: Faults | None = None,
        **options: Any,
    ) -> DevPop3Server:
        server = DevPop3Server(
            messages or [],
            password=options.pop("password", PASSWORD),
            security=security,
            faults=faults,
            ca=options.pop("ca", ca),
            **options,
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _endpoint_of(server: DevPop3Server, **changes: Any) -> Endpoint:
    fields: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "ca_file": server.ca_pem_path,
        "connect_timeout_s": 5.0,
        "read_timeout_s": 5.0,
    }
    fields.update(changes)
    return Endpoint(**fields)


def _logged_in(server: DevPop3Server, **changes: Any) -> Pop3Session:
    session = Pop3Session.connect(_endpoint_of(server, **changes))
    try:
        session.login(LOGIN)
    except BaseException:
        session.close()
        raise
    return session


@pytest.fixture
def endpoint_of() -> Callable[..., Endpoint]:
    """The Endpoint that reaches a server, with any field changed by keyword."""
    return _endpoint_of


@pytest.fixture
def logged_in() -> Callable[..., Pop3Session]:
    """A session to a server, connected and logged in; the caller closes it."""
    return _logged_in


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two connected sockets: the reader's end (with a timeout) and the server's."""
    ours, theirs = socket.socketpair()
    ours.settimeout(2.0)
    yield ours, theirs
    ours.close()
    theirs.close()
