"""Login mechanisms against the development server and scripted peers."""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from scramp import ScramMechanism

from helpdesk_ingest.devserver import DevPop3Server
from helpdesk_ingest.pop3 import (
    Endpoint,
    PasswordAuthenticator,
    Pop3AuthError,
    Pop3Session,
    choose_mechanism,
)
from helpdesk_ingest.pop3.auth import apop_timestamp
from helpdesk_ingest.pop3.sasl import MAX_AUTH_LINE_OCTETS, Plain, sasl_login
from tests.pop3.conftest import PASSWORD

StartServer = Callable[..., DevPop3Server]
EndpointOf = Callable[..., Endpoint]


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [
        ({"SASL": ("PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"), "USER": ()}, "SCRAM-SHA-256"),
        ({"SASL": ("PLAIN", "SCRAM-SHA-1", "CRAM-MD5")}, "SCRAM-SHA-1"),
        ({"SASL": ("LOGIN", "CRAM-MD5", "PLAIN")}, "CRAM-MD5"),
        ({"SASL": ("login", "plain")}, "PLAIN"),
        ({"SASL": ("LOGIN", "XOAUTH2")}, "LOGIN"),
        ({"SASL": ("GSSAPI",), "USER": ()}, "USER"),
        ({}, "USER"),
    ],
)
def test_auto_picks_the_strongest_offered(
    capabilities: dict[str, tuple[str, ...]], expected: str
) -> None:
    assert choose_mechanism(capabilities) == expected


def test_auto_refuses_when_nothing_usable_is_offered() -> None:
    with pytest.raises(Pop3AuthError, match="no login mechanism"):
        choose_mechanism({"SASL": ("GSSAPI",), "TOP": ()})


def test_apop_timestamp_is_found_in_the_greeting() -> None:
    greeting = "POP3 server ready <1896.697170952@dbc.mtview.ca.us>"
    assert apop_timestamp(greeting) == "<1896.697170952@dbc.mtview.ca.us>"
    assert apop_timestamp("POP3 server ready") is None


def test_plain_with_initial_response_against_the_dev_server(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server([b"Subject: x\r\n\r\nbody\r\n"])
    with Pop3Session.connect(endpoint_of(server)) as session:
        session.login(PasswordAuthenticator("support", PASSWORD))
        assert session.mechanism == "PLAIN"
        assert session.stat()[0] == 1
    assert server.auth_forms == ["PLAIN initial-response"]
    assert "USER" not in server.commands_seen


def test_plain_two_step_when_asked(start_server: StartServer, endpoint_of: EndpointOf) -> None:
    server = start_server()
    with Pop3Session.connect(endpoint_of(server)) as session:
        sasl_login(session, Plain("support", PASSWORD), two_step=True)
        assert session.stat() == (0, 0)
    assert server.auth_forms == ["PLAIN two-step"]


def test_a_long_initial_response_waits_for_the_empty_challenge(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    long_password = "x" * MAX_AUTH_LINE_OCTETS
    server = start_server(password=long_password)
    with Pop3Session.connect(endpoint_of(server)) as session:
        session.login(PasswordAuthenticator("support", long_password, "plain"))
    assert server.auth_forms == ["PLAIN two-step"]


def test_plain_wrong_password_is_an_auth_error(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    server = start_server()
    with Pop3Session.connect(endpoint_of(server)) as session:
        with pytest.raises(Pop3AuthError) as caught:
            session.login(PasswordAuthenticator("support", "not-it", "plain"))
        assert caught.value.resp_code == "AUTH"
        assert "not-it" not in str(caught.value)
        # Regression: re-raising the server's error must not make it its own cause.
        assert caught.value.__cause__ is not caught.value


class ScramPeer:
    """A TLS POP3 peer that runs SCRAM-SHA-256 but may forge its final signature."""

    def __init__(self, ca: trustme.CA, password: str, *, forge_signature: bool) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        mechanism = ScramMechanism("SCRAM-SHA-256")
        self.auth_info = mechanism.make_auth_info(password)
        self.mechanism = mechanism
        self.forge_signature = forge_signature
        self.cancelled = False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError, ssl.SSLError):
            raw, _ = self.listener.accept()
            with self.context.wrap_socket(raw, server_side=True) as conn:
                self._converse(conn)

    def _converse(self, conn: ssl.SSLSocket) -> None:
        lines = conn.makefile("rb")

        def send(text: str) -> None:
            conn.sendall(text.encode() + b"\r\n")

        def read() -> str:
            return lines.readline().decode().strip()

        send("+OK ready")
        read()  # CAPA
        send("+OK\r\nSASL SCRAM-SHA-256\r\n.")
        _, _, first = read().split(" ", 2)
        server = self.mechanism.make_server(lambda _name: self.auth_info)
        server.set_client_first(base64.b64decode(first).decode())
        send("+ " + base64.b64encode(server.get_server_first().encode()).decode())
        server.set_client_final(base64.b64decode(read()).decode())
        final = server.get_server_final()
        if self.forge_signature:
            final = "v=" + base64.b64encode(b"\0" * 32).decode()
        send("+ " + base64.b64encode(final.encode()).decode())
        answer = read()
        if answer == "*":
            self.cancelled = True
            send("-ERR cancelled")
        else:
            send("+OK logged in")
        while read():
            send("+OK")

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("forge", [False, True])
def test_scram_checks_the_server_signature(ca: trustme.CA, tmp_path: Path, forge: bool) -> None:
    peer = ScramPeer(ca, PASSWORD, forge_signature=forge)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    try:
        endpoint = Endpoint("127.0.0.1", peer.port, "tls", ca_file=ca_file, read_timeout_s=5)
        with Pop3Session.connect(endpoint) as session:
            authenticator = PasswordAuthenticator("support", PASSWORD, "auto")
            if forge:
                with pytest.raises(Pop3AuthError, match="did not verify"):
                    session.login(authenticator)
            else:
                session.login(authenticator)
                assert session.mechanism == "SCRAM-SHA-256"
    finally:
        peer.close()
    assert peer.cancelled is forge
