"""The client against a scripted peer: cases no well-behaved server produces."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from helpdesk_ingest.pop3 import (
    Endpoint,
    Pop3PlaintextRefused,
    Pop3Session,
    Pop3TlsError,
    UserPassAuthenticator,
)


class ScriptedPeer:
    """Listens once; answers each received line with the next scripted reply."""

    def __init__(self, greeting: bytes, replies: list[bytes]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.greeting = greeting
        self.replies = replies
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        # The client may hang up at any point, even with our greeting unread (a reset).
        with contextlib.suppress(OSError):
            self._converse()

    def _converse(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rb") as lines:
            connection.sendall(self.greeting)
            for reply in self.replies:
                line = lines.readline()
                if not line:
                    return
                self.received.append(line)
                connection.sendall(reply)
            # Keep the connection open until the client hangs up.
            while lines.readline():
                pass

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.fixture
def peer_factory() -> Iterator[list[ScriptedPeer]]:
    peers: list[ScriptedPeer] = []
    yield peers
    for peer in peers:
        peer.close()


def endpoint(port: int) -> Endpoint:
    return Endpoint("127.0.0.1", port, "starttls", connect_timeout_s=2, read_timeout_s=2)


def test_data_injected_after_stls_is_refused(peer_factory: list[ScriptedPeer]) -> None:
    # A man in the middle may append a reply to "+OK" so that it is read as if it came over TLS.
    peer = ScriptedPeer(
        b"+OK ready\r\n",
        [b"+OK\r\nSTLS\r\nUSER\r\n.\r\n", b"+OK begin TLS\r\n+OK injected\r\n"],
    )
    peer_factory.append(peer)

    with pytest.raises(Pop3TlsError, match="after accepting STLS"):
        Pop3Session.connect(endpoint(peer.port))


def test_stls_refused_by_the_server_is_a_tls_error(peer_factory: list[ScriptedPeer]) -> None:
    peer = ScriptedPeer(b"+OK ready\r\n", [b"+OK\r\nSTLS\r\n.\r\n", b"-ERR not now\r\n"])
    peer_factory.append(peer)

    with pytest.raises(Pop3TlsError, match="refused STLS") as caught:
        Pop3Session.connect(endpoint(peer.port))
    assert caught.value.response == "not now"


def test_credentials_are_not_sent_without_tls(peer_factory: list[ScriptedPeer]) -> None:
    peer = ScriptedPeer(b"+OK ready\r\n", [b"+OK\r\n.\r\n"])
    peer_factory.append(peer)
    sock = socket.create_connection(("127.0.0.1", peer.port), timeout=2)
    session = Pop3Session(sock, endpoint(peer.port))

    with session:
        assert not session.is_tls
        with pytest.raises(Pop3PlaintextRefused) as caught:
            session.login(UserPassAuthenticator("support", "plaintext-secret"))
        assert "plaintext-secret" not in str(caught.value)
        session.close()

    peer.thread.join(timeout=5)
    assert peer.received == []
