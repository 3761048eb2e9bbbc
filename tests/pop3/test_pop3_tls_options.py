"""TLS options: public-key pinning, client certificates, expired and self-signed certificates."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from helpdesk_ingest.devserver import DevPop3Server
from helpdesk_ingest.pop3 import (
    Endpoint,
    Pop3ConnectionError,
    Pop3Error,
    Pop3Session,
    Pop3TlsError,
)
from helpdesk_ingest.pop3.tls import format_pin, parse_pin, spki_sha256
from tests.pop3.conftest import LOGIN

StartServer = Callable[..., DevPop3Server]
EndpointOf = Callable[..., Endpoint]


def presented_pin(server: DevPop3Server, endpoint_of: EndpointOf) -> bytes:
    with Pop3Session.connect(endpoint_of(server)) as session:
        der = session.peer_certificate_der
    assert der is not None
    return spki_sha256(der)


@pytest.mark.parametrize("security", ["tls", "starttls"])
@pytest.mark.parametrize("form", ["base64", "hex"])
def test_matching_pin_is_accepted(
    start_server: StartServer, endpoint_of: EndpointOf, security: str, form: str
) -> None:
    server = start_server(security=security)
    digest = presented_pin(server, endpoint_of)
    pin = format_pin(digest) if form == "base64" else digest.hex(":")
    with Pop3Session.connect(endpoint_of(server, tls_pin_sha256=pin)) as session:
        session.login(LOGIN)
        assert session.stat() == (0, 0)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_other_key_is_refused_before_any_credentials(
    start_server: StartServer, endpoint_of: EndpointOf, security: str
) -> None:
    server = start_server(security=security)
    other = format_pin(bytes(32))
    with pytest.raises(Pop3TlsError, match="does not match tls_pin_sha256"):
        Pop3Session.connect(endpoint_of(server, tls_pin_sha256=other))
    assert not {"USER", "PASS", "AUTH"} & set(server.commands_seen)


def test_bad_pin_text_is_rejected() -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        parse_pin("not a pin")


def test_client_certificate_is_presented(
    start_server: StartServer, endpoint_of: EndpointOf, tmp_path: Path
) -> None:
    client_ca = trustme.CA()
    client = client_ca.issue_cert("helpdesk-ingest@example.com")
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert_file))
    client.private_key_pem.write_to_path(str(key_file))
    server = start_server(client_ca=client_ca)

    endpoint = endpoint_of(server, client_cert_file=cert_file, client_key_file=key_file)
    with Pop3Session.connect(endpoint) as session:
        session.login(LOGIN)
        assert session.stat() == (0, 0)

    # Without one, the server ends the handshake; TLS 1.3 reports it at the first read.
    with pytest.raises(Pop3Error):
        Pop3Session.connect(endpoint_of(server)).close()


def test_unreadable_client_certificate_is_a_tls_error(
    start_server: StartServer, endpoint_of: EndpointOf, tmp_path: Path
) -> None:
    server = start_server()
    missing = tmp_path / "missing.pem"
    with pytest.raises(Pop3TlsError, match="cannot load client certificate"):
        Pop3Session.connect(endpoint_of(server, client_cert_file=missing))


def test_expired_certificate_is_refused(
    start_server: StartServer, endpoint_of: EndpointOf, ca: trustme.CA
) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = ca.issue_cert(
        "127.0.0.1", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
    )
    server = start_server(certificate=expired)
    with pytest.raises(Pop3TlsError, match="expired"):
        Pop3Session.connect(endpoint_of(server))
    assert server.commands_seen == []


def test_self_signed_certificate_is_refused(
    start_server: StartServer, endpoint_of: EndpointOf
) -> None:
    # A CA's own certificate is self-signed; served as the leaf it is trusted by nobody here.
    stranger = trustme.CA()
    self_signed = trustme.LeafCert(stranger.private_key_pem.bytes(), stranger.cert_pem.bytes(), [])
    server = start_server(certificate=self_signed)
    with pytest.raises(Pop3TlsError, match="self-signed"):
        Pop3Session.connect(endpoint_of(server))
    assert server.commands_seen == []


class HangUpPeer:
    """Accepts one connection, optionally answers STLS with +OK, then drops it mid-handshake."""

    def __init__(self, starttls: bool) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.starttls = starttls
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            connection, _ = self.listener.accept()
            with connection, connection.makefile("rb") as lines:
                if self.starttls:
                    connection.sendall(b"+OK ready\r\n")
                    self.received.append(lines.readline())  # CAPA
                    connection.sendall(b"+OK\r\nSTLS\r\nSASL PLAIN\r\n.\r\n")
                    self.received.append(lines.readline())  # STLS
                    connection.sendall(b"+OK begin TLS\r\n")
                # Read the ClientHello, then hang up without answering it.
                connection.recv(1024)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("starttls", [False, True])
def test_a_server_dropping_the_handshake_is_refused_clearly(starttls: bool) -> None:
    peer = HangUpPeer(starttls)
    try:
        endpoint = Endpoint(
            "127.0.0.1", peer.port, "starttls" if starttls else "tls", read_timeout_s=5
        )
        with pytest.raises((Pop3TlsError, Pop3ConnectionError), match="handshake") as caught:
            Pop3Session.connect(endpoint)
    finally:
        peer.close()
    assert "127.0.0.1" in str(caught.value)
    # Nothing but CAPA and STLS went out in the clear.
    assert [line.split()[0] for line in peer.received] == ([b"CAPA", b"STLS"] if starttls else [])
